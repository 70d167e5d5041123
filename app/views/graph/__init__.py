"""The flow graph, the job timeline and the dry-run dialog."""
