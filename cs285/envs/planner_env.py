"""The MuJoCo base of the project's envs: ``step``'s reward and done are the batched ``get_reward``'s.

A planner (hw4's MPC) scores whole batches of imagined (s', a) with ``get_reward(observations, actions) ->
(rewards, dones)``; ``step`` calls the same function on the real one, so the two agree by construction.
"""
from __future__ import annotations

import numpy as np
from gymnasium.envs.mujoco import MujocoEnv


class PlannerMujocoEnv(MujocoEnv):
    """A subclass gives ``get_reward``, ``_get_obs`` and ``reset_model``; ``step_info`` is its info dict."""

    def get_reward(self, observations: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def step_info(self, obs: np.ndarray) -> dict:
        return {}

    def step(self, action: np.ndarray):
        self.do_simulation(action, self.frame_skip)
        obs = self._get_obs()
        reward, done = self.get_reward(obs, action)
        if self.render_mode == "human":
            self.render()
        return obs, float(reward), bool(done), False, self.step_info(obs)
