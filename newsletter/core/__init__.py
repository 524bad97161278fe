"""The foundation every feature builds on: settings, errors, tokens, the database,
the Celery app object and the process supervisor. Nothing here imports a feature."""
