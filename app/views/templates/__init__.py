"""Job templates: the Templates menu, the template picker and the save dialog."""
