"""The four Minzheng services."""
