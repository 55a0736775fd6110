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


def test_lunarlander_v2_alias(capsys):
    from cs285.infrastructure.envs import resolve_env_id

    assert resolve_env_id("LunarLander-v2") == "LunarLander-v3"
    assert "LunarLander-v3" in capsys.readouterr().out
