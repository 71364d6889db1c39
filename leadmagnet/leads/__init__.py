"""leads layer."""
