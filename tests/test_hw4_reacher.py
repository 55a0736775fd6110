"""hw4's reacher-cs285-v0 (cs285/envs/reacher.py): made by make_env with the course's time limit; its
observation read back from MuJoCo; zero gravity; the batched get_reward equal to step's reward; the
course's fixed target and the flag that frees it; the target within the arm's reach; rendering and
the collector."""
import mujoco
import numpy as np
import pytest
from gymnasium.envs.mujoco import MujocoEnv

from actors import FnActor, UniformActor
from cs285.envs import reacher
from cs285.envs.collector import Collector
from cs285.envs.make import VecEnv, make_env
from cs285.envs.video import OwnGLContext, make_render_env

ENV_ID = "reacher-cs285-v0"
REST_FINGERTIP = (0.1 + 0.4 + 0.321, -0.6, 0.0)  # straight arm along +x: pan-to-lift, upper arm, forearm


@pytest.fixture
def env():
    env = make_env(ENV_ID, seed=0)
    yield env
    env.close()


def _site(env, name: str) -> np.ndarray:
    u = env.unwrapped
    return u.data.site_xpos[mujoco.mj_name2id(u.model, mujoco.mjtObj.mjOBJ_SITE, name)]


def _towards_target(env):
    """A Jacobian-transpose controller, obs (n, 20) -> actions (n, 7): torques along Jᵀ(target − fingertip),
    damped by the joint velocities (obs[7:14] = qvel / 10). Reads the site Jacobian from ``env``."""
    u = env.unwrapped
    site = mujoco.mj_name2id(u.model, mujoco.mjtObj.mjOBJ_SITE, "fingertip")
    jac = np.zeros((3, u.model.nv))

    def act(obs: np.ndarray) -> np.ndarray:
        mujoco.mj_jacSite(u.model, u.data, jac, None, site)
        torque = 20.0 * (obs[:, 17:] - obs[:, 14:17]) @ jac - 5.0 * obs[:, 7:14]
        return np.clip(torque, -1, 1).astype(np.float32)

    return act


def test_make_env_builds_it_with_the_courses_spaces_and_time_limit(env):
    u = env.unwrapped
    assert isinstance(u, reacher.Reacher7DOFEnv) and isinstance(u, MujocoEnv)
    assert env.spec.max_episode_steps == 500
    assert env.observation_space.shape == (20,) and env.action_space.shape == (7,)
    np.testing.assert_array_equal(env.action_space.low, -np.ones(7))
    np.testing.assert_array_equal(env.action_space.high, np.ones(7))
    assert u.frame_skip == 2 and u.dt == pytest.approx(0.02)
    np.testing.assert_array_equal(u.model.actuator_gear[:, 0], [20, 10, 10, 10, 10, 10, 10])
    np.testing.assert_array_equal(u.model.opt.gravity, [0, 0, 0])


def test_the_observation_is_read_from_mujoco(env):
    obs, _ = env.reset(seed=1)
    # at rest, straight out along +x: no reset noise, fingertip at 0.821 m along the arm, target fixed
    np.testing.assert_array_equal(obs[:14], np.zeros(14))
    np.testing.assert_allclose(obs[14:17], REST_FINGERTIP, atol=1e-12)
    np.testing.assert_array_equal(obs[17:], [0.1, 0.1, 0.1])
    rng = np.random.default_rng(0)
    for _ in range(30):
        obs, *_ = env.step(rng.uniform(-1, 1, 7).astype(np.float32))
    data = env.unwrapped.data
    assert obs.shape == (20,) and obs.dtype == np.float64 and np.abs(obs[7:14]).max() > 0
    np.testing.assert_array_equal(obs[:7], data.qpos)
    np.testing.assert_array_equal(obs[7:14], data.qvel / 10)
    np.testing.assert_array_equal(obs[14:17], _site(env, "fingertip"))
    np.testing.assert_array_equal(obs[14:17], data.body("hand").xpos)  # the site sits on the hand's origin
    np.testing.assert_array_equal(obs[17:], _site(env, "target"))


def test_zero_gravity_an_arm_at_rest_stays_put(env):
    env.reset(seed=0)
    u = env.unwrapped
    pose = np.array([0.5, 0.3, -0.7, -1.2, 0.4, -0.6, 1.0])  # bent, inside every range, hand above the table
    u.set_state(pose, np.zeros(7))
    for _ in range(100):
        obs, *_ = env.step(np.zeros(7, np.float32))
    np.testing.assert_array_equal(obs[:7], pose)
    np.testing.assert_array_equal(obs[7:14], np.zeros(7))


