"""Roll out a shipped expert and save its trajectories in the course's expert-data format.

    python scripts/collect_expert_data.py --env Hopper-v4 --n_traj 2

Writes experts/expert_data_<env>.pkl (list of path dicts: observation, action,
reward, next_observation, terminal, plus terminated/truncated). Actions are
the expert's deterministic (mean) actions; episode i starts from reset(seed=seed+i).
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from cs285.infrastructure import utils
from cs285.envs.make import VecEnv
from cs285.infrastructure.expert_data import save_expert_data
from cs285.trainers.script_util import default_expert_data, default_expert_policy, require_file, run_main
from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--env", "--env_name", dest="env_name", required=True)
    p.add_argument("--n_traj", type=int, default=2)
    p.add_argument("--policy", help="default: experts/<EnvFamily>.pkl")
    p.add_argument("--out", help="default: experts/expert_data_<env>.pkl")
    p.add_argument("--seed", type=int, default=1000, help="episode i starts from reset(seed=seed+i)")
    args = p.parse_args()
    torch.set_num_threads(1)
    policy_path = require_file(args.policy or default_expert_policy(args.env_name), "expert policy", "--policy")
    expert = LoadedGaussianPolicy(policy_path)
    env = VecEnv(args.env_name, args.n_traj, seed=args.seed)
    expert.check_fits(env.observation_space.shape[0], env.action_space.shape[0], args.env_name)
    paths = utils.sample_n_trajectories(env, expert, args.n_traj, deterministic=True)
    out = args.out or default_expert_data(args.env_name)
    save_expert_data(out, paths)
    returns = utils.path_returns(paths)
    print(f"wrote {out}: {len(paths)} trajectories, lengths {[len(p['reward']) for p in paths]}, "
          f"returns {np.round(returns, 1).tolist()} (mean {returns.mean():.1f})")


if __name__ == "__main__":
    run_main(main)
