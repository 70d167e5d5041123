"""The debugger's panes, dialogs and actions, added to the main window by ``install``."""
