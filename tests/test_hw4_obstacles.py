"""hw4's obstacles-cs285-v0 (cs285/envs/obstacles.py): the course's rules on gymnasium 1.x, seeded through
gymnasium, get_reward equal to step's reward, drawn with NumPy, collected and filmed like any env."""
import warnings

import gymnasium as gym
import imageio.v2 as imageio
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from actors import UniformActor, ZerosActor
from cs285.envs import obstacles
from cs285.envs.collector import Collector
from cs285.envs.make import make_env
from cs285.envs.obstacles import ObstaclesEnv, is_free, pixel_of
from cs285.envs.video import OwnGLContext, VideoRecorder, make_render_env
from cs285.infrastructure.logger import Logger

ENV_ID = "obstacles-cs285-v0"
GOAL = np.array([0.7, -0.8])
# the course's rectangles, typed in again (not read from the module): (left x, top y, width, height)
RECTANGLES = [(-0.4, 0.8, 0.4, 0.3), (-0.9, 0.3, 0.2, 0.6), (0.6, -0.1, 0.12, 0.4), (-0.1, 0.2, 0.15, 0.4),
              (0.1, -0.7, 0.3, 0.15)]


def _env(**kwargs) -> gym.Env:
    return make_env(ENV_ID, **kwargs)


def _start_at(env, x: float, y: float) -> np.ndarray:
    obs, _ = env.reset(options={"position": (x, y)})
    return obs


def _towards_goal(obs: np.ndarray) -> np.ndarray:
    """(n, 4) -> (n, 2): full speed straight at the goal (gets stuck behind an obstacle in the way)."""
    return np.clip(10 * (obs[:, 2:] - obs[:, :2]), -1, 1).astype(np.float32)


