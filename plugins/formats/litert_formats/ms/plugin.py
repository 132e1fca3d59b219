"""Entry point of the ms format (being written: registers nothing yet)."""
