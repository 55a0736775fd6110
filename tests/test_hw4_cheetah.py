"""hw4's cheetah-cs285-v0 (cs285/envs/cheetah.py): made by make_env with the course's time limit, the
observation read from MuJoCo's data, the course's reset noise, get_reward equal to step's reward, the
front-joint penalties by hand, no termination, rendered cheaply and collected like any env."""
import os

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.seeding import np_random

from actors import UniformActor
from cs285.envs import cheetah
from cs285.envs.collector import Collector
from cs285.envs.make import make_env
from cs285.envs.video import OwnGLContext, make_render_env

ENV_ID = "cheetah-cs285-v0"


def _random_steps(env, n: int, seed: int) -> tuple[list, list, list]:
    """``n`` uniform random steps from a reset with ``seed``: next observations, actions, rewards."""
    env.reset(seed=seed)
    env.action_space.seed(seed)
    next_obs, actions, rewards = [], [], []
    for _ in range(n):
        action = env.action_space.sample()
        obs, reward, terminated, truncated, _ = env.step(action)
        assert not terminated and not truncated
        next_obs.append(obs)
        actions.append(action)
        rewards.append(reward)
    return next_obs, actions, rewards


def test_make_env_builds_gymnasiums_cheetah_at_frame_skip_1_with_the_courses_time_limit():
    env = make_env(ENV_ID, seed=0)
    try:
        inner = env.unwrapped
        assert isinstance(inner, cheetah.HalfCheetahEnv)
        assert env.spec.max_episode_steps == 1000
        assert env.observation_space.shape == (21,) and env.action_space.shape == (6,)
        assert env.action_space.low.tolist() == [-1.0] * 6 and env.action_space.high.tolist() == [1.0] * 6
        assets = os.path.join(os.path.dirname(gymnasium.__file__), "envs", "mujoco", "assets")
        assert inner.fullpath == os.path.join(assets, "half_cheetah.xml")  # gymnasium's own XML, not a copy
        assert inner.frame_skip == 1 and inner.dt == pytest.approx(0.01)
        assert (inner.model.nq, inner.model.nv) == (9, 9)
    finally:
        env.close()


def test_the_observation_is_qpos_qvel_and_the_torso_position():
    env = make_env(ENV_ID)
    try:
        data = env.unwrapped.data
        obs, _ = env.reset(seed=1)
        for t in range(5):
            assert obs.shape == (21,) and obs.dtype == np.float64
            np.testing.assert_array_equal(obs[:9], data.qpos)  # root x included
            np.testing.assert_array_equal(obs[9:18], data.qvel)
            np.testing.assert_array_equal(obs[18:], data.body("torso").xpos)
            obs, *_ = env.step(env.action_space.sample())
    finally:
        env.close()


def test_reset_draws_the_courses_noise_in_the_courses_order():
    env = make_env(ENV_ID)
    try:
        inner = env.unwrapped
        obs, _ = env.reset(seed=7)
        rng, _ = np_random(7)  # the generator gymnasium seeds the env's np_random with
        expected_qpos = inner.init_qpos + rng.uniform(-0.1, 0.1, 9)  # first qpos + U(−0.1, 0.1) ...
        expected_qvel = inner.init_qvel + 0.1 * rng.standard_normal(9)  # ... then qvel + 0.1·N(0, 1)
        np.testing.assert_array_equal(obs[:9], expected_qpos)
        np.testing.assert_array_equal(obs[9:18], expected_qvel)
        assert np.all(np.abs(obs[:9] - inner.init_qpos) <= 0.1)
    finally:
        env.close()


def test_get_reward_equals_steps_reward_batched_and_one_at_a_time():
    env = make_env(ENV_ID)
    try:
        get_reward = env.unwrapped.get_reward
        next_obs, actions, rewards = _random_steps(env, 50, seed=3)
        for obs, action, reward in zip(next_obs, actions, rewards):
            one_reward, one_done = get_reward(obs, action)
            assert one_reward.shape == () and float(one_reward) == reward and not one_done
        batch_rewards, batch_dones = get_reward(np.stack(next_obs), np.stack(actions))
        assert batch_rewards.shape == (50,) and batch_dones.shape == (50,)
        np.testing.assert_array_equal(batch_rewards, rewards)
        assert not batch_dones.any()
    finally:
        env.close()


