"""Signing in to the web console through its login form, as a browser would."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.factories import Account


def login(client: TestClient, account: Account) -> str:
    """Sign in through the form; returns the CSRF token of the new session."""
    page = client.get("/admin/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post(
        "/admin/login",
        data={"email": account.email, "password": account.password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(client)


def csrf_of(client: TestClient) -> str:
    page = client.get("/admin/login")
    return page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
