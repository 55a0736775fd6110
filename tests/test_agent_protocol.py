"""Every agent is an ``Agent`` (agents/protocol.py), and its ``state_dict`` is complete.

For each agent, in each variant whose state differs: two updates on a fixed
batch, ``state_dict`` through a checkpoint file (weights-only load), a fresh
agent built under another torch seed loads it, and then the original's next
update and the fresh agent's, from the same torch and NumPy RNG state, must log
the same numbers and leave every public attribute of the two agents equal:
modules, optimizers, tensors, arrays, counters. Whatever ``state_dict`` leaves out
(a target network, a counter) shows up there as a difference.
"""
import inspect
from typing import Any, Callable

import numpy as np
import pytest
import torch
from torch import nn

from cs285.agents.ac_agent import ActorCriticAgent
from cs285.agents.awac_agent import AWACAgent
from cs285.agents.bc_agent import BCAgent
from cs285.agents.cql_agent import CQLAgent
from cs285.agents.dqn_agent import DQNAgent
from cs285.agents.iql_agent import IQLAgent
from cs285.agents.is_pg_agent import ISPGAgent
from cs285.agents.npg_trpo_agent import NaturalPGAgent
from cs285.agents.pg_agent import PGAgent
from cs285.agents.ppo_agent import PPOAgent
from cs285.agents.protocol import Agent
from cs285.agents.random_agent import RandomAgent
from cs285.agents.rnd_agent import RNDAgent
from cs285.agents.sac_agent import SACAgent
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch

OB, AC, N = 3, 2, 24
WARMUP_STEPS, NEXT_STEP = (1, 2), 3  # targets with period 2 are copied at step 2, then read at step 3


def on_policy_batch(discrete: bool) -> Batch:
    """Three episodes of 8 steps: a termination, a time limit and a segment cut."""
    rng = np.random.default_rng(0)
    terminated, truncated = np.zeros(N, bool), np.zeros(N, bool)
    terminated[7], truncated[[15, 23]] = True, True
    actions = rng.integers(0, AC, N) if discrete else rng.normal(size=(N, AC)).astype(np.float32)
    return Batch(rng.normal(size=(N, OB)).astype(np.float32), actions, rng.normal(size=N),
                 rng.normal(size=(N, OB)).astype(np.float32), terminated, truncated)


def replay_batch(actions: np.ndarray, ob_shape: tuple = (OB,), frames: bool = False) -> Batch:
    """len(actions) transitions as a replay buffer samples them; one of them terminated."""
    rng = np.random.default_rng(1)
    n = len(actions)
    obs = (rng.integers(0, 256, (2, n, *ob_shape), dtype=np.uint8) if frames
           else rng.normal(size=(2, n, *ob_shape)).astype(np.float32))
    terminated = np.zeros(n, bool)
    terminated[1] = True
    return Batch(obs[0], actions, rng.normal(size=n), obs[1], terminated, np.zeros(n, bool))


DISCRETE, CONTINUOUS = on_policy_batch(True), on_policy_batch(False)
Q_BATCH = replay_batch(np.random.default_rng(2).integers(0, AC, N))
SAC_BATCH = replay_batch(np.random.default_rng(3).uniform(-2, 2, (N, AC)).astype(np.float32))
FRAMES_BATCH = replay_batch(np.array([0, 1, 1, 0]), (4, 84, 84), frames=True)


def pg(cls=PGAgent, discrete=False, **kw) -> Callable[[], Any]:
    return lambda: cls(OB, AC, discrete, 1, 8, 1e-2, discount=0.9, **kw)


def sac(**kw) -> Callable[[], Any]:
    return lambda: SACAgent(OB, AC, np.full(AC, -2.0), np.full(AC, 2.0), hidden_size=8, **kw)


def dqn(cls=DQNAgent, **kw) -> Callable[[], Any]:
    return lambda: cls((OB,), AC, hidden_size=8, target_update_period=2, **kw)


