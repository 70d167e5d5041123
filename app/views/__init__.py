"""Widgets, windows and dialogs of Overseer Desktop."""
