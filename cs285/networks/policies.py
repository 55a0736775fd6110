"""Policy networks: observations -> action distributions.

``MLPPolicy`` is the course's policy for every homework: a categorical
distribution over logits for discrete actions, or a diagonal Gaussian with a
state-independent learned log-std for continuous ones. Networks own no loss
and no optimizer: agents do.

With ``normalize_obs`` the policy carries an ``ObsNormalizer``: ``forward``,
``mode`` and ``snapshot`` take raw observations and normalize
them, while ``distribution`` and ``log_prob_and_entropy`` take observations
already normalized (agents normalize a batch once and reuse it). Agents update
the statistics; the policy only applies them.
"""
from __future__ import annotations

import math
from typing import Callable, Optional

import numpy as np
import torch
from torch import distributions, nn

from cs285.infrastructure import pytorch_util as ptu
from cs285.networks.normalization import NumpyObsNormalizer, ObsNormalizer

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def gaussian_log_prob(actions: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log N(a; μ, diag σ²) of each row, σ = exp(log_std), d = ac_dim:

        log π(a|s) = −½ Σ_j ((a_j − μ_j) / σ_j)² − Σ_j log σ_j − d·½ log 2π

    actions (..., d); mean and log_std broadcast to it: (d,) for a state-independent σ
    (MLPPolicy), (..., d) for SAC's. Returns (...).
    """
    z = (actions - mean) * torch.exp(-log_std)
    return -0.5 * z.pow(2).sum(-1) - log_std.sum(-1) - actions.shape[-1] * HALF_LOG_2PI


class MLPPolicy(nn.Module):
    def __init__(self, ac_dim: int, ob_dim: int, discrete: bool, n_layers: int, layer_size: int,
                 normalize_obs: bool = False, init_log_std: float = 0.0, small_output_init: bool = False):
        """init_log_std: the Gaussian's initial log σ (0: σ = 1, the course's choice).
        small_output_init: scale the output layer's initial weights by 0.01, so the initial policy
        is nearly uniform / centred on 0 whatever the observation (Andrychowicz et al. 2021, "What
        matters in on-policy RL", found this among the most helpful choices for PPO)."""
        super().__init__()
        # plain Python types: a Discrete space's n is a NumPy integer, which a weights-only load refuses
        ac_dim, ob_dim, discrete = int(ac_dim), int(ob_dim), bool(discrete)
        self.ac_dim, self.ob_dim, self.discrete = ac_dim, ob_dim, discrete
        self.config = dict(ac_dim=ac_dim, ob_dim=ob_dim, discrete=discrete, n_layers=n_layers, layer_size=layer_size,
                           normalize_obs=normalize_obs)
        self.obs_normalizer: Optional[ObsNormalizer] = ObsNormalizer(ob_dim) if normalize_obs else None
        if discrete:
            self.logits_net = ptu.build_mlp(ob_dim, ac_dim, n_layers, layer_size)
        else:
            self.mean_net = ptu.build_mlp(ob_dim, ac_dim, n_layers, layer_size)
            self.logstd = nn.Parameter(torch.full((ac_dim,), float(init_log_std)))
        if small_output_init:
            with torch.no_grad():
                output = (self.logits_net if discrete else self.mean_net)[-2]  # the last Linear
                output.weight.mul_(0.01)
                output.bias.zero_()
        self.to(ptu.device)

    def normalize(self, obs: torch.Tensor) -> torch.Tensor:
        """Raw obs (batch, ob_dim) -> the network's input (unchanged without ``normalize_obs``)."""
        return obs if self.obs_normalizer is None else self.obs_normalizer(obs)

    def forward(self, obs: torch.Tensor) -> distributions.Distribution:
        """Raw obs (batch, ob_dim) -> a distribution with batch shape (batch,)."""
        return self.distribution(self.normalize(obs))

    def distribution(self, norm_obs: torch.Tensor) -> distributions.Distribution:
        """Normalized obs (batch, ob_dim) -> a distribution with batch shape (batch,)."""
        if self.discrete:
            return distributions.Categorical(logits=self.logits_net(norm_obs), validate_args=False)
        normal = distributions.Normal(self.mean_net(norm_obs), self.logstd.exp(), validate_args=False)
        return distributions.Independent(normal, 1, validate_args=False)

    def log_prob_and_entropy(self, norm_obs: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(log π(a_i | s_i) (batch,), mean_i H[π(·|s_i)] scalar) on normalized obs, without distribution objects.

        For PPO's minibatch loop, where building distributions costs more than
        the arithmetic. Categorical: log_softmax(logits)[a], H = −Σ_a p log p.
        Diagonal Gaussian with std σ = exp(logstd), state-independent: log π(a|s) = gaussian_log_prob,
            H = Σ_j logstd_j + d·½ (1 + log 2π)
        actions: (batch,) long, or (batch, ac_dim) float.
        """
        if self.discrete:
            log_p = torch.log_softmax(self.logits_net(norm_obs), -1)  # (batch, n_actions)
            log_probs = log_p.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
            return log_probs, -(log_p.exp() * log_p).sum(-1).mean()
        log_probs = gaussian_log_prob(actions, self.mean_net(norm_obs), self.logstd)  # (batch,)
        return log_probs, self.logstd.sum() + self.ac_dim * (0.5 + HALF_LOG_2PI)

    def mode(self, obs: torch.Tensor) -> torch.Tensor:
        """The most likely action for raw obs: argmax logits, or the Gaussian mean."""
        obs = self.normalize(obs)
        if self.discrete:
            return self.logits_net(obs).argmax(-1)
        return self.mean_net(obs)

    def save(self, path: str) -> None:
        """Weights, observation statistics and config: the checkpoint ``policies/load.py`` reads."""
        # clone: the weights may be views of a buffer shared with the critic (ppo_agent), which torch.save
        # would store whole
        state = {k: v.clone() for k, v in self.state_dict().items()}
        ptu.save_checkpoint({"kind": "MLPPolicy", "config": self.config, "state_dict": state}, path)

    def snapshot(self) -> "PolicySnapshot":
        """The current weights (and observation statistics) as a picklable, torch-free PolicySnapshot."""
        net = self.logits_net if self.discrete else self.mean_net
        normalizer = None if self.obs_normalizer is None else self.obs_normalizer.numpy_fn()
        std = None if self.discrete else ptu.to_numpy(self.logstd.exp()).astype(np.float64)
        return PolicySnapshot(numpy_mlp(net), normalizer, std)


class PolicySnapshot:
    """An MLPPolicy frozen in NumPy: what a sampler needs, picklable for sampler processes.

    ``act(obs, rng)`` samples actions for raw observations (batch, ob_dim): a
    categorical draw by inverse CDF with one uniform per row, or mean + σ·ε with
    ε ~ N(0, I), all from ``rng``; with ``rng=None`` the most likely action.
    """

    def __init__(self, net: "NumpyMLP", normalizer: Optional[NumpyObsNormalizer], std: Optional[np.ndarray]):
        self.net, self.normalizer, self.std = net, normalizer, std
        self.discrete = std is None

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        out = self.net(obs if self.normalizer is None else self.normalizer(obs))
        if self.discrete:
            if rng is None:
                return out.argmax(-1)
            p = np.exp(out - out.max(-1, keepdims=True))
            p /= p.sum(-1, keepdims=True)
            u = rng.random((len(p), 1))
            return np.minimum((p.cumsum(-1) < u).sum(-1), p.shape[-1] - 1)
        if rng is None:
            return out.astype(np.float32)
        return (out + self.std * rng.standard_normal(out.shape)).astype(np.float32)


def leaky_relu(x: np.ndarray, slope: float) -> np.ndarray:
    return np.where(x > 0, x, slope * x)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


RELU = (np.maximum, 0.0)  # NumpyMLP's relu layer: h ← max(h, 0)
# NumpyMLP's layer for each build_mlp activation module (nn.Identity adds none)
_NUMPY_ACTIVATIONS: dict[type, tuple[Callable, Optional[float]]] = {
    nn.Tanh: (np.tanh, None), nn.ReLU: RELU, nn.Sigmoid: (_sigmoid, None)}


class NumpyMLP:
    """An MLP in NumPy, the project's one NumPy forward pass: (batch, in) -> (batch, out); picklable.

    ``layers`` holds (weight (in, out), bias (out,)) for a linear layer, h ← h @ weight + bias,
    and (function, argument or None) for an activation, h ← function(h[, argument]). It computes
    in the weights' dtype: float32 for ``numpy_mlp`` snapshots of torch networks, float64 for the
    course's expert pickles (policies/loaded_gaussian_policy.py).
    """

    def __init__(self, layers: list[tuple]):
        self.layers = layers
        self.dtype = next(a.dtype for a, _ in layers if isinstance(a, np.ndarray))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        for a, b in self.layers:
            if isinstance(a, np.ndarray):
                x = x @ a + b
            else:
                x = a(x) if b is None else a(x, b)
        return x

    @property
    def affine_layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The linear layers' (weight (in, out), bias (out,)), in order."""
        return [(a, b) for a, b in self.layers if isinstance(a, np.ndarray)]


def numpy_mlp(net: nn.Sequential) -> NumpyMLP:
    """Snapshot a ``build_mlp`` network as a NumpyMLP."""
    layers: list[tuple] = []
    for layer in net:
        if isinstance(layer, nn.Linear):
            layers.append((ptu.to_numpy(layer.weight).T.astype(np.float32),
                           ptu.to_numpy(layer.bias).astype(np.float32)))
        elif isinstance(layer, nn.LeakyReLU):
            layers.append((leaky_relu, layer.negative_slope))
        elif type(layer) in _NUMPY_ACTIVATIONS:
            layers.append(_NUMPY_ACTIVATIONS[type(layer)])
        elif not isinstance(layer, nn.Identity):
            raise TypeError(f"no NumPy version of {type(layer).__name__}")
    return NumpyMLP(layers)
