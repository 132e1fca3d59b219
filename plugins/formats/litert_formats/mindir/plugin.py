"""Entry point of the mindir format (being written: registers nothing yet)."""
