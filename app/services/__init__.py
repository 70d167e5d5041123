"""Network clients and the embedded server's child process."""
