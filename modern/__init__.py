"""modern."""
