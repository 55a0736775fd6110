"""hw3 DQN's base configs (``base_config: dqn_basic`` / ``dqn_atari`` in experiments/dqn/*.yaml).

Keys and defaults are the course's ``basic_dqn_config`` and ``atari_dqn_config``
(hw3/cs285/env_configs/); ``experiment_config.load_experiment`` checks a YAML file
against them. From a loaded config this module derives what the course's config
functions returned: the run's log name, the ε schedule, the LR schedule and the
agent's arguments.

    dqn_basic  MLP Q (tanh), Adam (eps 1e-8), constant LR;
               ε: 1 at step 0 -> 0.02 at 10% of total_steps, then 0.02
               this project's two keys on top (defaults: the course's): ``loss: huber`` (the TD
               loss of Mnih et al. 2015 and SB3: squared below 1, absolute above) and
               ``final_learning_rate`` (the LR falls linearly from ``learning_rate`` at the first
               update to it at the last, total_steps - learning_starts updates later)
    dqn_atari  Nature CNN on 4 stacked 84×84 frames, Adam (eps ``adam_eps``);
               LR multiplier: 1 until update 20000 -> 0.5 at total_steps / 2, then 0.5;
               ε: 1 until step 20000 -> 0.01 at total_steps / 2, then 0.01
"""
from __future__ import annotations

from typing import Any, Mapping

from cs285.trainers.experiment_config import AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, Param, param, required
from cs285.infrastructure.schedules import PiecewiseSchedule, constant

LOSSES = ("mse", "huber")  # dqn_basic's ``loss``
BASE_CONFIGS: dict[str, dict[str, Param]] = {
    "dqn_basic": {
        "env_name": required(str),
        "exp_name": param(None, str),
        "hidden_size": param(64, within=AT_LEAST_ONE),
        "num_layers": param(2, within=AT_LEAST_ONE),
        "learning_rate": param(1e-3, within=POSITIVE),
        "total_steps": param(300_000, within=AT_LEAST_ONE),
        "discount": param(0.99, within=FRACTION),
        "target_update_period": param(1000, within=AT_LEAST_ONE),
        "clip_grad_norm": param(None, float, within=POSITIVE),
        "use_double_q": param(False),
        "learning_starts": param(20_000, within=NON_NEGATIVE),
        "batch_size": param(128, within=AT_LEAST_ONE),
        # this project's, not the course's (the course's: mse and a constant rate)
        "loss": param("mse", choices=LOSSES),
        "final_learning_rate": param(None, float, within=POSITIVE),
    },
    "dqn_atari": {
        "env_name": required(str),
        "exp_name": param(None, str),
        "learning_rate": param(1e-4, within=POSITIVE),
        "adam_eps": param(1e-4, within=POSITIVE),
        "total_steps": param(1_000_000, within=AT_LEAST_ONE),
        "discount": param(0.99, within=FRACTION),
        "target_update_period": param(2000, within=AT_LEAST_ONE),
        # Optional[float] = 10.0: null turns the clip off
        "clip_grad_norm": Param(10.0, float, nullable=True, within=POSITIVE),
        "use_double_q": param(False),
        "learning_starts": param(20_000, within=NON_NEGATIVE),
        "batch_size": param(32, within=AT_LEAST_ONE),
    },
}

# the config keys DQNAgent takes as keywords of the same name
SAME_NAME_KEYS = ("hidden_size", "num_layers", "learning_rate", "discount", "target_update_period", "clip_grad_norm",
                  "use_double_q")
ATARI_SCHEDULE_START = 20_000  # the Atari ε and LR stay at their start values this long (steps / updates)


def log_name(config: Mapping[str, Any]) -> str:
    """The course's run name (the log dir is data/hw3_dqn_<this>_<time>)."""
    c = config
    if c["base_config"] == "dqn_basic":
        name = f"{c['exp_name'] or 'dqn'}_{c['env_name']}_s{c['hidden_size']}_l{c['num_layers']}_d{c['discount']}"
        return name + ("_doubleq" if c["use_double_q"] else "")
    name = f"{c['exp_name'] or 'dqn'}_{c['env_name']}_d{c['discount']}_tu{c['target_update_period']}"
    name += f"_lr{c['learning_rate']}" + ("_doubleq" if c["use_double_q"] else "")
    return name + (f"_clip{c['clip_grad_norm']}" if c["clip_grad_norm"] is not None else "")


def exploration_schedule(config: Mapping[str, Any]) -> PiecewiseSchedule:
    """ε as a function of the env step."""
    total = config["total_steps"]
    if config["base_config"] == "dqn_basic":
        return PiecewiseSchedule([(0, 1.0), (total * 0.1, 0.02)], outside_value=0.02)
    return PiecewiseSchedule([(0, 1.0), (ATARI_SCHEDULE_START, 1.0), (total / 2, 0.01)], outside_value=0.01)


def lr_schedule(config: Mapping[str, Any]) -> PiecewiseSchedule:
    """The learning rate's multiplier as a function of the number of updates."""
    if config["base_config"] == "dqn_basic":
        final = config.get("final_learning_rate")
        if final is None:
            return constant(1.0)
        updates = max(config["total_steps"] - config["learning_starts"], 1)
        return PiecewiseSchedule([(0, 1.0), (updates, final / config["learning_rate"])],
                                 outside_value=final / config["learning_rate"])
    return PiecewiseSchedule([(0, 1.0), (ATARI_SCHEDULE_START, 1.0), (config["total_steps"] / 2, 0.5)],
                             outside_value=0.5)


def agent_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """``DQNAgent``'s keyword arguments for this config."""
    atari = config["base_config"] == "dqn_atari"
    same_name = {key: config[key] for key in SAME_NAME_KEYS if key in config}  # dqn_atari has no MLP sizes
    return dict(same_name, network="cnn" if atari else "mlp", adam_eps=config["adam_eps"] if atari else 1e-8,
                lr_multiplier=lr_schedule(config), loss=config.get("loss", "mse"))
