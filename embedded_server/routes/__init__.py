"""HTTP routes of the server, grouped by resource."""