class WanderTowardsGoal:
    """An Actor: ``_towards_goal``, but a uniform action in [−1.5, 1.5]² (beyond the clip too) 30% of the
    time, which gets it round the obstacles."""

    def act(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        wander = rng.random(len(obs)) < 0.3
        random_actions = rng.uniform(-1.5, 1.5, (len(obs), 2)).astype(np.float32)
        return np.where(wander[:, None], random_actions, _towards_goal(obs))


def test_make_env_gives_the_courses_spaces_and_time_limit_and_passes_gymnasiums_checker():
    env = _env()
    assert env.spec.max_episode_steps == 500
    assert env.observation_space.shape == (4,) and env.observation_space.dtype == np.float32
    assert np.all(np.isinf(env.observation_space.low)) and np.all(np.isinf(env.observation_space.high))
    assert env.action_space.dtype == np.float32 and env.action_space.shape == (2,)
    np.testing.assert_array_equal(env.action_space.low, np.float32(-0.99))
    np.testing.assert_array_equal(env.action_space.high, np.float32(0.99))
    for mode in (None, "rgb_array"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            warnings.filterwarnings("ignore", message=".*Box observation space m.*infinity")  # the course's space
            check_env(make_env(ENV_ID, render=mode is not None).unwrapped)
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 and obs.shape == (4,)
    np.testing.assert_array_equal(obs[2:], np.float32(GOAL))  # the goal rides in the observation
    env.close()


def test_a_seed_fixes_the_episode_and_different_seeds_start_apart():
    def episode(seed: int) -> tuple[np.ndarray, list]:
        env = _env()
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)  # the same actions for every seed
        observations, rewards = [obs], []
        for _ in range(50):
            obs, reward, _, _, _ = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
            observations.append(obs)
            rewards.append(reward)
        return np.stack(observations), rewards

    first, again = episode(7), episode(7)
    np.testing.assert_array_equal(first[0], again[0])
    assert first[1] == again[1]
    starts = {tuple(episode(seed)[0][0, :2]) for seed in range(10)}
    assert len(starts) == 10


def test_starts_are_free_and_drawn_from_the_courses_box():
    env = _env()
    env.reset(seed=0)
    starts = np.stack([env.reset()[0][:2] for _ in range(2000)])
    # the box [−0.99, 0.59) × [0.26, 0.99): it overlaps rectangle 0 (x in (−0.4, 0), y in (0.5, 0.8)),
    # whose draws are drawn again
    assert np.all(starts >= [-0.99, 0.26]) and np.all(starts < [0.59, 0.99])
    assert is_free(starts).all()
    in_box_of_rectangle_0 = (starts[:, 0] > -0.4) & (starts[:, 0] < 0.0) & (starts[:, 1] > 0.5) & (starts[:, 1] < 0.8)
    assert not in_box_of_rectangle_0.any()
    assert starts[:, 0].min() < -0.9 and starts[:, 0].max() > 0.5 and starts[:, 1].min() < 0.3  # the whole box
    with pytest.raises(ValueError, match="free"):
        env.reset(options={"position": (-0.2, 0.65)})  # inside rectangle 0


@pytest.mark.parametrize("rect", range(5))
def test_a_move_ending_inside_an_obstacle_is_refused_whole(rect):
    """From 0.05 outside each side, a full move (0.1) would end 0.05 inside: the point stays put, not
    even sliding up to the wall; a move of 0.04 (action 0.4) ends 0.01 short and is taken."""
    left, top, width, height = RECTANGLES[rect]
    cx, cy = left + width / 2, top - height / 2
    env = _env()
    for start, direction in [((left - 0.05, cy), (1, 0)), ((left + width + 0.05, cy), (-1, 0)),
                             ((cx, top - height - 0.05), (0, 1)), ((cx, top + 0.05), (0, -1))]:
        before = _start_at(env, *start)
        obs, reward, terminated, truncated, _ = env.step(np.array(direction, np.float32))
        np.testing.assert_array_equal(obs, before)  # refused
        distance = np.linalg.norm(before[:2].astype(np.float64) - before[2:])  # the goal as float32, as observed
        assert reward == pytest.approx(-distance, rel=1e-12) and not terminated and not truncated
        short = 0.4 * np.array(direction, np.float32)
        obs, *_ = env.step(short)
        expected = (before[:2] + short.astype(np.float64) / 10).astype(np.float32)  # step's sum, in float64
        np.testing.assert_array_equal(obs[:2], expected)  # taken


def test_only_the_end_of_a_move_is_checked_so_a_diagonal_may_cut_a_corner():
    env = _env()
    _start_at(env, 0.0, 0.23)  # above rectangle 3 (x in (−0.1, 0.05), y in (−0.2, 0.2))
    assert not is_free(np.array([[0.04, 0.19]]))[0]  # on the way: inside its top-right corner
    obs, *_ = env.step(np.array([1, -1], np.float32))  # ends at (0.1, 0.13): right of it
    np.testing.assert_allclose(obs[:2], [0.1, 0.13], atol=1e-6)


def test_actions_are_clipped_to_one_not_to_the_action_spaces_bound():
    env = _env()
    _start_at(env, 0.2, 0.8)
    obs, reward, terminated, _, _ = env.step(np.array([0.5, -2.0], np.float32))
    # clip → (0.5, −1), move (0.05, −0.1) → (0.25, 0.7);
    # r = −‖(0.25 − 0.7, 0.7 + 0.8)‖ = −sqrt(0.2025 + 2.25) = −sqrt(2.4525)
    np.testing.assert_allclose(obs[:2], [0.25, 0.7], atol=1e-6)
    assert reward == pytest.approx(-np.sqrt(2.4525), rel=1e-6) and not terminated
    obs, *_ = env.step(np.array([1.0, 0.0], np.float32))  # 1 > the space's 0.99, yet a full 0.1
    np.testing.assert_allclose(obs[:2], [0.35, 0.7], atol=1e-6)


def test_reaching_the_goal_ends_the_episode_and_the_bounds_refuse_the_move():
    env = _env()
    _start_at(env, 0.7, -0.55)
    obs, reward, terminated, truncated, _ = env.step(np.array([0, -1], np.float32))
    # at (0.7, −0.65): d = 0.15 >= 0.1, goes on; reward after the move: −0.15
    assert reward == pytest.approx(-0.15, abs=1e-6) and not terminated and not truncated
    obs, reward, terminated, truncated, _ = env.step(np.array([0, -1], np.float32))
    # at (0.7, −0.75): d = 0.05 < 0.1, the goal
    assert reward == pytest.approx(-0.05, abs=1e-6) and terminated and not truncated

    # a move over the boundary is refused like one into an obstacle: the point never leaves the bounds
    before = _start_at(env, 0.95, 0.5)
    obs, _, terminated, _, _ = env.step(np.array([1, 0], np.float32))  # to x = 1.05
    np.testing.assert_array_equal(obs, before)
    assert not terminated
    # so leaving the bounds ends an episode only for observations handed to get_reward (a model's predictions)
    _, dones = env.unwrapped.get_reward(np.array([[1.05, 0.5, 0.7, -0.8], [0.5, -1.2, 0.7, -0.8]]), np.zeros((2, 2)))
    assert dones.tolist() == [True, True]


def test_only_the_time_limit_ends_an_episode_that_stands_still():
    env = _env()
    env.reset(seed=0)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, _ = env.step(np.zeros(2, np.float32))
        steps += 1
    assert steps == 500 and truncated and not terminated


def test_get_reward_on_hand_computed_cases():
    env = _env().unwrapped
    obs = np.array([
        [0.4, -0.4, 0.7, -0.8],  # d = ‖(−0.3, 0.4)‖ = 0.5: r = −0.5, goes on
        [0.7, -0.75, 0.7, -0.8],  # d = 0.05 < 0.1: r = −0.05, the goal
        [1.0, 0.0, 0.7, -0.8],  # x > 0.99, out: r = −‖(0.3, 0.8)‖ = −sqrt(0.73) ≈ −0.8544, done
        [-0.99, 0.0, 0.7, -0.8],  # on the line x = −0.99: not out (strict), d = ‖(−1.69, 0.8)‖ = sqrt(3.4961)
        [0.0, 0.0, 0.0, 0.05],  # the goal is read from the observation: d = 0.05, done
    ])
    rewards, dones = env.get_reward(obs, np.zeros((5, 2)))
    np.testing.assert_allclose(rewards, [-0.5, -0.05, -np.sqrt(0.73), -np.sqrt(3.4961), -0.05], rtol=1e-12)
    assert dones.tolist() == [False, True, True, False, True]
    assert not is_free(obs[3:4, :2])[0]  # yet x = −0.99 is no spot to move to: the course's two bound tests
    one_reward, one_done = env.get_reward(obs[0], np.zeros(2))
    assert one_reward.shape == () and one_reward == rewards[0] and not one_done


@pytest.mark.parametrize("seed", range(4))
def test_get_reward_equals_step_one_at_a_time_and_batched(seed):
    env = _env()
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    next_obs, actions, rewards, ends = [], [], [], []
    for _ in range(500):
        action = WanderTowardsGoal().act(obs[None], rng)[0]
        obs, reward, terminated, truncated, _ = env.step(action)
        one_reward, one_done = env.unwrapped.get_reward(obs, action)
        assert float(one_reward) == reward and bool(one_done) == terminated
        next_obs.append(obs)
        actions.append(action)
        rewards.append(reward)
        ends.append(terminated)
        if terminated or truncated:
            break
    assert ends[-1] and not any(ends[:-1])  # reached the goal, and ended there
    batch_rewards, batch_dones = env.unwrapped.get_reward(np.stack(next_obs), np.stack(actions))
    assert batch_rewards.shape == (len(rewards),)
    np.testing.assert_array_equal(batch_rewards, rewards)
    np.testing.assert_array_equal(batch_dones, ends)


def test_render_draws_the_point_and_the_goal_where_they_are():
    env = _env(render=True)
    env.reset(options={"position": (-0.5, 0.0)})
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape == (256, 256, 3)
    assert tuple(frame[pixel_of(-0.5, 0.0, 256, 256)]) == obstacles.POINT_COLOUR
    assert tuple(frame[pixel_of(*GOAL, 256, 256)]) == obstacles.GOAL_COLOUR
    for left, top, width, height in RECTANGLES:
        assert tuple(frame[pixel_of(left + width / 2, top - height / 2, 256, 256)]) == obstacles.OBSTACLE_COLOUR
    assert tuple(frame[pixel_of(0.99, 0.0, 256, 256)]) == obstacles.BOUNDARY_COLOUR
    assert tuple(frame[pixel_of(0.5, 0.5, 256, 256)]) == obstacles.BACKGROUND
    env.step(np.array([1, 1], np.float32))  # to (−0.4, 0.1)
    moved = env.render()
    point = np.argwhere(np.all(moved == obstacles.POINT_COLOUR, axis=-1))
    np.testing.assert_allclose(point.mean(axis=0), pixel_of(-0.4, 0.1, 256, 256), atol=0.5)
    assert tuple(moved[pixel_of(-0.5, 0.0, 256, 256)]) == obstacles.BACKGROUND  # the old spot is clear
    small = ObstaclesEnv(render_mode="rgb_array", width=64, height=48)
    small.reset(seed=0)
    assert small.render().shape == (48, 64, 3)
    with pytest.warns(UserWarning, match="render_mode"):
        assert ObstaclesEnv().render() is None  # no render_mode: a warning, no frame (gymnasium's habit)


@pytest.mark.parametrize("env_procs", [1, 2])
def test_collector_runs_it_in_every_mode(env_procs):
    with Collector(ENV_ID, seed=0, num_envs=2, env_procs=env_procs) as collector:
        assert collector.max_episode_steps == 500 and not collector.discrete
        paths = collector.episodes(WanderTowardsGoal(), n_episodes=4, seed=5)
        assert any(p["terminated"][-1] for p in paths)  # the goal is reached ...
        for p in paths:  # ... or the time limit cuts the episode
            assert p["terminated"][-1] or (p["truncated"][-1] and len(p["reward"]) == 500)
            rewards, dones = ObstaclesEnv.get_reward(None, p["next_observation"], p["action"])
            np.testing.assert_array_equal(p["reward"], rewards)  # float32 observations are the state: exact
            np.testing.assert_array_equal(p["terminated"], dones)
        rng = np.random.default_rng(1)
        batch, _ = collector.segments(UniformActor(2), steps_per_env=30, rng=rng)
        assert batch.observations.shape == (60, 4) and batch.actions.shape == (60, 2)
        batch, ended = collector.steps(UniformActor(2), 480, rng)  # random walks: 510 steps, one time limit each
        assert batch.observations.shape == (960, 4)
        assert len(ended) >= 2 and all(len(e["reward"]) <= 500 for e in ended)
    with Collector(ENV_ID, seed=0, env_procs=1) as serial:  # any process count: the same episodes
        again = serial.episodes(WanderTowardsGoal(), n_episodes=4, seed=5)
    for p, q in zip(paths, again):
        np.testing.assert_array_equal(p["observation"], q["observation"])


def test_videos_go_through_the_non_mujoco_render_path(tmp_path):
    env = make_render_env(ENV_ID)
    assert not isinstance(env, OwnGLContext) and env.render().shape == (256, 256, 3)
    env.close()
    recorder = VideoRecorder(ENV_ID, ep_len=20, seed=0)
    assert recorder.enabled and recorder.frame_skip == 1 and recorder.fps == 10  # render_fps 10: every frame
    with Logger(str(tmp_path)) as logger:
        path = recorder.log(logger, ZerosActor(2), step=0)
    recorder.close()
    with imageio.get_reader(path, "ffmpeg") as reader:
        frames = np.stack(list(reader.iter_data()))
    # 20 steps standing still: a frame at reset and after each step, 21; two rollouts side by side
    assert frames.shape == (21, 256, 512, 3)
