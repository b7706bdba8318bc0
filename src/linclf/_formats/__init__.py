"""File formats (private): the safe model file."""
