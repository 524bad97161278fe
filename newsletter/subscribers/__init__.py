"""Subscribers: the lifecycle service, address rules, CSV import, export and erasure."""
