"""hw5's base configs (``base_config: dqn | rnd | random | cql | awac | iql`` in experiments/{exploration,
offline,finetuning}/*.yaml) and what they build.

Keys and defaults are the course's (hw5/cs285/env_configs/*.py): ``dqn`` is its ``basic_dqn_config``
(hw5's, not hw3's: discount 0.95, target_update_period 300, double Q on, 1M total_steps), and ``rnd``,
``cql``, ``awac`` build on it with total_steps 50000; ``iql`` on ``awac`` with Q's (and V's) learning
rate 3e-4; ``random`` has no agent keys. The course's config functions pass any other key through to
the scripts; the keys its scripts read are taken here and every other one is refused:
    dataset_name   the replay buffer's file: written by an exploration run, read by offline and fine-tuning runs
    training_steps offline updates (run_hw5_offline)
    offline_steps  fine-tuning's offline updates before online steps begin, out of total_steps (run_hw5_finetune)
    use_reward     the exploration and fine-tuning loops multiply the env's reward by 0 unless this is
                   true (the course reads it from the config; its ``--use_reward`` flag is never read)
Where this project differs from the course, on purpose:
- ``awac`` and ``iql`` refuse ``use_double_q`` (their targets average over π or read V; the course's
  default True is silently unused there); no shipped file sets it;
- a key's value is checked against its range (experiment_config.Range), and ``offline_steps`` may not
  exceed ``total_steps``.
The course explores with ε-greedy at a constant ε = 0.3 (its ``ConstantSchedule(0.3)``) for every DQN
config, the random agent at random, and evaluates greedily (its hw5 ``get_action`` defaults to ε = 0).
"""
from __future__ import annotations

from typing import Any, Mapping, Optional, Sequence

from cs285.agents.awac_agent import AWACAgent
from cs285.agents.cql_agent import CQLAgent
from cs285.agents.dqn_agent import DQNAgent
from cs285.agents.iql_agent import IQLAgent
from cs285.agents.random_agent import RandomAgent
from cs285.agents.rnd_agent import RNDAgent
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import (AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, Param, Range, param,
                                              required)

EXPLORATION_EPSILON = 0.3  # the course's ConstantSchedule(0.3) of every DQN config
EVAL_EPSILON = 0.0  # the course's hw5 DQNAgent.get_action(observation, epsilon=0.0)
OPEN_FRACTION = Range(0, 1, low_open=True, high_open=True)  # expectiles

# the keys the course's scripts read from a config, beside the agent's (module docstring)
SCRIPT_KEYS: dict[str, Param] = {
    "dataset_name": param(None, str),
    "training_steps": param(None, int, within=AT_LEAST_ONE),
    "offline_steps": param(None, int, within=NON_NEGATIVE),
    "use_reward": param(False),
}


def _dqn_keys(total_steps: int, learning_rate: float = 1e-3, double_q: bool = True) -> dict[str, Param]:
    """The course's hw5 ``basic_dqn_config`` keys (with ``use_double_q`` only where the agent reads it)."""
    keys = {
        "env_name": required(str),
        "exp_name": param(None, str),
        "hidden_size": param(64, within=AT_LEAST_ONE),
        "num_layers": param(2, within=AT_LEAST_ONE),
        "learning_rate": param(learning_rate, within=POSITIVE),
        "total_steps": param(total_steps, within=AT_LEAST_ONE),
        "discount": param(0.95, within=FRACTION),
        "target_update_period": param(300, within=AT_LEAST_ONE),
        "clip_grad_norm": param(None, float, within=POSITIVE),
        "use_double_q": param(True),
        "batch_size": param(128, within=AT_LEAST_ONE),
        **SCRIPT_KEYS,
    }
    if not double_q:
        del keys["use_double_q"]
    return keys


AWAC_ACTOR_KEYS: dict[str, Param] = {
    "temperature": param(1.0, within=POSITIVE),  # λ of exp(A / λ)
    "actor_hidden_size": param(128, within=AT_LEAST_ONE),
    "actor_num_layers": param(2, within=AT_LEAST_ONE),
    "actor_learning_rate": param(3e-4, within=POSITIVE),
}

