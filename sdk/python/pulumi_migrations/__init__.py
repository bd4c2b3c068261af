"""Pulumi resources for Atlas-format versioned SQL migrations."""
