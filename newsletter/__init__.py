"""Self-hosted newsletter serialization: a manuscript in, one essay per issue out."""

__version__ = "0.1.0"
