"""hw4's ``cheetah-cs285-v0``: gymnasium's half cheetah, stepped 10 ms at a time, with the course's reward.

The course (homework_fall2023, hw4/cs285/envs/cheetah/cheetah.py, gym 0.25) runs gymnasium's own
``half_cheetah.xml`` (loaded from gymnasium's assets, not copied) at frame skip 1, so dt = 0.01 s, for
1000 steps an episode (registry.py). Its reward is a function of the observation after the step alone,
so a model-based planner scores imagined transitions with ``get_reward``; ``step`` calls the same
function, so the two agree exactly.

    observation (21,), after the step:
        [0:9]   qpos: rootx, rootz, rooty, bthigh, bshin, bfoot, fthigh, fshin, ffoot (root x included)
        [9:18]  qvel: the same joints' velocities, rootx's first
        [18:21] ``get_body_com("torso")``: the torso frame's world position (MuJoCo's ``xpos``)
    action (6,): torques of bthigh, bshin, bfoot, fthigh, fshin, ffoot, each in [-1, 1]
    reward:
        r = obs[9] − 10·[obs[6] > 0.2] − 10·[obs[7] > 0] − 10·[obs[8] > 0]
          = root x velocity − JOINT_PENALTY per front joint past its limit
        (fthigh above 0.2 rad, fshin above 0, ffoot above 0; [·] is 1 when true, else 0). No control cost:
        the action does not enter. The limits are strict: a joint exactly at its limit costs nothing.
    terminated: never; only the time limit ends an episode (truncated).

What moves numbers, as the course has it:

- reset: qpos = init_qpos + U(−0.1, 0.1) per coordinate, then qvel = init_qvel + 0.1·N(0, 1) per
  coordinate, drawn in that order from the env's ``np_random`` (gym 0.25's ``randn`` is
  ``standard_normal``), so a seed gives the same start as the course's.
- velocity is read from the observation (qvel[0] at the end of the step), not differenced from x positions
  as gymnasium's HalfCheetah does; there is no forward-reward weight.
- the torso position is MuJoCo's ``xpos`` after ``mj_step``, which was computed at the start of the step's
  last physics step, so it lags qpos by one physics step (10 ms); after a reset it matches qpos.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
from gymnasium import spaces
from gymnasium.envs.mujoco.mujoco_env import DEFAULT_SIZE

from cs285.envs.planner_env import PlannerMujocoEnv

MODEL_XML = "half_cheetah.xml"  # a bare name: MujocoEnv loads it from gymnasium's own assets dir
FRAME_SKIP = 1  # one physics step of 10 ms: dt = 0.01 s
OBS_DIM = 21  # qpos (9) + qvel (9) + torso position (3)
X_VELOCITY = 9  # obs index of qvel[0], the root's x velocity (m/s)
FRONT_JOINT_LIMITS = ((6, 0.2), (7, 0.0), (8, 0.0))  # (obs index, rad): fthigh, fshin, ffoot angles
JOINT_PENALTY = 10.0  # subtracted for each front joint above its limit
RESET_NOISE = 0.1  # qpos + U(−0.1, 0.1), qvel + 0.1·N(0, 1)
CAMERA = {"distance": 4.0, "trackbodyid": 1}  # gymnasium's HalfCheetah view, following the torso


class HalfCheetahEnv(PlannerMujocoEnv):
    """The module docstring's env; ``render_mode``, ``width``, ``height`` as for any ``MujocoEnv``."""

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 100}  # 1 / dt

    def __init__(self, render_mode: Optional[str] = None, width: int = DEFAULT_SIZE, height: int = DEFAULT_SIZE):
        observation_space = spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float64)
        super().__init__(MODEL_XML, FRAME_SKIP, observation_space, render_mode=render_mode, width=width,
                         height=height, default_camera_config=CAMERA)

    def get_reward(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and dones of (batch, 21) observations reached by (batch, 6) actions (or one of each, (21,)
        and (6,): 0-d arrays back), as the module docstring's formula; dones are all False.

        ``actions`` only fix the batch's shape: the course's reward has no control cost.
        """
        observations = np.asarray(observations, dtype=np.float64)
        rewards = observations[..., X_VELOCITY].copy()
        for index, limit in FRONT_JOINT_LIMITS:
            rewards -= JOINT_PENALTY * (observations[..., index] > limit)
        return rewards, np.zeros(rewards.shape, dtype=bool)

    def step_info(self, obs: np.ndarray) -> dict:
        return {"x_position": float(obs[0])}  # the course's get_score

    def reset_model(self) -> np.ndarray:
        qpos = self.init_qpos + self.np_random.uniform(-RESET_NOISE, RESET_NOISE, self.model.nq)
        qvel = self.init_qvel + RESET_NOISE * self.np_random.standard_normal(self.model.nv)
        self.set_state(qpos, qvel)
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([self.data.qpos, self.data.qvel, self.get_body_com("torso")])
