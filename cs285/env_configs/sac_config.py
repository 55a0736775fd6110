"""The ``sac`` base config of hw3's YAML experiments (``experiments/sac/*.yaml``) and what it builds.

Keys and defaults are the course's (hw3/cs285/env_configs/sac_config.py); a YAML file sets any of
them and ``experiment_config.load_experiment(path, BASE_CONFIGS)`` checks each one.
Where this project differs from the course, on purpose:
- the actor optimizer gets ``actor_learning_rate`` and the critic's ``critic_learning_rate``
  (the course hands them over crossed; every shipped YAML leaves both at 3e-4, so no run changes);
- ``actor_fixed_std`` is the std used (the course's MLPPolicy uses 0.1 whatever the value; no
  shipped YAML sets it);
- the course's ``RescaleAction(-1, 1)`` + ``ClipAction`` wrappers happen inside the agent
  (``SACAgent(rescale_actions=True)``), as the collector steps unwrapped envs.

hw4's SAC (MBPO's actor, ``--sac_config_file`` beside an ``mpc`` config) is a second base config,
``sac_hw4`` in ``HW4_BASE_CONFIGS``: the course's hw4/cs285/env_configs/sac_config.py, whose YAML says
``base_config: sac`` but whose keys are not hw3's. It has no env, exp_name or step schedule of its
own (the ``mpc`` config's env and iterations drive it); it adds ``num_agent_train_steps_per_iter``
(SAC updates per model-based iteration) and ``mbpo_rollout_length`` (steps of each model rollout,
0: SAC learns from real transitions only); its ``batch_size`` is 256; every other key and default
equals hw3's. A separate mapping keeps ``run_hw3_sac.py`` refusing a hw4 file in one line.
"""
from __future__ import annotations

from typing import Any

from cs285.agents.sac_agent import ACTOR_GRADIENT_TYPES, BACKUP_TYPES
from cs285.infrastructure.errors import UserError
from cs285.trainers.experiment_config import (AT_LEAST_ONE, FRACTION, NON_NEGATIVE, POSITIVE, RATE, Param,
                                              load_experiment, param, required)

SAC_CONFIG: dict[str, Param] = {
    "env_name": required(str),
    "exp_name": param(None, str),
    "hidden_size": param(128, within=AT_LEAST_ONE),
    "num_layers": param(3, within=AT_LEAST_ONE),
    "actor_learning_rate": param(3e-4, within=POSITIVE),
    "critic_learning_rate": param(3e-4, within=POSITIVE),
    "total_steps": param(300000, within=AT_LEAST_ONE),
    "random_steps": param(5000, within=NON_NEGATIVE),  # uniform random actions before the policy acts
    "training_starts": param(10000, within=NON_NEGATIVE),  # env steps before the first update
    "batch_size": param(128, within=AT_LEAST_ONE),
    "replay_buffer_capacity": param(1000000, within=AT_LEAST_ONE),
    "ep_len": param(None, int, within=AT_LEAST_ONE),  # None: the env's own time limit
    "discount": param(0.99, within=FRACTION),
    "use_soft_target_update": param(False),
    "target_update_period": param(None, int, within=AT_LEAST_ONE),  # hard updates (use_soft_target_update false)
    "soft_target_update_rate": param(None, float, within=RATE),  # tau of soft updates
    "actor_gradient_type": param("reinforce", choices=ACTOR_GRADIENT_TYPES),
    "num_actor_samples": param(1, within=AT_LEAST_ONE),
    "num_critic_updates": param(1, within=AT_LEAST_ONE),
    "num_critic_networks": param(1, within=AT_LEAST_ONE),
    "target_critic_backup_type": param("mean", choices=BACKUP_TYPES),
    "backup_entropy": param(True),
    "use_entropy_bonus": param(True),
    "temperature": param(0.1, within=NON_NEGATIVE),
    "actor_fixed_std": param(None, float, within=POSITIVE),
    "use_tanh": param(True),
}
BASE_CONFIGS = {"sac": SAC_CONFIG}
# hw4's keys and defaults are hw3's for these (hidden_size ... use_tanh in the course's order)
HW4_SHARED_KEYS = ("hidden_size", "num_layers", "actor_learning_rate", "critic_learning_rate", "discount",
                   "use_soft_target_update", "target_update_period", "soft_target_update_rate", "actor_gradient_type",
                   "num_actor_samples", "num_critic_updates", "num_critic_networks", "target_critic_backup_type",
                   "backup_entropy", "use_entropy_bonus", "temperature", "actor_fixed_std", "use_tanh")
