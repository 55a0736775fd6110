"""hw4's ``mpc`` base config (``base_config: mpc`` in experiments/mpc/*.yaml) and what it builds.

Keys and defaults are the course's ``mpc_config`` (hw4/cs285/env_configs/mpc_config.py):
an ensemble of ``ensemble_size`` dynamics MLPs (tanh, ``num_layers`` × ``hidden_size``, Adam at
``learning_rate``) fitted to (s, a) -> s' - s, and a planner that scores
``mpc_num_action_sequences`` action sequences of ``mpc_horizon`` steps under the models
(``random``: uniform sequences, best first action; ``cem``: ``cem_num_iters`` rounds refitting a
Gaussian to the ``cem_num_elites`` best, mean and std moved by ``cem_alpha``).
Iteration 0 collects ``initial_batch_size`` random-policy steps, later ones ``batch_size``
steps with the planner; each iteration takes ``num_agent_train_steps_per_iter`` steps of
``train_batch_size`` per model.

Course facts kept here:
- ``ep_len`` is not a key: the course fixes it from ``env_name`` (``EP_LENS``), and has none for
  any other env, so ``env_name`` is one of the three hw4 envs (the planner needs their ``get_reward``).
- ``exp_name`` has no default (the course's function requires it).
- the cem keys default to None; ``mpc_strategy: cem`` needs all three (the course would fail in
  ``range(None)``). With ``random`` the course ignores them silently; here setting one is refused
  (STYLE 2.7: a flag nobody reads is refused).
- the run dir has no homework prefix: ``data/<log_name>_<dd-mm-YYYY_HH-MM-SS>``.
"""
from __future__ import annotations

from typing import Any, Mapping

from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import AT_LEAST_ONE, NON_NEGATIVE, POSITIVE, RATE, Param, param, required

# the course's hard-coded episode lengths (its registered limits are 1000 / 500 / 500 steps)
EP_LENS = {"cheetah-cs285-v0": 500, "obstacles-cs285-v0": 100, "reacher-cs285-v0": 200}
MPC_STRATEGIES = ("random", "cem")
CEM_KEYS = ("cem_num_iters", "cem_num_elites", "cem_alpha")

MPC_CONFIG: dict[str, Param] = {
    "env_name": Param(None, str, choices=tuple(EP_LENS)),  # required
    "exp_name": required(str),
    "hidden_size": param(128, within=AT_LEAST_ONE),
    "num_layers": param(3, within=AT_LEAST_ONE),
    "learning_rate": param(1e-3, within=POSITIVE),
    "ensemble_size": param(3, within=AT_LEAST_ONE),
    "mpc_horizon": param(10, within=AT_LEAST_ONE),
    "mpc_strategy": param("random", choices=MPC_STRATEGIES),
    "mpc_num_action_sequences": param(1000, within=AT_LEAST_ONE),
    "cem_num_iters": param(None, int, within=AT_LEAST_ONE),
    "cem_num_elites": param(None, int, within=AT_LEAST_ONE),
    "cem_alpha": param(None, float, within=RATE),  # new = alpha * elite stats + (1 - alpha) * old; 0 never moves
    "initial_batch_size": param(20000, within=AT_LEAST_ONE),  # random-policy env steps in iteration 0
    "batch_size": param(8000, within=AT_LEAST_ONE),  # planner env steps in each later iteration
    "train_batch_size": param(512, within=AT_LEAST_ONE),  # transitions per model per training step
    "num_iters": param(20, within=AT_LEAST_ONE),
    "replay_buffer_capacity": param(1000000, within=AT_LEAST_ONE),
    "num_agent_train_steps_per_iter": param(20, within=AT_LEAST_ONE),
    "num_eval_trajectories": param(10, within=NON_NEGATIVE),  # 0: no evaluation (halfcheetah_0_iter)
}
BASE_CONFIGS = {"mpc": MPC_CONFIG}
# the config keys the model-based agent takes as keywords of the same name (the course's agent_kwargs)
SAME_NAME_KEYS = ("ensemble_size", "mpc_horizon", "mpc_strategy", "mpc_num_action_sequences", *CEM_KEYS)


def check_mpc_config(config: dict[str, Any], where: str) -> dict[str, Any]:
    """What ``load_experiment`` cannot see key by key: keys that go together (UserError, one line)."""
    if config["mpc_strategy"] == "cem":
        missing = [key for key in CEM_KEYS if config[key] is None]
        if missing:
            raise UserError(f"{where}: mpc_strategy cem needs {', '.join(missing)} "
                            f"(cem_num_iters >= 1, cem_num_elites >= 1, cem_alpha in (0, 1])")
        if config["cem_num_elites"] > config["mpc_num_action_sequences"]:
            raise UserError(f"{where}: cem_num_elites must be <= mpc_num_action_sequences "
                            f"({config['mpc_num_action_sequences']}) (got {config['cem_num_elites']})")
    else:
        extra = [key for key in CEM_KEYS if config[key] is not None]
        if extra:
            raise UserError(f"{where}: {', '.join(extra)} is only read with mpc_strategy cem "
                            f"(got mpc_strategy {config['mpc_strategy']}); remove it or set mpc_strategy: cem")
    return config


def ep_len(config: Mapping[str, Any]) -> int:
    """The course's episode length for the config's env (collection and evaluation)."""
    return EP_LENS[config["env_name"]]


def log_name(config: Mapping[str, Any]) -> str:
    """The course's run name (its ``log_string``; the run dir adds ``_<dd-mm-YYYY_HH-MM-SS>``), e.g.
    ``cheetah-cs285-v0_cheetah_cem_l2_h250_mpccem_horizon15_actionseq1000_cem_iters4``."""
    c = config
    name = (f"{c['env_name']}_{c['exp_name']}_l{c['num_layers']}_h{c['hidden_size']}_mpc{c['mpc_strategy']}"
            f"_horizon{c['mpc_horizon']}_actionseq{c['mpc_num_action_sequences']}")
    return name + (f"_cem_iters{c['cem_num_iters']}" if c["mpc_strategy"] == "cem" else "")


def agent_kwargs(config: Mapping[str, Any]) -> dict[str, Any]:
    """``ModelBasedAgent``'s keywords beyond the env's (dims, action bounds, ``get_reward``) for a checked
    config: the course's ``agent_kwargs`` with its two factories spelled as values: each dynamics model a
    tanh MLP (ob_dim + ac_dim) -> ob_dim with ``num_layers`` hidden layers of ``hidden_size`` (the agent's
    EnsembleMLP is tanh only), one Adam over the whole ensemble at ``learning_rate``."""
    return dict({key: config[key] for key in SAME_NAME_KEYS}, hidden_size=config["hidden_size"],
                num_layers=config["num_layers"], learning_rate=config["learning_rate"])
