"""`newsletter demo`: the sample series delivered end to end by real processes, offline."""
