"""Console accounts: editors, operators and admins, their passwords and API tokens."""
