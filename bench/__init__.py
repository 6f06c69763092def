"""Benchmark harness: `uv run python -m bench` (see README, section Performance)."""
