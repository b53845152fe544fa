"""Benchmarks of the bot (run as `python -m bench.<name>`); figures kept in docs/benchmarks.md."""
