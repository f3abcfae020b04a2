"""Benchmarks of the inbox at scale (issue 4): `python -m bench`; the seeding tool is `python -m bench.seed`."""
