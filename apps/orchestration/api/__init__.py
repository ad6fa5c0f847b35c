"""REST API for pipeline definitions and runs."""
