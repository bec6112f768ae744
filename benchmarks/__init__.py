"""Benchmarks: trio-chat against a thread-per-client baseline, in the same run.

``python -m benchmarks`` (or ``nox -s bench``) runs the scenarios; see docs/benchmarks.md.
"""