SAC_HW4_CONFIG: dict[str, Param] = {
    "num_agent_train_steps_per_iter": param(1000, within=AT_LEAST_ONE),  # SAC updates per model-based iteration
    "batch_size": param(256, within=AT_LEAST_ONE),
    "replay_buffer_capacity": param(1000000, within=AT_LEAST_ONE),
    "mbpo_rollout_length": param(1, within=NON_NEGATIVE),  # 0: no model rollouts (plain SAC on real data)
    **{key: SAC_CONFIG[key] for key in HW4_SHARED_KEYS},
}
HW4_BASE_CONFIGS = {"sac_hw4": SAC_HW4_CONFIG}
# the config keys SACAgent takes as keywords of the same name
SAME_NAME_KEYS = ("discount", "actor_learning_rate", "critic_learning_rate", "temperature", "use_entropy_bonus",
                  "backup_entropy", "num_critic_networks", "target_critic_backup_type", "actor_gradient_type",
                  "num_actor_samples", "num_critic_updates", "actor_fixed_std", "use_tanh")


def check_sac_config(config: dict[str, Any], where: str) -> dict[str, Any]:
    """What ``load_experiment`` cannot see key by key: keys that go together (UserError). Each key's own
    range is in ``SAC_CONFIG`` and checked by ``load_experiment``."""
    if config["use_soft_target_update"]:
        if config["soft_target_update_rate"] is None:
            raise UserError(f"{where}: use_soft_target_update needs soft_target_update_rate in (0, 1] "
                            f"(got {config['soft_target_update_rate']})")
    elif config["target_update_period"] is None:
        raise UserError(f"{where}: hard target updates (use_soft_target_update false) need target_update_period "
                        f">= 1 (got {config['target_update_period']}); or set use_soft_target_update: true")
    if config["num_actor_samples"] != 1 and config["actor_gradient_type"] == "reparametrize":
        raise UserError(f"{where}: num_actor_samples is for actor_gradient_type reinforce; "
                        f"reparametrize uses one sample per state (got {config['num_actor_samples']})")
    if config["target_critic_backup_type"] == "doubleq" and config["num_critic_networks"] != 2:
        raise UserError(f"{where}: target_critic_backup_type doubleq needs num_critic_networks: 2 "
                        f"(got {config['num_critic_networks']})")
    return config


def load_hw4_sac_config(path: str) -> dict[str, Any]:
    """MBPO's ``--sac_config_file``, read as ``sac_hw4``: the course's hw4 files say ``base_config: sac``, so
    that name is taken too. A hw3 SAC file (it has an env, a step schedule) is refused naming hw4's."""
    try:
        config = load_experiment(path, {"sac": SAC_HW4_CONFIG, "sac_hw4": SAC_HW4_CONFIG})
    except UserError as error:
        try:
            load_experiment(path, BASE_CONFIGS)
        except UserError:
            raise error from None
        raise UserError(f"{path} is a hw3 SAC config (env_name, total_steps, ...); --sac_config_file takes hw4's, "
                        f"whose env and iterations come from the -cfg file: e.g. "
                        f"experiments/sac/halfcheetah_clipq_hw4.yaml "
                        f"(the course's hw4/experiments/sac/halfcheetah_clipq.yaml)") from None
    return check_sac_config(config, path)


def log_name(config: dict[str, Any]) -> str:
    """The course's hw3 run name (its ``log_string``; ``sac_hw4`` has none, an MBPO run is named by
    its ``mpc`` config), e.g.
    ``sanity_pendulum_Pendulum-v1_reinforce_s128_l3_alr0.0003_clr0.0003_b128_d0.99_t0.1_htu1000``."""
    name = (f"{config['exp_name'] or 'offpolicy_ac'}_{config['env_name']}_{config['actor_gradient_type']}"
            f"_s{config['hidden_size']}_l{config['num_layers']}_alr{config['actor_learning_rate']}"
            f"_clr{config['critic_learning_rate']}_b{config['batch_size']}_d{config['discount']}")
    if config["use_entropy_bonus"]:
        name += f"_t{config['temperature']}"
    if config["use_soft_target_update"]:
        name += f"_stu{config['soft_target_update_rate']}"
    else:
        name += f"_htu{config['target_update_period']}"
    if config["target_critic_backup_type"] != "mean":
        name += f"_{config['target_critic_backup_type']}"
    return name


def agent_kwargs(config: dict[str, Any]) -> dict[str, Any]:
    """``SACAgent`` keywords (beyond ob_dim, ac_dim and the action bounds) for a checked config (``sac`` or
    ``sac_hw4``; ``check_sac_config`` checks both):
    the course's networks (tanh MLPs, softplus std), fixed temperature, mean-of-critics actor Q
    (the course: "our best guess of the Q-values is the mean of the ensemble"), actions in [-1, 1]."""
    soft = config["use_soft_target_update"]
    return dict({key: config[key] for key in SAME_NAME_KEYS}, hidden_size=config["hidden_size"],
                n_layers=config["num_layers"], target_tau=config["soft_target_update_rate"] if soft else None,
                target_update_period=None if soft else config["target_update_period"], activation="tanh",
                actor_q_reduction="mean", std_transform="softplus", rescale_actions=True)
