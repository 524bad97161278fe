"""HTML pages and probes, one module per feature; each only calls that feature's services
and queries."""
