"""The project's own envs (cs285/envs/registry.py): registered on import, made by make_env, rendered
cheaply, collected like any env; the test env's batched get_reward equals step's reward."""
import os
import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.envs.mujoco import MujocoEnv

from actors import FnActor, UniformActor
from cs285.envs import point_mass
from cs285.envs.collector import Collector
from cs285.envs.make import make_env, resolve_env_id
from cs285.envs.registry import PROJECT_ENVS, project_env_ids, register_project_envs
from cs285.envs.video import OwnGLContext, make_render_env
from cs285.infrastructure.errors import UserError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_ID = "cs285-test-pointmass-v0"


def _towards_goal(obs: np.ndarray) -> np.ndarray:
    """A PD controller (n, 4) -> (n, 2) that brings the ball to the goal well within 100 steps."""
    return np.clip(4.0 * (point_mass.GOAL - obs[:, :2]) - obs[:, 2:], -1, 1).astype(np.float32)


def test_importing_the_package_registers_the_ids_without_importing_the_envs():
    code = ("import sys, gymnasium as gym, cs285.envs\n"
            f"spec = gym.spec({ENV_ID!r})\n"
            "print(spec.entry_point, spec.max_episode_steps, 'cs285.envs.point_mass' in sys.modules, "
            "'mujoco' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": ROOT}).stdout
    assert out.split() == ["cs285.envs.point_mass:PointMassEnv", "100", "False", "False"]


def test_registering_again_changes_nothing():
    specs = {i: gym.spec(i) for i in project_env_ids()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # gymnasium warns when an id is registered over
        register_project_envs()
    assert {i: gym.spec(i) for i in project_env_ids()} == specs
    assert ENV_ID in project_env_ids() and len(set(project_env_ids())) == len(PROJECT_ENVS)


def test_make_env_builds_it_with_its_time_limit():
    assert resolve_env_id(ENV_ID) == ENV_ID
    env = make_env(ENV_ID, seed=0)
    assert isinstance(env.unwrapped, MujocoEnv)
    assert env.observation_space.shape == (4,) and env.action_space.shape == (2,)
    env.reset(seed=0)
    steps, truncated = 0, False
    while not truncated:  # no push: the ball rests off the goal, so only the time limit ends the episode
        _, _, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
        assert not terminated
        steps += 1
    assert steps == 100
    env.close()
    short = make_env(ENV_ID, ep_len=7)
    assert short.spec.max_episode_steps == 7
    short.close()


@pytest.mark.parametrize("typo", ["cs285-test-pointmas-v0", "CS285-Test-PointMass-v0"])
def test_an_unknown_id_suggests_the_projects_ids(typo):
    with pytest.raises(UserError) as err:
        resolve_env_id(typo)
    message = str(err.value)
    assert "\n" not in message and f"Did you mean: {ENV_ID}" in message, message
    with pytest.raises(UserError, match="unknown environment id"):
        make_env(typo)


def test_get_reward_matches_step_one_at_a_time_and_batched():
    env = make_env(ENV_ID)
    obs, _ = env.reset(seed=3)
    rng = np.random.default_rng(0)
    next_obs, actions, rewards, ends = [], [], [], []
    for t in range(60):  # random pushes, then straight to the goal until it is reached
        action = rng.uniform(-1, 1, 2).astype(np.float32) if t < 20 else _towards_goal(obs[None])[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        one_reward, one_done = env.unwrapped.get_reward(obs, action)
        assert one_reward.shape == () and float(one_reward) == reward and bool(one_done) == terminated
        next_obs.append(obs)
        actions.append(action)
        rewards.append(reward)
        ends.append(terminated)
        if terminated:
            break
    assert ends[-1] and not any(ends[:-1])  # the goal was reached, and the episode ended there
    batch_rewards, batch_dones = env.unwrapped.get_reward(np.stack(next_obs), np.stack(actions))
    assert batch_rewards.shape == (len(rewards),)
    np.testing.assert_array_equal(batch_rewards, rewards)
    np.testing.assert_array_equal(batch_dones, ends)
    # r = −‖p − goal‖ − 0.1‖a‖²: at the goal with a = (1, 0), r = −0.1
    reward, done = env.unwrapped.get_reward(np.array([[0.3, 0.3, 0.0, 0.0]]), np.array([[1.0, 0.0]]))
    assert np.allclose(reward, [-0.1]) and done.tolist() == [True]
    env.close()


def test_renders_through_the_cheap_mujoco_path():
    import mujoco

    env = make_render_env(ENV_ID, 64, 48)
    try:
        assert isinstance(env, OwnGLContext) and isinstance(env.unwrapped, point_mass.PointMassEnv)
        frame = env.render()
        assert frame.dtype == np.uint8 and frame.shape == (48, 64, 3) and frame.std() > 0
        model, viewer = env.unwrapped.model, env.unwrapped.mujoco_renderer.viewer
        assert model.vis.quality.offsamples == 0  # the cheap scene: no anti-aliasing ...
        assert viewer.scn.flags[mujoco.mjtRndFlag.mjRND_SHADOW] == 0  # ... and no shadows
        assert viewer.cam.type == mujoco.mjtCamera.mjCAMERA_TRACKING and viewer.cam.trackbodyid == 1  # the ball
    finally:
        env.close()


@pytest.mark.parametrize("env_procs", [1, 2])
def test_collector_runs_it_in_every_mode(env_procs):
    with Collector(ENV_ID, seed=0, num_envs=2, env_procs=env_procs) as collector:
        assert collector.max_episode_steps == 100 and not collector.discrete
        paths = collector.episodes(FnActor(_towards_goal), n_episodes=3, seed=5)
        assert [bool(p["terminated"][-1]) for p in paths] == [True] * 3  # each reaches the goal
        for p in paths:
            rewards, dones = point_mass.PointMassEnv.get_reward(None, p["next_observation"], p["action"])
            np.testing.assert_allclose(p["reward"], rewards, rtol=1e-6)  # paths keep float32 observations
            np.testing.assert_array_equal(p["terminated"], dones)
        rng = np.random.default_rng(1)  # not torch's global stream: the test's outcome must not hang on other tests
        batch, _ = collector.segments(UniformActor(2), steps_per_env=30, rng=rng)
        assert batch.observations.shape == (60, 4) and batch.actions.shape == (60, 2)
        batch, ended = collector.steps(UniformActor(2), 80, rng)  # the segments' episodes run on: 110 steps each
        assert batch.observations.shape == (160, 4)
        assert len(ended) == 2 and all(len(e["reward"]) == 100 for e in ended)  # time limit
