"""The starter CLI (`uv run starter.py --help`): one module per group of commands."""
