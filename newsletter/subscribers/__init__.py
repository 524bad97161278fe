"""Subscribers: the lifecycle rules and the writers that apply them, address rules, CSV
import, read queries, export and erasure (`service` is the write facade, `queries` the reads).
"""
