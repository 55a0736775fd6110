"""Schedules: a value as a function of a step count (hw3's ε-greedy exploration, Atari's LR multiplier).

    eps = PiecewiseSchedule([(0, 1.0), (30_000, 0.02)], outside_value=0.02)
    eps(0) == 1.0;  eps(15_000) == 0.51;  eps(30_000) == eps(10**9) == 0.02

Semantics are the course's ``PiecewiseSchedule`` (hw3/cs285/env_configs/schedule.py,
after OpenAI baselines): between endpoints (t_a, v_a) and (t_b, v_b) with
t_a <= t < t_b the value is v_a + (t - t_a) / (t_b - t_a) · (v_b - v_a); any t
outside [t_first, t_last), t_last included, gets ``outside_value``.
"""
from __future__ import annotations

from typing import Optional, Sequence


class PiecewiseSchedule:
    """step -> value, linear between sorted ``endpoints`` (time, value), ``outside_value`` elsewhere.

    With ``outside_value`` None a step outside the endpoints is a ValueError
    (the course asserts). Callable, and ``value(t)`` as in the course.
    """

    def __init__(self, endpoints: Sequence[tuple[float, float]], outside_value: Optional[float] = None):
        times = [float(t) for t, _ in endpoints]
        if not endpoints or times != sorted(times):
            raise ValueError(f"endpoints must be a non-empty list sorted by time, got {list(endpoints)}")
        self.endpoints = [(float(t), float(v)) for t, v in endpoints]
        self.outside_value = None if outside_value is None else float(outside_value)

    def __call__(self, t: float) -> float:
        for (t_a, v_a), (t_b, v_b) in zip(self.endpoints[:-1], self.endpoints[1:]):
            if t_a <= t < t_b:
                return v_a + (t - t_a) / (t_b - t_a) * (v_b - v_a)
        if self.outside_value is None:
            raise ValueError(f"step {t} is outside the schedule's endpoints and it has no outside_value")
        return self.outside_value

    value = __call__  # the course's name

    def __repr__(self) -> str:
        return f"PiecewiseSchedule({self.endpoints}, outside_value={self.outside_value})"


def constant(value: float) -> PiecewiseSchedule:
    """The same value at every step."""
    return PiecewiseSchedule([(0, value)], outside_value=value)
