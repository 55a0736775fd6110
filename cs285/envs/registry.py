"""The project's own environments, registered with gymnasium under the course's ids.

``cs285/envs/__init__.py`` calls ``register_project_envs()``, so importing anything from
``cs285.envs`` makes these ids known to ``gym.make`` and to ``make_env``, like gymnasium's own.
Entry points are "module:Class" strings: an env's module (and MuJoCo) is imported only when the
env is made. A homework adds its envs as rows of ``PROJECT_ENVS``, e.g. hw4's

    ProjectEnv("cheetah-cs285-v0", "cs285.envs.cheetah:HalfCheetahEnv", max_episode_steps=1000),

with the env's class in its own module here (a MuJoCo one subclasses gymnasium's ``MujocoEnv``
and keeps its XML in assets/; give it ``get_reward(observations, actions) -> (rewards, dones)`` if a
planner needs one, tested equal to ``step``'s reward, as ``point_mass.py`` does).
"""
from __future__ import annotations

from typing import Any, Mapping, NamedTuple, Optional

import gymnasium as gym


class ProjectEnv(NamedTuple):
    """One registered id: its entry point ("module:Class"), its time limit, the class's keyword arguments."""

    id: str
    entry_point: str
    max_episode_steps: int
    kwargs: Optional[Mapping[str, Any]] = None


PROJECT_ENVS: tuple[ProjectEnv, ...] = (
    # the registration mechanism's own test env: a ball on a table (point_mass.py)
    ProjectEnv("cs285-test-pointmass-v0", "cs285.envs.point_mass:PointMassEnv", max_episode_steps=100),
    # hw4's three (the course's ids and time limits)
    ProjectEnv("cheetah-cs285-v0", "cs285.envs.cheetah:HalfCheetahEnv", max_episode_steps=1000),
    ProjectEnv("reacher-cs285-v0", "cs285.envs.reacher:Reacher7DOFEnv", max_episode_steps=500),
    ProjectEnv("obstacles-cs285-v0", "cs285.envs.obstacles:ObstaclesEnv", max_episode_steps=500),
    # hw5's three mazes (pointmass.py: the course's kwargs and time limits, which its MAZES table repeats)
    ProjectEnv("PointmassEasy-v0", "cs285.envs.pointmass:Pointmass", max_episode_steps=50, kwargs={"difficulty": 0}),
    ProjectEnv("PointmassMedium-v0", "cs285.envs.pointmass:Pointmass", max_episode_steps=150,
               kwargs={"difficulty": 1}),
    ProjectEnv("PointmassHard-v0", "cs285.envs.pointmass:Pointmass", max_episode_steps=100, kwargs={"difficulty": 2}),
)


def project_env_ids() -> list[str]:
    return [env.id for env in PROJECT_ENVS]


def register_project_envs() -> None:
    """Register every id of ``PROJECT_ENVS`` not yet in gymnasium's registry (calling it again does nothing)."""
    for env in PROJECT_ENVS:
        if env.id not in gym.registry:
            gym.register(env.id, entry_point=env.entry_point, max_episode_steps=env.max_episode_steps,
                         kwargs=dict(env.kwargs or {}))
