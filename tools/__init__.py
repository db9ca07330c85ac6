"""Maintenance scripts: run each as a script (`python tools/check_catalog.py`)."""
