"""A/B tests: the report of each offer's test (``leadmagnet report``, the admin dashboard)."""
