"""translators."""
