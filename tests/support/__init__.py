"""Helpers shared by the test suite and the benchmarks (bench/ imports them from the repo root).

Only plain functions and classes live here; pytest fixtures live in the conftest files.
"""