HW5_BASE_CONFIGS: dict[str, dict[str, Param]] = {
    "dqn": _dqn_keys(1_000_000),
    "random": {
        "env_name": required(str),
        "exp_name": param(None, str),
        "dataset_name": param(None, str),
        "total_steps": Param(None, int, within=AT_LEAST_ONE),  # required: the course's function has no default
    },
    "rnd": {
        **_dqn_keys(50_000),
        "rnd_weight": Param(None, float, within=NON_NEGATIVE),  # required
        "rnd_dim": param(5, within=AT_LEAST_ONE),
        "rnd_network_hidden_size": param(400, within=AT_LEAST_ONE),
        "rnd_network_num_layers": param(2, within=AT_LEAST_ONE),
        "rnd_network_learning_rate": param(1e-3, within=POSITIVE),
    },
    "cql": {
        **_dqn_keys(50_000),
        "cql_alpha": param(1.0, within=NON_NEGATIVE),
        "cql_temperature": param(1.0, within=POSITIVE),
    },
    "awac": {**_dqn_keys(50_000, double_q=False), **AWAC_ACTOR_KEYS},
    "iql": {
        **_dqn_keys(50_000, learning_rate=3e-4, double_q=False),
        **AWAC_ACTOR_KEYS,
        "expectile": param(0.9, within=OPEN_FRACTION),
    },
}

AGENTS = {"dqn": DQNAgent, "random": RandomAgent, "rnd": RNDAgent, "cql": CQLAgent, "awac": AWACAgent,
          "iql": IQLAgent}
# config key -> agent keyword, for the keys each agent takes beyond the observation shape and action count
DQN_KWARGS = {key: key for key in ("hidden_size", "num_layers", "learning_rate", "discount", "target_update_period",
                                   "clip_grad_norm", "use_double_q")}
AGENT_KWARGS: dict[str, dict[str, str]] = {
    "dqn": DQN_KWARGS,
    "random": {},
    "rnd": {**DQN_KWARGS, "rnd_weight": "rnd_weight", "rnd_dim": "rnd_dim",
            "rnd_network_hidden_size": "rnd_hidden_size", "rnd_network_num_layers": "rnd_num_layers",
            "rnd_network_learning_rate": "rnd_learning_rate"},
    "cql": {**DQN_KWARGS, "cql_alpha": "cql_alpha", "cql_temperature": "cql_temperature"},
    "awac": {**{k: k for k in DQN_KWARGS if k != "use_double_q"}, **{k: k for k in AWAC_ACTOR_KEYS}},
    "iql": {**{k: k for k in DQN_KWARGS if k != "use_double_q"}, **{k: k for k in AWAC_ACTOR_KEYS},
            "expectile": "expectile"},
}


def check_hw5_config(config: dict[str, Any], where: str) -> dict[str, Any]:
    """What ``load_experiment`` cannot see key by key (UserError): offline_steps within total_steps."""
    offline = config.get("offline_steps")
    if offline is not None and offline > config["total_steps"]:
        raise UserError(f"{where}: offline_steps ({offline}) must be at most total_steps ({config['total_steps']}); "
                        f"the online phase is total_steps - offline_steps")
    return config


def build_agent(config: Mapping[str, Any], observation_shape: Sequence[int], num_actions: int):
    """The agent of a loaded config, as the course's scripts build it: ``AGENTS[base_config](shape, n, **kwargs)``."""
    name = config["base_config"]
    kwargs = {keyword: config[key] for key, keyword in AGENT_KWARGS[name].items()}
    return AGENTS[name](observation_shape, num_actions, **kwargs)


def exploration_epsilon(config: Mapping[str, Any]) -> Optional[float]:
    """ε of the exploring actor, constant over the run; None for the random agent (no ε)."""
    return None if config["base_config"] == "random" else EXPLORATION_EPSILON


def log_name(config: Mapping[str, Any]) -> str:
    """The course's run name (the log dir is data/hw5_{explore,offline,finetune}_<this>_<time>), e.g.
    ``PointmassHard-v0_iql0.99_temp10.0``."""
    c, name = config, config["base_config"]
    if name == "dqn":
        base = f"{c['exp_name'] or 'dqn'}_{c['env_name']}_s{c['hidden_size']}_l{c['num_layers']}_d{c['discount']}"
        return base + ("_doubleq" if c["use_double_q"] else "")
    suffix = {"random": "random", "rnd": f"rnd{c.get('rnd_weight')}", "cql": f"cql{c.get('cql_alpha')}",
              "awac": f"awac{c.get('temperature')}", "iql": f"iql{c.get('expectile')}_temp{c.get('temperature')}"}
    return f"{c['env_name']}_{suffix[name]}"