CASES: dict[str, tuple[Callable[[], Any], Batch]] = {
    "pg": (pg(), CONTINUOUS),
    "pg_rtg_baseline": (pg(use_reward_to_go=True, use_baseline=True), CONTINUOUS),
    "pg_gae_normalized": (pg(discrete=True, use_reward_to_go=True, use_baseline=True, gae_lambda=0.9,
                             normalize_advantages=True, normalize_obs=True, normalize_rewards=True), DISCRETE),
    "is_pg": (pg(ISPGAgent, use_baseline=True, n_policy_steps=3, is_clip=2.0), CONTINUOUS),
    "npg": (pg(NaturalPGAgent, use_baseline=True, trust_region=False), CONTINUOUS),
    "trpo": (pg(NaturalPGAgent, discrete=True, use_baseline=True, normalize_obs=True, trust_region=True), DISCRETE),
    "ppo": (pg(PPOAgent, normalize_obs=True, normalize_rewards=True, ppo_epochs=2, ppo_minibatch_size=8,
               target_kl=10.0), CONTINUOUS),
    "ppo_two_step_sizes": (pg(PPOAgent, discrete=True, baseline_learning_rate=3e-3, n_minibatches=2), DISCRETE),
    # 3 critic steps per update, target refreshed every 4: the update after the warm-up starts mid-period
    "actor_critic": (pg(ActorCriticAgent, discrete=True, critic_updates_per_iter=3, target_update_period=4,
                        n_step=2, normalize_obs=True), DISCRETE),
    "dqn": (dqn(), Q_BATCH),
    "double_dqn_clipped_schedule": (dqn(use_double_q=True, clip_grad_norm=0.1, lr_multiplier=lambda n: 1 / (1 + n)),
                                    Q_BATCH),
    "dqn_cnn": (lambda: DQNAgent((4, 84, 84), AC, network="cnn", target_update_period=2, clip_grad_norm=10.0,
                                 use_double_q=True, adam_eps=1e-4), FRAMES_BATCH),
    # hw5: exploration and offline agents on the DQN
    "random": (lambda: RandomAgent((OB,), AC), Q_BATCH),
    "rnd": (dqn(RNDAgent, rnd_weight=0.5, rnd_dim=3, rnd_hidden_size=8, use_double_q=True), Q_BATCH),
    "cql": (dqn(CQLAgent, cql_alpha=0.5, cql_temperature=2.0, use_double_q=True, clip_grad_norm=1.0), Q_BATCH),
    "awac": (dqn(AWACAgent, temperature=2.0, actor_hidden_size=8, learning_rate=3e-3), Q_BATCH),
    "iql": (dqn(IQLAgent, expectile=0.8, temperature=0.5, actor_hidden_size=8, clip_grad_norm=0.5), Q_BATCH),
    "sac_clipped_double_q_auto_alpha": (sac(), SAC_BATCH),
    "sac_fixed_temperature_hard_targets": (sac(temperature=0.1, target_tau=None, target_update_period=2,
                                               num_critic_networks=1, target_critic_backup_type="mean",
                                               rescale_actions=True, std_transform="softplus"), SAC_BATCH),
    "sac_doubleq_reinforce": (sac(target_critic_backup_type="doubleq", actor_gradient_type="reinforce",
                                  num_actor_samples=2, num_critic_updates=2, actor_learning_rate=1e-3), SAC_BATCH),
    "bc_numpy": (lambda: BCAgent(OB, AC, False, 1, 8, 1e-2), CONTINUOUS),
    "bc_torch_discrete": (lambda: BCAgent(OB, AC, True, 1, 8, 1e-2), DISCRETE),
}


def contents(value: Any, seen: set) -> Any:
    """A comparable copy of everything an agent holds: modules and optimizers as state dicts, tensors,
    arrays and plain values as themselves, other objects by their public attributes (the private ones
    are scratch buffers, caches and views of the rest); functions left out."""
    if isinstance(value, (nn.Module, torch.optim.Optimizer)):
        return contents(value.state_dict(), seen)
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if value is None or isinstance(value, (bool, int, float, str, np.generic, torch.device, torch.dtype)):
        return value
    if isinstance(value, dict):
        return {k: contents(v, seen) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [contents(v, seen) for v in value]
    if callable(value) or id(value) in seen:
        return None
    seen.add(id(value))
    return {k: contents(v, seen) for k, v in vars(value).items() if not k.startswith("_")}


def assert_same(a: Any, b: Any, where: str = "agent") -> None:
    assert type(a) is type(b), where
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    else:
        np.testing.assert_equal(a, b, err_msg=where)


def reloaded(agent, make, tmp_path):
    """A fresh agent from ``make()`` under another torch seed, loaded with ``agent``'s state through a checkpoint file."""
    path = str(tmp_path / "agent.pt")
    ptu.save_checkpoint(agent.state_dict(), path)
    torch.manual_seed(1)
    fresh = make()
    fresh.load_state_dict(ptu.load_checkpoint(path))
    return fresh


def seeded_update(agent, batch: Batch, step: int) -> dict[str, float]:
    torch.manual_seed(2)
    np.random.seed(2)
    return agent.update(batch, step)


@pytest.mark.parametrize("name", sorted(CASES))
def test_state_dict_round_trip_gives_the_same_next_update(name, tmp_path):
    make, batch = CASES[name]
    torch.manual_seed(0)
    agent = make()
    assert isinstance(agent, Agent)
    assert list(inspect.signature(agent.update).parameters) == ["batch", "step"]
    for step in WARMUP_STEPS:
        if hasattr(agent, "set_learning_rate_fraction"):  # PPO's schedule, driven by the caller
            agent.set_learning_rate_fraction(1.0 - 0.3 * step)
        seeded_update(agent, batch, step)

    fresh = reloaded(agent, make, tmp_path)

    logs = seeded_update(agent, batch, NEXT_STEP)
    np.testing.assert_equal(seeded_update(fresh, batch, NEXT_STEP), logs)
    assert_same(contents(fresh, set()), contents(agent, set()))
