"""FastAPI dependencies shared by the routers (authentication, roles)."""
