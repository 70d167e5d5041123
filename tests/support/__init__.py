"""Test doubles and fixtures shared by the desktop app tests."""