def test_get_reward_equals_step_one_at_a_time_and_batched(env):
    env.reset(seed=2)
    rng = np.random.default_rng(1)
    observations, actions, rewards = [], [], []
    for _ in range(50):
        action = rng.uniform(-1, 1, 7).astype(np.float32)
        obs, reward, terminated, truncated, _ = env.step(action)
        one_reward, one_done = env.unwrapped.get_reward(obs, action)
        assert one_reward.shape == () and float(one_reward) == reward
        assert not one_done and not terminated and not truncated
        observations.append(obs)
        actions.append(action)
        rewards.append(reward)
    batch_rewards, batch_dones = env.unwrapped.get_reward(np.stack(observations), np.stack(actions))
    assert batch_rewards.shape == (50,) and batch_dones.shape == (50,) and not batch_dones.any()
    np.testing.assert_array_equal(batch_rewards, rewards)
    # fingertip (0.4, 0.5, 0.1), target (0.1, 0.1, 0.1): difference (0.3, 0.4, 0), length 0.5, r = −10 · 0.5 = −5;
    # at the target r = 0, whatever the action (no control cost)
    hand_built = np.zeros((2, 20))
    hand_built[:, 17:] = 0.1
    hand_built[0, 14:17] = (0.4, 0.5, 0.1)
    hand_built[1, 14:17] = 0.1
    reward, done = reacher.Reacher7DOFEnv.get_reward(hand_built, np.ones((2, 7)))
    np.testing.assert_allclose(reward, [-5.0, 0.0], atol=1e-12)
    assert done.tolist() == [False, False]


def test_the_target_is_the_courses_by_default_and_random_with_the_flag_off(env):
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        np.testing.assert_array_equal(obs[17:], [0.1, 0.1, 0.1])
        np.testing.assert_array_equal(_site(env, "target"), [0.1, 0.1, 0.1])
    free = make_env(ENV_ID, fixed_target=False)
    targets = np.array([free.reset(seed=seed)[0][17:] for seed in range(5)])
    assert len({tuple(t) for t in targets}) == 5  # a new target each episode
    assert np.all(targets >= reacher.TARGET_LOW) and np.all(targets <= reacher.TARGET_HIGH)
    np.testing.assert_array_equal(free.reset(seed=3)[0][17:], targets[3])  # the seed decides it
    np.testing.assert_array_equal(_site(free, "target"), targets[3])
    free.close()


def test_the_arm_reaches_the_default_target(env):
    obs, _ = env.reset(seed=0)
    act = _towards_target(env)
    start = np.linalg.norm(obs[14:17] - obs[17:])  # about 1.01 m away at rest
    distances = []
    for _ in range(200):  # 4 s of the 10 s episode
        obs, reward, *_ = env.step(act(obs[None])[0])
        distances.append(np.linalg.norm(obs[14:17] - obs[17:]))
    assert start > 1.0 and min(distances) < 0.03 and distances[-1] < 0.03, (start, min(distances), distances[-1])
    assert reward > -0.3


def test_renders_through_make_render_env():
    env = make_render_env(ENV_ID, 64, 48)
    try:
        assert isinstance(env, OwnGLContext) and isinstance(env.unwrapped, reacher.Reacher7DOFEnv)
        first = env.render()
        assert first.dtype == np.uint8 and first.shape == (48, 64, 3) and first.std() > 0
        for _ in range(20):
            env.step(np.ones(7, np.float32))
        assert np.any(env.render() != first)  # the arm moved on screen
    finally:
        env.close()


@pytest.mark.parametrize("env_procs", [1, 2])
def test_collector_runs_its_episodes_to_the_time_limit(env_procs):
    with Collector(ENV_ID, seed=0, env_procs=env_procs) as collector:
        assert collector.max_episode_steps == 500 and not collector.discrete
        paths = collector.episodes(UniformActor(7), n_episodes=2, seed=4)
    assert [len(p["reward"]) for p in paths] == [500, 500]
    for p in paths:
        assert p["truncated"][-1] and not p["terminated"].any()
        rewards, _ = reacher.Reacher7DOFEnv.get_reward(p["next_observation"], p["action"])
        np.testing.assert_allclose(p["reward"], rewards, rtol=1e-5)  # paths keep float32 observations
        np.testing.assert_array_equal(p["next_observation"][:, 17:], np.full((500, 3), 0.1, np.float32))


def test_collector_over_the_env_runs_a_controller_to_the_target():
    env = make_env(ENV_ID, ep_len=200)  # the length of hw4's MPC episodes
    with Collector.over(VecEnv.from_envs([env], seed=0)) as collector:  # the controller reads this env's MuJoCo
        (path,) = collector.episodes(FnActor(_towards_target(env)), n_episodes=1)
    assert len(path["reward"]) == 200 and path["truncated"][-1]
    assert path["reward"][-1] > -0.3  # within 3 cm at the end
