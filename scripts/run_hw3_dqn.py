"""hw3: deep Q-learning (DQN, double DQN) from the course's YAML configs.

    python scripts/run_hw3_dqn.py -cfg experiments/dqn/cartpole.yaml
    python scripts/run_hw3_dqn.py -cfg experiments/dqn/lunarlander_doubleq.yaml --seed 1 2 3
    tensorboard --logdir data

Flags and defaults are the course's run_hw3_dqn.py: ``--config_file/-cfg``,
``--eval_interval/-ei`` (10000), ``--num_eval_trajectories/-neval`` (10),
``--num_render_trajectories/-nvid`` (0), ``--seed`` (1; several values run one
run each), ``--no_gpu/-ngpu``, ``--which_gpu/-gpu_id/-g``, ``--log_interval`` (1000).
The config file names a base config (``dqn_basic`` or ``dqn_atari``, see
cs285.env_configs.dqn_config.py) and overrides its keys; an unknown key or a bad
value is refused in one line. LunarLander-v2 runs LunarLander-v3 (gymnasium 1.x).

Each run writes ``data/hw3_dqn_<log name>_<dd-mm-YYYY_HH-MM-SS>`` with the course's
keys: ``train_return`` / ``train_ep_len`` per finished episode, every
``--log_interval`` steps ``critic_loss``, ``q_values``, ``target_values``,
``grad_norm``, ``epsilon``, ``lr``, and every ``--eval_interval`` steps
``eval_return``, ``eval_ep_len``, ``eval/{return,ep_len}_{std,max,min}`` of
episodes played ε-greedy with ε = 0.02, as the course's ``get_action`` does.
The step loop is the shared off-policy one (cs285/trainers/off_policy.py):
one env step, one update from ``learning_starts`` on. Re-running a stopped
command resumes it from its checkpoint.
"""
from __future__ import annotations

import argparse

import numpy as np

from cs285.agents.dqn_agent import EVAL_EPSILON, DQNAgent
from cs285.env_configs import dqn_config
from cs285.infrastructure import utils
from cs285.envs.collector import EVAL_SEED_OFFSET, Collector
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import load_experiment
from cs285.infrastructure.frame_replay_buffer import FrameStackReplayBuffer
from cs285.trainers.hw3_cli import add_experiment_args, check_experiment_args, run_experiment
from cs285.infrastructure.replay_buffer import ReplayBuffer
from cs285.trainers.script_util import run_main, run_seeds

LOGDIR_PREFIX = "hw3_dqn_"  # the course's ("keep for autograder")
REPLAY_CAPACITY = 1_000_000  # the course's ReplayBuffer default
CHECKPOINT_MINUTES = 10.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_experiment_args(parser, eval_interval=10000)
    return check_experiment_args(parser.parse_args(argv))


def run(args: argparse.Namespace, seed: int) -> dict[str, float]:
    """One DQN run; returns the last evaluation's scalars."""
    config = load_experiment(args.config_file, dqn_config.BASE_CONFIGS)
    frames = config["base_config"] == "dqn_atari"
    if frames and config["total_steps"] / 2 <= dqn_config.ATARI_SCHEDULE_START:
        raise UserError(f"{args.config_file}: dqn_atari's schedules run from step {dqn_config.ATARI_SCHEDULE_START} "
                        f"to total_steps / 2, so total_steps must exceed {2 * dqn_config.ATARI_SCHEDULE_START}")
    utils.seed_everything(seed)  # before the networks are built: their init is seeded too
    collector = Collector(config["env_name"], seed=seed)
    # eval: whole episodes on every core with a NumPy copy of the MLP; the CNN's torch actor runs here
    eval_collector = Collector(config["env_name"], seed=seed + EVAL_SEED_OFFSET, env_procs=1 if frames else None)
    if not collector.discrete:
        collector.close()
        eval_collector.close()
        raise UserError(f"DQN needs discrete actions; {config['env_name']} has continuous ones")
    ob_space = collector.observation_space
    capacity = min(REPLAY_CAPACITY, config["total_steps"])  # the same buffer: it never wraps sooner
    buffer = FrameStackReplayBuffer(capacity, ob_space.shape) if frames else \
        ReplayBuffer(capacity, ob_space.shape, (), observation_dtype=ob_space.dtype, action_dtype=np.int64)
    agent = DQNAgent(ob_space.shape, int(collector.action_space.n), **dqn_config.agent_kwargs(config))
    epsilon = dqn_config.exploration_schedule(config)
    explorer = agent.actor(1.0)  # follows the network; its ε is set each step

    def explore(step: int):
        explorer.epsilon = epsilon(step)
        return explorer

    return run_experiment(
        args, seed, prefix=LOGDIR_PREFIX, log_name=dqn_config.log_name(config), config=config, collector=collector,
        eval_collector=eval_collector, checkpoint_minutes=CHECKPOINT_MINUTES, agent=agent, buffer=buffer,
        explore=explore, eval_actor=lambda: agent.actor(EVAL_EPSILON, frozen=not frames),
        learning_starts=config["learning_starts"], extra_logs=lambda step: {"epsilon": epsilon(step)})

if __name__ == "__main__":
    run_main(lambda: run_seeds(parse_args, run))
