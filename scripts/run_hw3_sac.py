"""hw3 soft actor-critic: the course's ``run_hw3_sac.py`` on this project's collector and off-policy loop.

    python scripts/run_hw3_sac.py -cfg experiments/sac/sanity_pendulum.yaml [--seed 1 2 3]

The YAML names ``base_config: sac`` and sets its keys (cs285/env_configs/sac_config.py: every key,
its default, and where this project differs from the course). At each env step (the course's
2023 loop, cs285/trainers/off_policy.py): uniform random actions for ``random_steps`` steps,
then a sample of the policy; from ``training_starts`` on, one ``SACAgent.update`` per step on a
``batch_size`` batch (``num_critic_updates`` critic steps, one actor step, the target update);
its scalars every ``--log_interval`` steps; every ``--eval_interval`` steps ``-neval`` episodes of
the sampling policy (the course's ``agent.get_action`` samples too). Only ``terminated`` stops a
bootstrap. Logs: ``data/hw3_sac_<log_name>_<dd-mm-YYYY_HH-MM-SS>``; re-running the same command
resumes an unfinished run.
"""
from __future__ import annotations

import argparse

from cs285.agents.sac_agent import SACAgent
from cs285.env_configs.sac_config import BASE_CONFIGS, agent_kwargs, check_sac_config, log_name
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector
from cs285.envs.make import RandomActor
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import load_experiment
from cs285.trainers.hw3_cli import add_experiment_args, check_experiment_args, run_experiment
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.trainers.script_util import run_main, run_seeds
from cs285.infrastructure.utils import seed_everything

LOGDIR_PREFIX = "hw3_sac_"  # the course's (kept for its autograder)
CHECKPOINT_MINUTES = 5.0  # wall-clock minutes between resume checkpoints


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_experiment_args(parser, eval_interval=5000)
    return check_experiment_args(parser.parse_args(argv))


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One run of the config; returns the last evaluation's scalars."""
    config = check_sac_config(load_experiment(args.config_file, BASE_CONFIGS), args.config_file)
    seed_everything(seed)  # before the networks are built: their init is seeded too
    collector = Collector(config["env_name"], seed=seed, ep_len=config["ep_len"])
    # eval: the torch agent in this process (env_procs=1)
    eval_collector = Collector(config["env_name"], env_procs=1, seed=seed + EVAL_SEED_OFFSET, ep_len=config["ep_len"])
    space = collector.action_space
    if collector.discrete or len(space.shape) != 1:
        collector.close()
        eval_collector.close()
        raise UserError(f"{config['env_name']} does not have a continuous (Box) action space; SAC needs one")
    agent = SACAgent(collector.observation_space.shape[0], space.shape[0], space.low, space.high,
                     **agent_kwargs(config))
    buffer = ReplayBuffer(config["replay_buffer_capacity"], collector.observation_space.shape,
                          space.shape)  # np.zeros: pages touched only when filled
    random_actor = RandomActor(space)
    return run_experiment(
        args, seed, prefix=LOGDIR_PREFIX, log_name=log_name(config), config=config, collector=collector,
        eval_collector=eval_collector, checkpoint_minutes=CHECKPOINT_MINUTES, agent=agent, buffer=buffer,
        explore=lambda step: random_actor if step < config["random_steps"] else agent, eval_actor=lambda: agent,
        learning_starts=config["training_starts"])

if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, run))
