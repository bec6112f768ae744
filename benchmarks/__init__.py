"""Benchmarks: trio-chat against a thread-per-client baseline, and against ngIRCd over IRC.

``python -m benchmarks`` (or ``nox -s bench``) runs the scenarios; see docs/benchmarks.md.
"""
