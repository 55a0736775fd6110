"""The envpool backend: VecEnv's contract through the sampler, and agreement with gymnasium."""
import importlib.util
import os
import sys

import numpy as np
import pytest

from actors import UniformActor, ZerosActor
from cs285.infrastructure import utils
from cs285.envs.collector import Collector
from cs285.envs.make import VecEnv, make_vec_env
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.rollouts import PATH_KEYS

# scripts/: run_hw2 (envpool_agreement, the validation harness, lives beside this file)
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "scripts"))

needs_envpool = pytest.mark.skipif(importlib.util.find_spec("envpool") is None,
                                   reason="envpool is not installed (pip install -e .[fast])")
# Box2D's SWIG bindings (gymnasium's LunarLander) warn about their own types when first imported.
pytestmark = pytest.mark.filterwarnings("ignore:builtin type .* has no __module__ attribute:DeprecationWarning")


def test_missing_envpool_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "envpool", None)  # makes `import envpool` raise ImportError
    with pytest.raises(UserError, match=r"pip install -e \.\[fast\]"):
        make_vec_env("Hopper-v4", 2, seed=0, backend="envpool")


def test_unknown_backend_is_a_user_error():
    with pytest.raises(UserError, match="gymnasium, envpool"):
        make_vec_env("Hopper-v4", 2, backend="brax")


@needs_envpool
def test_unsupported_id_names_the_supported_ones():
    with pytest.raises(UserError, match="HalfCheetah-v4"):
        make_vec_env("MountainCar-v0", 2, backend="envpool")


@needs_envpool
@pytest.mark.parametrize("env_id", ["Hopper-v4", "CartPole-v1", "LunarLander-v3"])
def test_interface_matches_gymnasium(env_id):
    ref = VecEnv(env_id, 2, seed=0, ep_len=30)
    env = make_vec_env(env_id, 2, seed=0, ep_len=30, backend="envpool")
    assert (env.num_envs, env.max_episode_steps, env.discrete) == \
           (ref.num_envs, ref.max_episode_steps, ref.discrete) == (2, 30, env.discrete)
    assert env.observation_space.shape == ref.observation_space.shape
    assert env.action_space == ref.action_space  # float32 Box with the same bounds, or the same Discrete
    assert make_vec_env(env_id, 1, backend="envpool").max_episode_steps == VecEnv(env_id, 1).max_episode_steps


@needs_envpool
def test_ep_len_truncation_and_exact_step_counts():
    # HalfCheetah never terminates: with ep_len=7 every episode is 7 steps, truncated;
    # ceil(20 / 7) = 3 episodes = 21 steps, as with the gymnasium backend.
    env = make_vec_env("HalfCheetah-v4", 4, seed=0, ep_len=7, backend="envpool")
    for _ in range(2):  # the second batch re-uses envs whose episodes ended
        paths, steps = utils.sample_trajectories(env, UniformActor(6), 20, seed=0)
        assert steps == 21 and len(paths) == 3
        for p in paths:
            assert set(p) == set(PATH_KEYS)
            assert p["observation"].shape == (7, 17) and p["action"].shape == (7, 6)
            assert p["truncated"].tolist() == [False] * 6 + [True]
            assert not p["terminated"].any()
            assert len(np.unique(p["observation"], axis=0)) == 7  # one fresh observation per step


@needs_envpool
def test_termination_is_not_truncation():
    # CartPole pushed always left falls over long before its 500-step limit.
    env = make_vec_env("CartPole-v1", 2, seed=3, backend="envpool")
    (path,) = utils.sample_n_trajectories(env, ZerosActor(), 1)
    n = len(path["reward"])
    assert n < 50
    assert path["terminated"].tolist() == [False] * (n - 1) + [True]
    assert not path["truncated"].any()
    assert path["reward"].tolist() == [1.0] * n


@needs_envpool
def test_lunar_lander_discrete_actions_and_subsets():
    from cs285.envs.envpool_env import EnvpoolVecEnv

    env = make_vec_env("LunarLander-v2", 3, seed=0, backend="envpool")  # the old id runs v3, as on gymnasium
    assert isinstance(env, EnvpoolVecEnv) and env.env_name == "LunarLander-v3"
    assert env.discrete and env.action_space.n == 4 and env.observation_space.shape == (8,)
    obs = [env.reset_one(i) for i in range(3)]
    assert all(env.observation_space.contains(o) for o in obs)  # envpool's own bounds exclude x < 0
    # A subset in any order steps exactly those envs: same results as stepping them one at a time.
    alone = EnvpoolVecEnv("LunarLander-v3", 3, seed=0)
    for i in range(3):
        np.testing.assert_array_equal(alone.reset_one(i), obs[i])
    for actions in ([3, 1], [2, 0], [1, 2]):  # int64, what the categorical policies emit
        together = env.step_each([2, 0], np.array(actions, dtype=np.int64))
        separate = [alone.step_each([i], np.array([a]))[0] for i, a in zip([2, 0], actions)]
        for (o, r, term, trunc), (o_alone, r_alone, *flags) in zip(together, separate):
            np.testing.assert_array_equal(o, o_alone)
            assert (r, term, trunc) == (r_alone, *flags) and not (term or trunc)
    np.testing.assert_array_equal(env.step_each([1], np.array([0]))[0][0], alone.step_each([1], np.array([0]))[0][0])


