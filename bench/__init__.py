"""Benchmarks: run each as a script (`python bench/startup.py`, `python bench/relay.py`)."""
