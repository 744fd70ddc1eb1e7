"""Benchmarks (issue 7): ingest, reports, fan-out and memory, each `python -m bench.<name>`; see bench/README.md."""
