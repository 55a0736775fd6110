"""hw4's ``reacher-cs285-v0``: a 7-joint arm in zero gravity moving its fingertip to a target.

The course's ``Reacher7DOFEnv`` (hw4/cs285/envs/reacher/) on gymnasium 1.x's ``MujocoEnv``, with its
own model, assets/reacher_cs285.xml: the course's kinematics, ranges, damping, gears and geom sizes
(measured against the course's sawyer.xml once: the same qpos, qvel and fingertip to 1e-12 over 500
random steps). Registered in registry.py with the course's time limit, 500 steps; hw4's MPC runs cut
episodes to 200 (``ep_len``).

    action (7,): joint torques / gear, each in [-1, 1] (gear 20 at the shoulder pan, 10 elsewhere);
                 joints: shoulder pan (z), shoulder lift (y), upper-arm roll (x), elbow flex (y),
                 forearm roll (x), wrist flex (y), wrist roll (x); links 0.1 (pan to lift), 0.4, 0.321 m
    observation (20,): qpos (7) | qvel / 10 (7) | fingertip xyz (3) | target xyz (3)
    reward: r = −10 · ‖fingertip − target‖, from the observation alone (``get_reward``)
    terminated: never; episodes end by the registry's time limit (truncated)
    dt: 2 physics steps of 10 ms = 0.02 s

As the course does, the fingertip is the site position MuJoCo computed during the last physics
step, i.e. at the joint angles before that step's integration (``mj_step`` runs kinematics first),
so it lags ``qpos`` by one 10 ms step; ``get_reward`` sees the same numbers, so the two agree.

Reset, as the course's: the arm starts straight out along +x at rest (qpos = qvel = 0, no noise),
and a target is drawn uniformly from x ∈ [−0.3, 0.3], y ∈ [−0.2, 0.2], z ∈ [−0.25, 0.25] —
but the course's ``reset`` then overwrites it with (0.1, 0.1, 0.1), so every episode has the same
target. ``fixed_target=True`` (the default) keeps that quirk; ``fixed_target=False`` keeps the drawn
target. The draw happens either way, so the env's random stream does not depend on the flag.
(The course's ``reset`` also takes one zero-action step before returning; at rest in zero gravity
that step changes nothing, so it is left out.)
"""
from __future__ import annotations

import os
from typing import Optional

import mujoco
import numpy as np
from gymnasium import spaces

from cs285.envs.planner_env import PlannerMujocoEnv

MODEL_XML = os.path.join(os.path.dirname(os.path.abspath(__file__)), "assets", "reacher_cs285.xml")
FRAME_SKIP = 2  # 2 physics steps of 10 ms: dt = 0.02 s
OBS_DIM, ACTION_DIM = 20, 7
QVEL_SCALE = 10.0  # the observation holds qvel / QVEL_SCALE
DISTANCE_COST = 10.0
FIXED_TARGET = np.array([0.1, 0.1, 0.1])  # the course's reset puts the target here, whatever it drew
TARGET_LOW = np.array([-0.3, -0.2, -0.25])  # the box the course draws a target from (before overwriting it)
TARGET_HIGH = np.array([0.3, 0.2, 0.25])
FINGERTIP = slice(14, 17)  # observation indices
TARGET = slice(17, 20)


class Reacher7DOFEnv(PlannerMujocoEnv):
    """The module docstring's env; ``render_mode``, ``width``, ``height`` as for any ``MujocoEnv``;
    ``fixed_target``: keep the course's target (0.1, 0.1, 0.1) (True) or a random one per episode."""

    metadata = {"render_modes": ["human", "rgb_array", "depth_array"], "render_fps": 50}  # 1 / dt

    def __init__(self, render_mode: Optional[str] = None, width: int = 256, height: int = 256,
                 fixed_target: bool = True):
        self.fixed_target = fixed_target
        observation_space = spaces.Box(-np.inf, np.inf, shape=(OBS_DIM,), dtype=np.float64)
        super().__init__(MODEL_XML, FRAME_SKIP, observation_space, render_mode=render_mode, width=width,
                         height=height,
                         default_camera_config={"distance": 2.2, "elevation": -30.0, "azimuth": 135.0,
                                                "trackbodyid": 1})
        self._fingertip = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, "fingertip")
        self._target = mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_SITE, "target")

    @staticmethod
    def get_reward(observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rewards and dones of (batch, 20) observations reached by (batch, 7) actions, or of one of each
        ((20,), (7,): 0-d arrays back); ``step`` calls it, so it gives ``step``'s reward exactly.

            r = −DISTANCE_COST · ‖obs[14:17] − obs[17:20]‖ = −10 · ‖fingertip − target‖,  done = False

        The actions do not enter (the course's reacher has no control cost).
        """
        observations = np.asarray(observations)
        distances = np.linalg.norm(observations[..., FINGERTIP] - observations[..., TARGET], axis=-1)
        return -DISTANCE_COST * distances, np.zeros(distances.shape, dtype=bool)

    def reset_model(self) -> np.ndarray:
        target = self.np_random.uniform(TARGET_LOW, TARGET_HIGH)  # x, y, z in the course's order
        self.model.site_pos[self._target] = FIXED_TARGET if self.fixed_target else target
        self.set_state(self.init_qpos, self.init_qvel)  # after moving the target: its site_xpos is current too
        return self._get_obs()

    def _get_obs(self) -> np.ndarray:
        return np.concatenate([
            self.data.qpos,  # (7,)
            self.data.qvel / QVEL_SCALE,  # (7,)
            self.data.site_xpos[self._fingertip],  # (3,)
            self.model.site_pos[self._target],  # (3,): a world site, so its position in the model
        ])
