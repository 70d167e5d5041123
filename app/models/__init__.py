"""Server records and Qt item models, free of widgets."""
