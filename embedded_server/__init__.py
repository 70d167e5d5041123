"""Overseer's Routilux server: the real routilux engine behind a debugger-ready API."""

__version__ = "0.1.0"
