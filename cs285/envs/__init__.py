"""Stepping environments: construction (make.py), backends (envpool, processes), Atari, the collector, videos."""