def test_the_front_joint_penalties_by_hand():
    obs = np.zeros((4, 21))
    obs[:, 9] = [1.5, 2.0, -0.5, 3.0]  # root x velocity
    obs[0, 6:9] = [0.3, 0.1, -0.1]  # fthigh > 0.2, fshin > 0: 1.5 − 10 − 10 = −18.5
    obs[1, 6:9] = [0.21, 1e-3, 0.5]  # all three past their limits: 2.0 − 30 = −28.0
    obs[2, 6:9] = [0.2, 0.0, 0.0]  # each exactly at its limit, not past it: −0.5, no penalty
    obs[3, 6:9] = [-0.4, -0.2, 0.01]  # only ffoot > 0: 3.0 − 10 = −7.0
    obs[3, :6] = 5.0  # x position, height, body angle and back leg: no reward term reads them
    obs[3, 10:] = 5.0  # nor the other velocities or the torso position
    expected = [-18.5, -28.0, -0.5, -7.0]
    rewards, dones = cheetah.HalfCheetahEnv.get_reward(None, obs, np.zeros((4, 6)))
    np.testing.assert_allclose(rewards, expected, rtol=0, atol=1e-12)
    assert dones.tolist() == [False] * 4
    other, _ = cheetah.HalfCheetahEnv.get_reward(None, obs, np.ones((4, 6)))  # no control cost
    np.testing.assert_array_equal(other, rewards)


def test_no_termination_over_a_full_episode():
    env = make_env(ENV_ID)
    try:
        env.reset(seed=0)
        env.action_space.seed(0)
        steps, truncated, penalties = 0, False, []
        while not truncated:
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            assert not terminated
            steps += 1
            penalties.append(obs[9] - reward)  # 10 per front joint past its limit
        assert steps == 1000
        np.testing.assert_allclose(penalties, np.round(np.array(penalties) / 10) * 10, atol=1e-9)
        assert max(penalties) > 5  # random flailing crosses a limit: the penalty fires in real rollouts too
    finally:
        env.close()


def test_renders_through_the_cheap_mujoco_path():
    import mujoco

    env = make_render_env(ENV_ID, 64, 48)
    try:
        assert isinstance(env, OwnGLContext) and isinstance(env.unwrapped, cheetah.HalfCheetahEnv)
        env.step(env.action_space.sample())
        frame = env.render()
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3) and frame.std() > 0
        viewer = env.unwrapped.mujoco_renderer.viewer
        assert env.unwrapped.model.vis.quality.offsamples == 0  # the cheap scene
        assert viewer.scn.flags[mujoco.mjtRndFlag.mjRND_SHADOW] == 0
        assert viewer.cam.type == mujoco.mjtCamera.mjCAMERA_TRACKING and viewer.cam.trackbodyid == 1  # torso
    finally:
        env.close()


@pytest.mark.parametrize("env_procs", [1, 2])
def test_collector_runs_its_episodes(env_procs):
    with Collector(ENV_ID, seed=0, env_procs=env_procs, ep_len=40) as collector:
        assert collector.max_episode_steps == 40 and not collector.discrete
        paths = collector.episodes(UniformActor(6), n_episodes=2, seed=5)
        assert [len(p["reward"]) for p in paths] == [40, 40]
        for p in paths:
            assert p["observation"].shape == (40, 21) and p["action"].shape == (40, 6)
            assert not p["terminated"].any() and bool(p["truncated"][-1])  # the time limit alone ends it
            rewards, _ = cheetah.HalfCheetahEnv.get_reward(None, p["next_observation"], p["action"])
            np.testing.assert_allclose(p["reward"], rewards, rtol=1e-5, atol=1e-5)  # float32 observations
