"""Conservative Q-learning (Kumar et al. 2020, arXiv:2006.04779), discrete actions, on hw5's DQN.

DQN's TD loss plus the handout's regularizer, with the course's temperature T = ``cql_temperature``:

    penalty = 1/N Σ_i [ T · log Σ_a exp(Q(s_i, a) / T) − Q(s_i, a_i) ]
    loss    = mean_i (Q(s_i, a_i) − y_i)² + cql_alpha · penalty

The soft maximum T·logsumexp(Q/T) is pushed down and the dataset's action a_i pushed up, so
actions the data never took are not overestimated. T = 1 is the handout's formula; as T -> 0 the
soft maximum becomes max_a Q(s_i, a). ``update`` logs DQN's scalars, critic_loss being the TD
term alone as in the course (its CQL adds the penalty after DQN's metrics are taken).
"""
from __future__ import annotations

from typing import Sequence

import torch

from cs285.agents.dqn_agent import DQNAgent


def cql_penalty(qa_values: torch.Tensor, q_values: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """mean_i [T · logsumexp_a(Q(s_i, a) / T) − Q(s_i, a_i)]: qa_values (N, num_actions), q_values (N,)."""
    return (temperature * torch.logsumexp(qa_values / temperature, dim=-1) - q_values).mean()


class CQLAgent(DQNAgent):
    """DQN whose critic step also minimizes ``cql_alpha · cql_penalty`` (course defaults: α 1, T 1).

    cql_alpha >= 0 (0: plain DQN), cql_temperature > 0; dqn_kwargs: ``DQNAgent``'s.
    """

    def __init__(self, observation_shape: Sequence[int], num_actions: int, *, cql_alpha: float = 1.0,
                 cql_temperature: float = 1.0, **dqn_kwargs):
        if cql_temperature <= 0:
            raise ValueError(f"cql_temperature must be > 0, got {cql_temperature}")
        super().__init__(observation_shape, num_actions, **dqn_kwargs)
        self.cql_alpha, self.cql_temperature = float(cql_alpha), float(cql_temperature)

    def critic_penalty(self, qa_values: torch.Tensor, q_values: torch.Tensor) -> torch.Tensor:
        return self.cql_alpha * cql_penalty(qa_values, q_values, self.cql_temperature)
