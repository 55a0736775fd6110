"""What the collector hands out: paths (complete episodes), batches of steps, and the rules they share.

A path is one complete episode as a dict of equal-length arrays:
    observation (T, *ob_shape), action (T, *ac_shape), reward (T,),
    next_observation (T, *ob_shape), terminated (T,), truncated (T,)
and, when rendered, image_obs (F, H, W, 3) uint8 with one frame every
``frame_skip`` steps. ``terminated`` marks a true end of the task (no
bootstrap); ``truncated`` marks a time limit or a cut (bootstrap with
V(next_observation)). At most the last step of a path has either flag set.

A ``Batch`` holds the same six arrays for any set of steps: concatenated
episodes or segments in time order (on-policy agents' ``update``), or steps
drawn from a replay buffer (off-policy agents' ``update``).
"""
from __future__ import annotations

from typing import NamedTuple, Optional, Protocol

import numpy as np

PATH_KEYS = ("observation", "action", "reward", "next_observation", "terminated", "truncated")


class Batch(NamedTuple):
    """N steps; for on-policy agents, episodes or segments concatenated in time order."""

    observations: np.ndarray  # (N, *ob_shape)
    actions: np.ndarray  # (N,) int for discrete actions, (N, *ac_shape) float otherwise
    rewards: np.ndarray  # (N,)
    next_observations: np.ndarray  # (N, *ob_shape), the real s_{t+1}, also at a truncation
    terminated: np.ndarray  # (N,) bool: the task ended, no bootstrap
    truncated: np.ndarray  # (N,) bool: a time limit or a cut, bootstrap from next_observations

    def truncations_as_terminations(self) -> "Batch":
        """The course's hw2 treatment of time limits (its ``terminal`` includes them): every episode end is
        terminal, terminated ← terminated ∨ truncated and truncated ← 0, so no estimator bootstraps from
        V(s_T) after a time limit; the ends stay where they were (terminated ∨ truncated is unchanged).

        For complete episodes, whose every truncation is a time limit; segments are cut where no episode
        ends, so ``Collector.segments(truncation_as_termination=True)`` applies it before marking its cuts.
        """
        return self._replace(terminated=self.terminated | self.truncated, truncated=np.zeros_like(self.truncated))

    @classmethod
    def from_paths(cls, paths: list[dict]) -> "Batch":
        """Paths concatenated along time."""
        return cls(*(np.concatenate([p[k] for p in paths]) for k in PATH_KEYS))

    @classmethod
    def from_dict(cls, d: dict[str, np.ndarray]) -> "Batch":
        """{PATH_KEYS: arrays} as a Batch."""
        return cls(*(d[k] for k in PATH_KEYS))


class Actor(Protocol):
    """The one policy type the collector takes: ``act(obs (n, *ob_shape), rng) -> actions (n, ...)``.

    ``rng`` is a numpy Generator to draw the policy's noise from, or None for
    its most likely action (evaluation). Actors: ``networks.policies.PolicySnapshot``
    (a NumPy copy of an MLPPolicy, picklable for sampler processes), DQN's
    ``EpsilonGreedyActor``, ``SACAgent`` itself, ``envs.make.RandomActor`` and the
    loaded experts (``LoadedGaussianPolicy``).
    """

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator]) -> np.ndarray: ...


def env_action(action: np.ndarray, noise_std: float, rng: Optional[np.random.Generator]) -> np.ndarray:
    """The action the env is given: the policy's action + N(0, noise_std²) (the course's ActionNoiseWrapper).

    Paths record the policy's own action, so a policy gradient stays on-policy.
    """
    if not noise_std:
        return action
    return action + noise_std * rng.standard_normal(np.shape(action))


def observation_array(observations) -> np.ndarray:
    """Observations as stored: float ones as float32, integer ones (image frames) unchanged."""
    obs = np.asarray(observations)
    return obs.astype(np.float32) if obs.dtype.kind == "f" else obs


def to_path(observations: list, actions: list, rewards: list, terminated: bool, truncated: bool,
            frames: Optional[list] = None) -> dict:
    """Arrays of one finished episode; ``observations`` holds T + 1 entries (o_0..o_T)."""
    obs = observation_array(observations)  # (T + 1, *ob_shape)
    actions = np.asarray(actions)
    path = {
        "observation": obs[:-1],
        "action": actions.astype(np.float32) if actions.dtype.kind == "f" else actions,
        "reward": np.asarray(rewards, dtype=np.float64),
        "next_observation": obs[1:],
        "terminated": np.zeros(len(rewards), dtype=bool),
        "truncated": np.zeros(len(rewards), dtype=bool),
    }
    path["terminated"][-1], path["truncated"][-1] = terminated, truncated
    if frames is not None:
        path["image_obs"] = np.asarray(frames, dtype=np.uint8)
    return path


def total_steps(paths: list[dict]) -> int:
    return int(sum(len(p["reward"]) for p in paths))


def path_returns(paths: list[dict]) -> np.ndarray:
    return np.array([float(np.sum(p["reward"])) for p in paths])
