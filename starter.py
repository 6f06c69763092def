"""Starter CLI for cross-tenant CMK onboardings: `uv run starter.py --help`."""

from cli.app import app

if __name__ == "__main__":
    app()
