"""eval_policy.py --policy random: RandomActor's actions in the space, from a seeded stream."""
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np

from cs285.envs.make import RandomActor

EVAL_POLICY = os.path.join(os.path.dirname(__file__), "..", "scripts", "eval_policy.py")


def test_random_actions_cover_the_space_and_repeat_with_the_seed():
    discrete = RandomActor(gym.spaces.Discrete(3))
    a = discrete.act(np.zeros((3000, 4)), np.random.default_rng(0))
    assert a.dtype == np.int64 and set(a.tolist()) == {0, 1, 2}
    assert abs(np.mean(a == 2) - 1 / 3) < 0.03
    box = RandomActor(gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 1.0])))
    b = box.act(np.zeros((4000, 3)), np.random.default_rng(0))
    assert b.shape == (4000, 2) and b.dtype == np.float32
    assert (b[:, 0] >= -2).all() and (b[:, 0] <= 2).all() and (b[:, 1] >= 0).all() and (b[:, 1] <= 1).all()
    assert abs(b[:, 0].mean()) < 0.1 and abs(b[:, 1].mean() - 0.5) < 0.03  # uniform means: 0 and 0.5
    again = RandomActor(gym.spaces.Box(np.array([-2.0, 0.0]), np.array([2.0, 1.0])))
    assert np.array_equal(again.act(np.zeros((4000, 3)), np.random.default_rng(0)), b)


def test_the_script_scores_a_random_policy_and_refuses_a_missing_file():
    run = subprocess.run([sys.executable, EVAL_POLICY, "--policy", "random", "--env", "CartPole-v1", "--n_episodes",
                          "5"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    returns = [float(r) for r in run.stdout.split("returns: ")[1].split("\n")[0].split()]
    assert len(returns) == 5 and all(5 <= r <= 100 for r in returns)  # random CartPole falls within ~10-40 steps
    again = subprocess.run(run.args, capture_output=True, text=True)
    assert again.stdout == run.stdout
    bad = subprocess.run([sys.executable, EVAL_POLICY, "--policy", "nope.pkl", "--env", "CartPole-v1"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