@needs_envpool
def test_lunar_lander_time_limit_truncates_and_crash_terminates():
    noop = ZerosActor()  # engines off: free fall from y ≈ 1.4
    short = make_vec_env("LunarLander-v3", 2, seed=0, ep_len=5, backend="envpool")
    for p in utils.sample_n_trajectories(short, noop, 3):
        assert p["truncated"].tolist() == [False] * 4 + [True] and not p["terminated"].any()
    # Unpowered, the lander hits the ground after ~70 steps: a crash, terminated, reward -100.
    env = make_vec_env("LunarLander-v3", 2, seed=0, backend="envpool")
    for p in utils.sample_n_trajectories(env, noop, 3):
        n = len(p["reward"])
        assert n < 200 and p["terminated"].tolist() == [False] * (n - 1) + [True] and not p["truncated"].any()
        assert p["reward"][-1] == -100 and np.all(np.abs(p["reward"][:-1]) < 100)
    # The same crash on the limit step is truncated only (gymnasium: both flags; see envpool_env.py).
    (p,) = utils.sample_n_trajectories(make_vec_env("LunarLander-v3", 1, seed=3, backend="envpool"), noop, 1)
    n = len(p["reward"])
    limited = make_vec_env("LunarLander-v3", 1, seed=3, ep_len=n, backend="envpool")
    (p,) = utils.sample_n_trajectories(limited, noop, 1)
    assert (len(p["reward"]), p["reward"][-1], p["terminated"][-1], p["truncated"][-1]) == (n, -100, False, True)


@needs_envpool
def test_lunar_lander_heuristic_lands_with_the_landing_reward():
    from envpool_agreement import fixed_policy

    env = make_vec_env("LunarLander-v3", 4, seed=0, backend="envpool")
    paths = utils.sample_n_trajectories(env, fixed_policy("heuristic", "LunarLander-v3"), 8)
    landed = [p for p in paths if p["terminated"][-1] and p["reward"][-1] == 100]
    assert len(landed) >= 4  # gymnasium's heuristic lands ~92% of episodes on either backend
    assert all(p["reward"][-1] in (100, -100) for p in paths if p["terminated"][-1])


@needs_envpool
def test_lunar_lander_episode_statistics_agree():
    from envpool_agreement import compare_stats, episode_stats

    gym_stats = episode_stats("LunarLander-v3", "gymnasium", 64, policy="noop")
    pool_stats = episode_stats("LunarLander-v3", "envpool", 64, policy="noop")
    for quantity, (_, _, z) in compare_stats(gym_stats, pool_stats).items():
        assert abs(z) < 4, quantity


@needs_envpool
def test_hopper_terminates_with_each_env_stepped_separately():
    env = make_vec_env("Hopper-v4", 3, seed=0, backend="envpool")
    paths = utils.sample_n_trajectories(env, UniformActor(3), 7, seed=0)
    assert len(paths) == 7
    for p in paths:
        assert len(p["reward"]) < 1000 and p["terminated"][-1] and not p["truncated"].any()
        assert not p["terminated"][:-1].any()


@needs_envpool
def test_same_seed_same_paths_whatever_the_thread_count():
    from cs285.envs.envpool_env import EnvpoolVecEnv

    def run(seed, num_threads):
        env = EnvpoolVecEnv("Hopper-v4", 4, seed=seed, ep_len=30, num_threads=num_threads)
        paths, _ = utils.sample_trajectories(env, UniformActor(3), 100, seed=seed)
        return np.concatenate([p["observation"] for p in paths])

    np.testing.assert_array_equal(run(1, 2), run(1, 2))
    np.testing.assert_array_equal(run(1, 2), run(1, 1))
    assert not np.array_equal(run(1, 2), run(2, 2))


@needs_envpool
def test_collector_on_envpool_is_lockstep_over_its_envs():
    # Collector(backend="envpool") runs episodes, segments and steps in lock-step on envpool envs seeded
    # like make_vec_env's: the same numbers as Collector.over those envs.
    def collectors():
        own = Collector("Hopper-v4", backend="envpool", num_envs=3, seed=4, ep_len=20)
        return own, Collector.over(make_vec_env("Hopper-v4", 3, seed=4, ep_len=20, backend="envpool"))

    own, given = collectors()
    assert "segments/steps: 3 envs in lock-step on envpool threads" in own.describe(segments=True)
    a, b = own.episodes(UniformActor(3), min_steps=50, seed=1), given.episodes(UniformActor(3), min_steps=50, seed=1)
    assert len(a) == len(b) and sum(len(p["reward"]) for p in a) >= 50
    for p, q in zip(a, b):
        for key in PATH_KEYS:
            np.testing.assert_array_equal(p[key], q[key], err_msg=key)
    own, given = collectors()
    for mode in ("segments", "steps"):
        x, _ = getattr(own, mode)(UniformActor(3), 4, rng=np.random.default_rng(0))
        y, _ = getattr(given, mode)(UniformActor(3), 4, rng=np.random.default_rng(0))
        for name, u, v in zip(x._fields, x, y):
            np.testing.assert_array_equal(u, v, err_msg=f"{mode} {name}")


