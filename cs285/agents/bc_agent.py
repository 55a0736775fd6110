"""Behavioral cloning (hw1): maximum likelihood of the expert's actions.

The agent owns the loss and the optimizer; the policy is a plain network. On
the CPU a continuous policy trains with ``NumpyBCTrainer``: the same loss and
the same Adam update, about 5x cheaper a step than torch for these tiny
networks. CUDA and discrete policies train with torch.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np
import torch

from cs285.agents.numpy_trainer import NumpyBCTrainer
from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.rollouts import Batch
from cs285.networks.policies import MLPPolicy

PROGRESS_EVERY = 100  # train_steps calls its progress callback after every this many steps


class BCAgent:
    def __init__(self, ob_dim: int, ac_dim: int, discrete: bool, n_layers: int, size: int, learning_rate: float):
        self.policy = MLPPolicy(ac_dim, ob_dim, discrete, n_layers, size)
        self.learning_rate = learning_rate
        use_numpy = ptu.device.type == "cpu" and not discrete
        self.numpy_trainer = NumpyBCTrainer(self.policy, learning_rate) if use_numpy else None
        # The torch path's Adam, made on its first step: building one imports torch._dynamo (~1 s).
        self._optimizer: Optional[torch.optim.Optimizer] = None

    def update(self, batch: Batch, step: int) -> dict[str, float]:
        """One gradient step on the negative log-likelihood of the expert actions (``step`` is not used).

        loss = -(1/B) Σ_i log π_θ(a_i | s_i), with s = batch.observations (B, ob_dim) and
        a = batch.actions (B, ac_dim) (or (B,) integers for a discrete policy); the other fields are not read.
        For a Gaussian with fixed std this is mean-squared error up to scale and a
        constant; learning the std as well lets the policy express how sure it is.
        """
        return self.train_steps(batch.observations, batch.actions, np.arange(len(batch.observations))[None])

    def train_steps(self, observations: np.ndarray, actions: np.ndarray, index_batches: np.ndarray,
                    progress: Optional[Callable[[int], None]] = None) -> dict[str, float]:
        """One ``update`` per row of ``index_batches``: on observations[row], actions[row].

        observations (n, ob_dim), actions (n, ac_dim) or (n,), index_batches
        (steps, B) integers in [0, n), steps ≥ 1. ``progress(k)``, if given, is
        called after every ``PROGRESS_EVERY`` steps and after the last, with
        the number k of steps done since its previous call (tqdm's ``update``
        fits). Returns {"Training Loss": the last step's loss}.
        """
        index_batches = np.asarray(index_batches)
        if len(index_batches) == 0:
            raise ValueError("train_steps needs at least one batch of indices")
        if self.numpy_trainer is not None:
            observations, actions = np.asarray(observations, np.float32), np.asarray(actions, np.float32)
        else:
            observations, actions = ptu.from_numpy(observations), self._actions_tensor(actions)
        for start in range(0, len(index_batches), PROGRESS_EVERY):
            chunk = index_batches[start:start + PROGRESS_EVERY]
            if self.numpy_trainer is not None:
                loss = self.numpy_trainer.train_steps(observations, actions, chunk)
            else:
                for idx in ptu.from_numpy(chunk, dtype=torch.long):
                    loss = self._torch_step(observations[idx], actions[idx])
            if progress is not None:
                progress(len(chunk))
        return {"Training Loss": loss}

    def _actions_tensor(self, actions: np.ndarray | torch.Tensor) -> torch.Tensor:
        return ptu.from_numpy(actions, dtype=torch.long if self.policy.discrete else torch.float32)

    def _torch_optimizer(self) -> torch.optim.Optimizer:
        if self._optimizer is None:
            self._optimizer = ptu.adam(self.policy.parameters(), self.learning_rate)
        return self._optimizer

    def _adam(self) -> NumpyBCTrainer | torch.optim.Optimizer:
        """The Adam this agent steps: NumpyBCTrainer's on the CPU for a continuous policy, torch's otherwise."""
        return self.numpy_trainer if self.numpy_trainer is not None else self._torch_optimizer()

    def _torch_step(self, obs: torch.Tensor, actions: torch.Tensor) -> float:
        """``update`` with torch autograd and torch's Adam; returns the loss before the step."""
        optimizer = self._torch_optimizer()
        log_probs, _ = self.policy.log_prob_and_entropy(self.policy.normalize(obs), actions)  # (B,)
        loss = -log_probs.mean()
        ptu.optimizer_step(optimizer, loss)
        return loss.item()

    def state_dict(self) -> dict:
        """The policy's weights and the state of ``_adam`` (the two paths' states are not interchangeable)."""
        return {"policy": self.policy.state_dict(), "optimizer": self._adam().state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["policy"])
        self._adam().load_state_dict(state["optimizer"])

    def save(self, path: str) -> None:
        """The policy's checkpoint (``MLPPolicy.save``), read by scripts/eval_policy.py."""
        self.policy.save(path)
