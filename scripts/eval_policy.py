"""Evaluate a saved policy: mean ± std return of deterministic episodes, seeds 0..n-1.

    python scripts/eval_policy.py --policy experts/Hopper.pkl --env Hopper-v4 --n_episodes 10 [--video out.mp4]
    python scripts/eval_policy.py --policy random --env MsPacmanNoFrameskip-v0 --n_episodes 30

Reads shipped experts, course-schema expert pickles and ``--save_params``
checkpoints (policy_itr_*.pt); ``random`` plays uniform random actions (from a
stream seeded 0), the floor a learning curve should rise above. Episode
i starts from ``env.reset(seed=i)``.
"""
from __future__ import annotations

import argparse

import torch

from cs285.infrastructure import utils
from cs285.envs.make import RandomActor, VecEnv
from cs285.trainers.script_util import run_main
from cs285.envs.video import save_policy_video
from cs285.policies.load import load_policy


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--policy", required=True, help="expert .pkl, policy_itr_*.pt, or random")
    p.add_argument("--env", "--env_name", dest="env_name", required=True)
    p.add_argument("--n_episodes", type=int, default=10)
    p.add_argument("--ep_len", type=int, help="max episode length (default: the env's limit)")
    p.add_argument("--video", help="also record the first episode to this .mp4 (or a small .gif)")
    args = p.parse_args()
    torch.set_num_threads(1)
    # One env per episode, env i seeded with i: episode i is the same whatever n is.
    env = VecEnv(args.env_name, args.n_episodes, seed=0, ep_len=args.ep_len)
    if args.policy == "random":
        policy, what = RandomActor(env.action_space), f"uniform random actions of {env.action_space}"
    else:
        policy, what = load_policy(args.policy)
    # a policy acts deterministically; random actions draw from a stream seeded 0
    sampling = {"seed": 0} if args.policy == "random" else {"deterministic": True}
    paths = utils.sample_n_trajectories(env, policy, args.n_episodes, **sampling)
    stats = utils.episode_statistics(paths)
    print(f"{args.policy}: {what}")
    print(f"returns: {' '.join(f'{r:.1f}' for r in utils.path_returns(paths))}")
    print(f"{args.env_name}: {stats['return']['mean']:.1f} ± {stats['return']['std']:.1f} over {args.n_episodes} "
          f"episodes (seeds 0..{args.n_episodes - 1}), mean length {stats['ep_len']['mean']:.0f}")
    if args.video:
        save_policy_video(args.env_name, policy, args.video, seed=0, ep_len=args.ep_len)
        print(f"video: {args.video}")


if __name__ == "__main__":
    run_main(main)
