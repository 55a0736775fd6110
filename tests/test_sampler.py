"""The one sampler: exact step counts, done flags, seeding."""
import numpy as np
import pytest

from cs285.infrastructure import utils
from cs285.infrastructure.envs import UserError, VecEnv, make_env


def zeros_policy(ac_dim):
    return lambda obs: np.zeros((len(obs), ac_dim), dtype=np.float32)


def test_min_timesteps_collects_whole_episodes():
    # Pendulum never terminates; with ep_len=7 every episode is exactly 7 steps, truncated.
    env = VecEnv("Pendulum-v1", num_envs=4, seed=0, ep_len=7)
    paths, steps = utils.sample_trajectories(env, zeros_policy(1), 20)
    # ceil(20 / 7) = 3 episodes = 21 steps: enough, and no episode more than needed.
    assert steps == 21 and len(paths) == 3
    for p in paths:
        assert len(p["reward"]) == 7
        assert p["truncated"].tolist() == [False] * 6 + [True]
        assert not p["terminated"].any()


def test_n_trajectories_and_keys():
    env = VecEnv("Pendulum-v1", num_envs=3, seed=0, ep_len=5)
    paths = utils.sample_n_trajectories(env, zeros_policy(1), 5)
    assert len(paths) == 5
    for p in paths:
        assert set(p) == set(utils.PATH_KEYS)
        assert p["observation"].shape == (5, 3) and p["action"].shape == (5, 1)
        np.testing.assert_array_equal(p["next_observation"][:-1], p["observation"][1:])


def test_termination_is_not_truncation():
    # CartPole pushed always left falls over long before its 500-step limit.
    env = VecEnv("CartPole-v1", num_envs=2, seed=3)
    path = utils.sample_trajectory(env, lambda obs: np.zeros(len(obs), dtype=np.int64))
    n = len(path["reward"])
    assert n < 50
    assert path["terminated"].tolist() == [False] * (n - 1) + [True]
    assert not path["truncated"].any()


def test_same_seed_same_paths():
    def run(seed):
        env = VecEnv("Hopper-v4", num_envs=4, seed=seed, ep_len=30)
        rng = np.random.default_rng(seed)
        policy = lambda obs: rng.uniform(-1, 1, (len(obs), 3)).astype(np.float32)  # noqa: E731
        paths, _ = utils.sample_trajectories(env, policy, 100)
        return np.concatenate([p["observation"] for p in paths])

    np.testing.assert_array_equal(run(1), run(1))
    assert not np.array_equal(run(1), run(2))


def test_ep_len_is_honoured_on_mujoco():
    env = VecEnv("HalfCheetah-v4", num_envs=2, seed=0, ep_len=13)
    paths = utils.sample_n_trajectories(env, zeros_policy(6), 2)
    assert [len(p["reward"]) for p in paths] == [13, 13]
    assert all(p["truncated"][-1] for p in paths)


def test_metrics():
    paths = [{"reward": np.array([1.0, 2.0])}, {"reward": np.array([3.0, 4.0, 5.0])}]
    logs = utils.compute_metrics(paths, paths[:1])
    # returns 3 and 12: mean 7.5, std 4.5; eval only the first: 3.
    assert logs["Train_AverageReturn"] == 7.5 and logs["Train_StdReturn"] == 4.5
    assert logs["Train_MaxReturn"] == 12 and logs["Train_MinReturn"] == 3 and logs["Train_AverageEpLen"] == 2.5
    assert logs["Eval_AverageReturn"] == 3.0


def test_unknown_env_names_close_matches():
    with pytest.raises(UserError, match="Hopper-v4"):
        make_env("Hoper-v4")


def test_lunarlander_v2_alias(capsys, monkeypatch):
    from cs285.infrastructure import envs

    monkeypatch.setattr(envs, "_noted_aliases", set())
    assert envs.resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert envs.resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert capsys.readouterr().out.count("running LunarLander-v3") == 1  # said once, not once per env


def test_segments_are_env_major_cut_and_continued():
    # Pendulum with ep_len=7: 2 envs, segments of 5 steps. Env i's steps are rows [5i, 5i+5).
    env = VecEnv("Pendulum-v1", num_envs=2, seed=0, ep_len=7)
    sampler = utils.SegmentSampler(env)
    first = sampler.sample(zeros_policy(1), 5)
    assert set(first) == set(utils.PATH_KEYS) and first["observation"].shape == (10, 3)
    assert first["action"].shape == (10, 1) and first["reward"].shape == (10,)
    # each env's last step is a cut (truncated, bootstrapped); nothing else ended within 5 < 7 steps
    assert first["truncated"].tolist() == ([False] * 4 + [True]) * 2 and not first["terminated"].any()
    for i in range(2):
        rows = slice(5 * i, 5 * i + 5)
        np.testing.assert_array_equal(first["next_observation"][rows][:-1], first["observation"][rows][1:])
    assert len(sampler.recent_episodes) == 0

    second = sampler.sample(zeros_policy(1), 5)
    for i in range(2):
        # the episode goes on where the cut left it
        np.testing.assert_array_equal(second["observation"][5 * i], first["next_observation"][5 * i + 4])
        # it reaches its 7-step limit at the segment's 2nd step (a real truncation), a new one starts at the 3rd
        assert second["truncated"][5 * i: 5 * i + 5].tolist() == [False, True, False, False, True]
        assert not np.array_equal(second["observation"][5 * i + 2], second["next_observation"][5 * i + 1])
    episodes = list(sampler.recent_episodes)
    assert [len(e["reward"]) for e in episodes] == [7, 7]
    # the finished episode's rewards are the ones its 7 steps earned, across both segments
    np.testing.assert_allclose(episodes[0]["reward"], np.concatenate([first["reward"][:5], second["reward"][:2]]))


def test_segments_restart_terminated_episodes():
    # CartPole pushed left falls within ~10 steps: episodes end inside a 40-step segment and restart.
    env = VecEnv("CartPole-v1", num_envs=1, seed=3)
    batch = utils.SegmentSampler(env).sample(lambda obs: np.zeros(len(obs), dtype=np.int64), 40)
    ends = np.flatnonzero(batch["terminated"])
    assert len(ends) >= 2 and not batch["truncated"][:-1].any()
    assert batch["truncated"][-1] != batch["terminated"][-1]  # the last step is a cut unless it terminated


def test_step_all_matches_step_each():
    def run(use_all):
        env = VecEnv("Hopper-v4", num_envs=3, seed=5)
        for i in range(3):
            env.reset_one(i)
        actions = np.full((3, 3), 0.1, dtype=np.float32)
        return env.step_all(actions) if use_all else tuple(map(np.array, zip(*env.step_each(range(3), actions))))

    for a, b in zip(run(True), run(False)):
        np.testing.assert_array_equal(a, b)
