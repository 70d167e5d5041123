"""SQLite history of jobs, trace entries, output and events."""
