from sqlalchemy import inspect

from newsletter.core.db.session import get_engine


def test_database_is_migrated(db: str) -> None:
    assert "delivery" in inspect(get_engine()).get_table_names()
