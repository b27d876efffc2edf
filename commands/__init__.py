"""The command layer: every command-line entry point (``python -m commands.<name>``, and the
Makefile targets that call them). Commands may use every other package; nothing imports them."""
