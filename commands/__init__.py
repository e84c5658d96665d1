"""The command line behind manage.py: one module per command."""
