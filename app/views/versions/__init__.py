"""Flow version history: the versions dialog and the coloured YAML diff."""
