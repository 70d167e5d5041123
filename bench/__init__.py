"""Benchmarks of the embedded server against the stock Routilux 1.1.0 server.

Run from the repository root: ``.venv/bin/python -m bench.run_all [--quick]``.
"""
