"""Controllers that move data between the server client and the models."""
