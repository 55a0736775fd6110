"""Stepping environments: construction (make.py), backends (envpool, processes), Atari, the collector, videos,
and the project's own envs (registry.py), registered with gymnasium here, when the package is imported."""
from cs285.envs.registry import register_project_envs

register_project_envs()
