"""A ball pushed across a table toward a goal: the smallest MuJoCo env of the project's own.

Registered as ``cs285-test-pointmass-v0`` (registry.py, 100 steps a episode), it exercises what
hw4's envs (cheetah-cs285-v0, reacher-cs285-v0, obstacles-cs285-v0) need from this package: a
custom model (assets/point_mass.xml) under gymnasium's ``MujocoEnv``, made by ``make_env``,
rendered by ``video.make_render_env``'s cheap scene, collected by ``Collector``, and a batched
``get_reward`` for a planner that gives exactly ``step``'s reward. Not hw5's Pointmass envs (a
2D point in a maze, no MuJoCo).

    observation (4,): ball position x, y (m) and velocity vx, vy (m/s), after the step
    action (2,): force pushing the ball along x and y, each in [-1, 1]
    reward: r = −‖(x, y) − goal‖ − CONTROL_COST · ‖a‖²
    terminated: the ball is within GOAL_RADIUS of the goal
"""
from __future__ import annotations

import os
from typing import Optional

import numpy as np
from gymnasium import spaces

from cs285.envs.planner_env import PlannerMujocoEnv

MODEL_XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "point_mass.xml")
FRAME_SKIP = 5  # 5 physics steps of 10 ms: dt = 0.05 s
GOAL = np.array([0.3, 0.3])  # the goal site's x, y in the XML
GOAL_RADIUS = 0.05
CONTROL_COST = 0.1
START_NOISE = 0.1  # the ball starts uniformly within ±this of the centre, at rest


class PointMassEnv(PlannerMujocoEnv):
    """The module docstring's env; ``render_mode``, ``width``, ``height`` as for any ``MujocoEnv``."""

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 20}  # 1 / dt

    def __init__(self, render_mode: Optional[str] = None, width: int = 256, height: int = 256):
        observation_space = spaces.Box(-np.inf, np.inf, shape=(4,), dtype=np.float64)
        super().__init__(MODEL_XML, FRAME_SKIP, observation_space, render_mode=render_mode, width=width,
                         height=height, default_camera_config={"distance": 2.5, "elevation": -60.0, "trackbodyid": 1})

    def get_reward(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and dones of (batch, 4) observations reached by (batch, 2) actions (or one of each, (4,) and
        (2,): 0-d arrays back), as the module docstring's formulas; ``step`` gives the same for one transition."""
        actions = np.asarray(actions, dtype=np.float64)  # float32 actions: the same sums as step's
        distances = np.linalg.norm(np.asarray(observations)[..., :2] - GOAL, axis=-1)
        rewards = -distances - CONTROL_COST * np.sum(np.square(actions), axis=-1)
        return rewards, distances < GOAL_RADIUS

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(-START_NOISE, START_NOISE, self.model.nq)
        self.set_state(qpos, self.init_qvel)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel])
