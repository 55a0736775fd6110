"""Running observation normalization, kept inside the policy so it is saved with it.

    normalized = clip((obs − mean) / sqrt(var + EPS), −OBS_CLIP, OBS_CLIP)

``mean`` and ``var`` are the statistics of every observation seen so far by
``update``, merged batch by batch with the parallel-variance formula of Chan,
Golub and LeVeque (1979); EPS and OBS_CLIP = 10 are the values of
Stable-Baselines3's ``VecNormalize`` and CleanRL's PPO. The statistics are
float64 buffers, so they appear in ``state_dict`` and travel with the policy.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

OBS_CLIP = 10.0
EPS = 1e-8
INITIAL_COUNT = 1e-4  # a near-zero prior count: the first batch's statistics replace (0, 1) almost entirely


class ObsNormalizer(nn.Module):
    """Running mean / variance of observations (ob_dim,) and the map obs -> normalized obs."""

    def __init__(self, ob_dim: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(ob_dim, dtype=torch.float64))
        self.register_buffer("var", torch.ones(ob_dim, dtype=torch.float64))
        self.register_buffer("count", torch.tensor(INITIAL_COUNT, dtype=torch.float64))

    @torch.no_grad()
    def update(self, observations: np.ndarray) -> None:
        """Merge a batch (n, ob_dim) into the running statistics.

        With (μ_a, σ²_a, n_a) the running and (μ_b, σ²_b, n_b) the batch
        statistics, δ = μ_b − μ_a and n = n_a + n_b (Chan et al. 1979):

            mean = μ_a + δ n_b / n
            var  = (σ²_a n_a + σ²_b n_b + δ² n_a n_b / n) / n

        which equals the mean and (population) variance of all rows seen.
        """
        x = np.asarray(observations, dtype=np.float64).reshape(-1, self.mean.shape[0])
        if len(x) == 0:
            return
        mean_a, var_a, n_a = self.mean.cpu().numpy(), self.var.cpu().numpy(), float(self.count)
        mean_b, var_b, n_b = x.mean(0), x.var(0), float(len(x))
        n = n_a + n_b
        delta = mean_b - mean_a
        self.mean.copy_(torch.from_numpy(mean_a + delta * n_b / n))
        self.var.copy_(torch.from_numpy((var_a * n_a + var_b * n_b + delta**2 * n_a * n_b / n) / n))
        self.count.fill_(n)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """obs (batch, ob_dim) -> normalized obs, same dtype."""
        z = (obs - self.mean) * torch.rsqrt(self.var + EPS)
        return z.clamp(-OBS_CLIP, OBS_CLIP).to(obs.dtype)

    def numpy_fn(self) -> "NumpyObsNormalizer":
        """A NumPy snapshot of ``forward`` (float32, like the sampler's ``numpy_mlp``); call again after ``update``.

        Picklable, so sampler processes can receive it."""
        mean = self.mean.cpu().numpy().astype(np.float32)
        inv_std = (1.0 / np.sqrt(self.var.cpu().numpy() + EPS)).astype(np.float32)
        return NumpyObsNormalizer(mean, inv_std)


class NumpyObsNormalizer:
    """obs -> clip((obs − mean) · inv_std, ±OBS_CLIP) in float32: ``ObsNormalizer.forward`` frozen in NumPy."""

    def __init__(self, mean: np.ndarray, inv_std: np.ndarray):
        self.mean, self.inv_std = mean, inv_std

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(obs, dtype=np.float32) - self.mean) * self.inv_std, -OBS_CLIP, OBS_CLIP)
