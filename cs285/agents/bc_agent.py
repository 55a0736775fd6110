"""Behavioral cloning (hw1): maximum likelihood of the expert's actions.

The agent owns the loss and the optimizer; the policy is a plain network.
"""
from __future__ import annotations

import numpy as np
import torch

from cs285.infrastructure import pytorch_util as ptu
from cs285.networks.policies import MLPPolicy


class BCAgent:
    def __init__(self, ob_dim: int, ac_dim: int, discrete: bool, n_layers: int, size: int, learning_rate: float):
        self.policy = MLPPolicy(ac_dim, ob_dim, discrete, n_layers, size)
        self.optimizer = ptu.adam(self.policy.parameters(), learning_rate)

    def update(self, observations: np.ndarray | torch.Tensor, actions: np.ndarray | torch.Tensor) -> dict[str, float]:
        """One gradient step on the negative log-likelihood of the expert actions.

        loss = -(1/B) Σ_i log π_θ(a_i | s_i), observations (B, ob_dim), actions (B, ac_dim).
        For a Gaussian with fixed std this is mean-squared error up to scale and a
        constant; learning the std as well lets the policy express how sure it is.
        """
        obs = ptu.from_numpy(observations)
        acts = ptu.from_numpy(actions, dtype=torch.long if self.policy.discrete else torch.float32)
        log_probs, _ = self.policy.log_prob_and_entropy(self.policy.normalize(obs), acts)  # (B,)
        loss = -log_probs.mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"Training Loss": loss.item()}

    def save(self, path: str) -> None:
        """Policy weights plus what is needed to rebuild it (read by scripts/eval_policy.py)."""
        ptu.save_checkpoint({"kind": "MLPPolicy", "config": self.policy.config,
                             "state_dict": self.policy.state_dict()}, path)