@needs_envpool
def test_first_reset_of_env_i_depends_only_on_seed_plus_i():
    from cs285.envs.envpool_env import EnvpoolVecEnv

    a, b = EnvpoolVecEnv("Hopper-v4", 3, seed=5), EnvpoolVecEnv("Hopper-v4", 3, seed=5)
    ob_a = a.reset_one(2)
    b.reset_one(0)
    b.reset_one(1)
    np.testing.assert_array_equal(ob_a, b.reset_one(2))
    assert not np.array_equal(ob_a, b.reset_one(1))


@needs_envpool
def test_no_auto_reset_and_observations_stay_put():
    from cs285.envs.envpool_env import EnvpoolVecEnv

    env = EnvpoolVecEnv("HalfCheetah-v4", 2, seed=0, ep_len=3)
    with pytest.raises(RuntimeError, match="reset_one"):
        env.step_each([0], np.zeros((1, 6), np.float32))  # never reset
    first = env.reset_one(0)
    kept = first.copy()
    results = [env.step_each([0], np.ones((1, 6), np.float32))[0] for _ in range(3)]
    assert [r[2:] for r in results] == [(False, False), (False, False), (False, True)]
    np.testing.assert_array_equal(first, kept)  # later steps did not write into earlier observations
    with pytest.raises(RuntimeError, match="auto-reset"):
        env.step_each([0], np.zeros((1, 6), np.float32))  # envpool would have reset it silently
    env.reset_one(0)
    with pytest.raises(RuntimeError):
        env.step_each([1, 0], np.zeros((2, 6), np.float32))  # env 1 was never reset
    env.reset_one(1)
    assert len(env.step_each([1, 0], np.zeros((2, 6), np.float32))) == 2


@needs_envpool
def test_render_points_to_the_gymnasium_backend():
    env = make_vec_env("Hopper-v4", 1, seed=0, backend="envpool")
    with pytest.raises(UserError, match="--env_backend gymnasium"):
        env.render(0)


@needs_envpool
def test_humanoid_warns_about_contact_force_observations():
    with pytest.warns(UserWarning, match="contact-force"):
        make_vec_env("Humanoid-v4", 1, seed=0, backend="envpool").close()


@needs_envpool
@pytest.mark.parametrize("env_id", ["HalfCheetah-v4", "Hopper-v4"])
def test_lockstep_matches_gymnasium(env_id):
    from envpool_agreement import lockstep

    r = lockstep(env_id, seed=0, n_steps=50)
    assert r.flags_agree
    assert r.obs_diff_10 < 1e-9  # same MuJoCo model: only round-off apart
    assert r.reward_diff < 1e-6  # envpool's rewards are float32
    if env_id == "Hopper-v4":  # falls under random actions; both backends on the same step
        assert r.ended_by == "terminated" and r.obs_diff < 1e-9


@needs_envpool
@pytest.mark.filterwarnings("ignore:.*contact-force")
def test_lockstep_humanoid_close_but_contact_forces_missing():
    from envpool_agreement import lockstep

    r = lockstep("Humanoid-v4", seed=0, n_steps=10)
    assert r.flags_agree and r.obs_diff_first < 1e-4 and r.reward_diff < 1e-3


@needs_envpool
def test_hopper_episode_statistics_agree():
    from envpool_agreement import episode_stats, z_score

    gym_stats = episode_stats("Hopper-v4", "gymnasium", 64, seed=0)
    pool_stats = episode_stats("Hopper-v4", "envpool", 64, seed=0)
    assert abs(z_score(gym_stats.lengths, pool_stats.lengths)) < 4
    assert abs(z_score(gym_stats.returns, pool_stats.returns)) < 4


@needs_envpool
def test_run_hw2_trains_and_evaluates_on_envpool(data_dir):
    import json

    import run_hw2

    args = run_hw2.parse_args(["--env", "Hopper-v4", "-n", "2", "-b", "200", "-eb", "100", "-rtg",
                               "--exp_name", "envpool", "--env_backend", "envpool"])
    last = run_hw2.run(args, seed=1)
    assert np.isfinite(last["Eval_AverageReturn"]) and last["Train_EnvstepsSoFar"] >= 400
    (run_dir,) = list(data_dir.iterdir())
    assert json.loads((run_dir / "config.json").read_text())["flags"]["env_backend"] == "envpool"
    # action noise is the collector's, on any backend
    noisy = run_hw2.run(run_hw2.parse_args(["--env", "Hopper-v4", "-n", "1", "-b", "100", "-eb", "50",
                                            "--env_backend", "envpool", "--action_noise_std", "0.1"]), seed=1)
    assert np.isfinite(noisy["Eval_AverageReturn"])
