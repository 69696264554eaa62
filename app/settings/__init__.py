"""What the app remembers: the settings table, its QSettings store, editable shortcuts."""
