"""Scheduling: cadence parsing, DST-correct send times, and the series/issue schedule."""
