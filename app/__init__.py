"""Overseer Desktop, a Qt debugger and monitor for Routilux workflows."""
