"""routing plugin (in progress)."""
