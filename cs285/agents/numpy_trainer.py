"""Behavioral cloning steps for a Gaussian ``MLPPolicy`` in NumPy: forward, hand-written backward, Adam.

For BC's tiny networks (two hidden layers of 64, minibatches of 100) a torch
step on the CPU is almost all per-op dispatch overhead (~0.8 ms a step). The
same step as ~40 NumPy calls on preallocated float32 buffers costs under a
quarter of that. ``BCAgent`` uses this trainer on the CPU.

The torch policy stays the source of truth between calls: ``train_steps``
copies its weights in first and the new ones back at the end. The Adam
moments live here, as they would in a torch optimizer.
"""
from __future__ import annotations

import copy
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from cs285.infrastructure import pytorch_util as ptu
from cs285.networks.policies import HALF_LOG_2PI, MLPPolicy

# torch.optim.Adam's defaults, which BCAgent's torch path uses as well.
ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 0.9, 0.999, 1e-8


def _tanh_backward(h: np.ndarray, delta: np.ndarray, tmp: np.ndarray) -> None:
    """delta ← delta ⊙ tanh'(z) = delta ⊙ (1 − h²), from the layer's output h = tanh(z)."""
    np.multiply(h, h, out=tmp)
    np.subtract(1.0, tmp, out=tmp)
    delta *= tmp


def _relu_backward(h: np.ndarray, delta: np.ndarray, tmp: np.ndarray) -> None:
    """delta ← delta ⊙ 1[z > 0], from the layer's output h = max(z, 0) (h > 0 exactly where z > 0)."""
    np.greater(h, 0.0, out=tmp)
    delta *= tmp


class _Activation(NamedTuple):
    forward: Callable[[np.ndarray], None]  # z ← f(z), in place
    backward: Callable[[np.ndarray, np.ndarray, np.ndarray], None]  # (h, delta, tmp): delta ← delta ⊙ f'(z)


# build_mlp's activation modules this trainer can differentiate; None: the identity
ACTIVATIONS: dict[type, _Activation | None] = {
    nn.Tanh: _Activation(lambda z: np.tanh(z, out=z), _tanh_backward),
    nn.ReLU: _Activation(lambda z: np.maximum(z, 0.0, out=z), _relu_backward),
    nn.Identity: None,
}


class _Layer(NamedTuple):
    """One Linear + activation of the MLP; the arrays are views of the trainer's flat buffers."""
    weight: np.ndarray  # (out, in), as nn.Linear.weight
    bias: np.ndarray  # (out,)
    grad_weight: np.ndarray  # (out, in)
    grad_bias: np.ndarray  # (out,)
    activation: _Activation | None
    linear: nn.Linear  # the torch layer it mirrors


class NumpyBCTrainer:
    """Adam on the BC loss of a continuous ``MLPPolicy`` whose ``mean_net`` came from ``build_mlp``.

    With B the batch size, d = ac_dim, σ = exp(logstd), h_0 = s (B, ob_dim),
    layers l = 1..L: z_l = h_{l−1} W_lᵀ + b_l, h_l = f_l(z_l), μ = h_L (B, d):

        loss = −(1/B) Σ_i log N(a_i; μ_i, diag σ²)
             = (1/2B) Σ_ij u_ij² + Σ_j logstd_j + d·½ log 2π,   u = (a − μ)/σ

    Backward, with δ_l = ∂loss/∂z_l (B, out_l) and 1 the all-ones B-vector:

        ∂loss/∂logstd_j = 1 − (1/B) Σ_i u_ij²
        ∂loss/∂μ        = −u/(Bσ)
        δ_l             = ∂loss/∂h_l ⊙ f_l'(z_l)      tanh' = 1 − h_l², relu' = 1[h_l > 0], identity' = 1
        ∂loss/∂W_l      = δ_lᵀ h_{l−1}                 (out_l, in_l)
        ∂loss/∂b_l      = 1ᵀ δ_l
        ∂loss/∂h_{l−1}  = δ_l W_l

    Adam as ``torch.optim.Adam`` (no weight decay), on all parameters at once:
    with g the gradient and t the step count,

        m ← β1 m + (1 − β1) g,   v ← β2 v + (1 − β2) g²
        θ ← θ − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)

    θ = [W_1, b_1, ..., W_L, b_L, logstd] is one flat float32 vector (float64
    is slower, above all np.tanh, and float32 is what torch computes in), the
    gradient another, and each layer's arrays are views of them, so Adam is a
    few whole-vector operations. Activations: tanh, relu, identity.
    """

    def __init__(self, policy: MLPPolicy, learning_rate: float):
        if policy.discrete or policy.obs_normalizer is not None:
            raise ValueError("NumpyBCTrainer handles a continuous MLPPolicy without observation normalization")
        self.policy, self.learning_rate = policy, learning_rate
        modules = list(policy.mean_net)
        linears, activations = modules[0::2], modules[1::2]
        if len(modules) % 2 or not all(isinstance(lin, nn.Linear) and type(act) in ACTIVATIONS
                                       for lin, act in zip(linears, activations)):
            supported, got = (", ".join(a.__name__ for a in ACTIVATIONS),
                              ", ".join(type(m).__name__ for m in modules))
            raise TypeError(f"NumpyBCTrainer supports Linear layers each followed by one of {supported}; got {got}")
        n_params = sum(lin.weight.numel() + lin.bias.numel() for lin in linears) + policy.ac_dim
        self.params = np.zeros(n_params, np.float32)  # θ
        self.grads = np.zeros_like(self.params)
        self.exp_avg, self.exp_avg_sq = np.zeros_like(self.params), np.zeros_like(self.params)  # m, v
        self._tmp = np.empty_like(self.params)
        self.step_count = 0  # t
        self.layers: list[_Layer] = []
        offset = 0
        for linear, activation in zip(linears, activations):
            w = slice(offset, offset + linear.weight.numel())
            b = slice(w.stop, w.stop + linear.out_features)
            offset = b.stop
            shape = tuple(linear.weight.shape)
            self.layers.append(_Layer(self.params[w].reshape(shape), self.params[b], self.grads[w].reshape(shape),
                                      self.grads[b], ACTIVATIONS[type(activation)], linear))
        self.logstd, self.grad_logstd = self.params[offset:], self.grads[offset:]
        self._batch_size = 0  # the batch size the buffers of _allocate are sized for

    def __deepcopy__(self, memo: dict) -> NumpyBCTrainer:
        """A copy of the policy and the Adam state whose layer arrays view the copy's own θ
        (copying the arrays one by one would cut the views off)."""
        clone = NumpyBCTrainer(copy.deepcopy(self.policy, memo), self.learning_rate)
        for name in ("params", "exp_avg", "exp_avg_sq"):
            getattr(clone, name)[...] = getattr(self, name)
        clone.step_count = self.step_count
        return clone

    def state_dict(self) -> dict:
        """Adam's state: the moments m, v (as tensors, for a weights-only load) and the step count t.
        θ is not here: between calls the torch policy holds it."""
        return {"exp_avg": torch.tensor(self.exp_avg), "exp_avg_sq": torch.tensor(self.exp_avg_sq),
                "step_count": self.step_count}

    def load_state_dict(self, state: dict) -> None:
        self.exp_avg[...] = state["exp_avg"].numpy()
        self.exp_avg_sq[...] = state["exp_avg_sq"].numpy()
        self.step_count = int(state["step_count"])

    def _allocate(self, batch_size: int) -> None:
        """Activation and gradient buffers for minibatches of ``batch_size`` rows."""
        self._batch_size = batch_size
        self._ones = np.ones(batch_size, np.float32)  # 1: column sums as 1ᵀX, one BLAS call
        self._hidden = [np.empty((batch_size, layer.bias.size), np.float32) for layer in self.layers]  # h_l
        self._delta = [np.empty_like(h) for h in self._hidden]  # δ_l
        self._scratch = [np.empty_like(h) for h in self._hidden]  # for f_l'(z_l)
        self._u = np.empty_like(self._hidden[-1])  # (a − μ)/σ, then its square
        self._u_sq_sum = np.empty(self.policy.ac_dim, np.float32)  # Σ_i u_ij², kept for the loss

    def load_from_policy(self) -> None:
        """θ ← the torch policy's current weights."""
        for layer in self.layers:
            layer.weight[...] = ptu.to_numpy(layer.linear.weight)
            layer.bias[...] = ptu.to_numpy(layer.linear.bias)
        self.logstd[...] = ptu.to_numpy(self.policy.logstd)

    def store_to_policy(self) -> None:
        """The torch policy's weights ← θ."""
        with torch.no_grad():
            for layer in self.layers:
                layer.linear.weight.copy_(torch.from_numpy(layer.weight))
                layer.linear.bias.copy_(torch.from_numpy(layer.bias))
            self.policy.logstd.copy_(torch.from_numpy(self.logstd))

    def compute_grads(self, observations: np.ndarray, actions: np.ndarray) -> None:
        """``self.grads`` ← ∂loss/∂θ on one batch: observations (B, ob_dim), actions (B, ac_dim), float32."""
        if len(observations) != self._batch_size:
            self._allocate(len(observations))
        h_prev = observations
        for layer, h in zip(self.layers, self._hidden):
            h_prev.dot(layer.weight.T, out=h)
            h += layer.bias
            if layer.activation is not None:
                layer.activation.forward(h)
            h_prev = h

        inv_std = np.exp(-self.logstd)  # (d,)
        u = self._u
        np.subtract(actions, self._hidden[-1], out=u)
        u *= inv_std
        np.multiply(u, inv_std * (-1.0 / self._batch_size), out=self._delta[-1])  # ∂loss/∂μ
        u *= u
        self._ones.dot(u, out=self._u_sq_sum)
        np.multiply(self._u_sq_sum, -1.0 / self._batch_size, out=self.grad_logstd)
        self.grad_logstd += 1.0

        for l in range(len(self.layers) - 1, -1, -1):
            layer, delta = self.layers[l], self._delta[l]
            if layer.activation is not None:
                layer.activation.backward(self._hidden[l], delta, self._scratch[l])
            delta.T.dot(self._hidden[l - 1] if l > 0 else observations, out=layer.grad_weight)
            self._ones.dot(delta, out=layer.grad_bias)
            if l > 0:
                delta.dot(layer.weight, out=self._delta[l - 1])

    def loss(self) -> float:
        """The loss of the last ``compute_grads`` batch (call it before ``adam_step`` changes logstd)."""
        return float(0.5 * self._u_sq_sum.sum() / self._batch_size + self.logstd.sum()
                     + self.policy.ac_dim * HALF_LOG_2PI)

    def adam_step(self) -> None:
        """θ ← Adam(θ, ``self.grads``), torch.optim.Adam's update (see the class docstring)."""
        self.step_count += 1
        g, m, v, tmp = self.grads, self.exp_avg, self.exp_avg_sq, self._tmp
        m *= ADAM_BETA1
        np.multiply(g, 1.0 - ADAM_BETA1, out=tmp)
        m += tmp
        v *= ADAM_BETA2
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - ADAM_BETA2
        v += tmp
        bias_correction1 = 1.0 - ADAM_BETA1 ** self.step_count
        bias_correction2_sqrt = (1.0 - ADAM_BETA2 ** self.step_count) ** 0.5
        np.sqrt(v, out=tmp)
        tmp *= 1.0 / bias_correction2_sqrt
        tmp += ADAM_EPS
        np.divide(m, tmp, out=tmp)
        tmp *= self.learning_rate / bias_correction1
        self.params -= tmp

    def train_steps(self, observations: np.ndarray, actions: np.ndarray, index_batches: np.ndarray) -> float:
        """One Adam step per row of ``index_batches`` (steps, B), on observations[row] and actions[row].

        observations (n, ob_dim), actions (n, ac_dim); steps ≥ 1. Reads the
        torch policy's weights first and writes the new ones back at the end.
        Returns the last batch's loss, before its update (as torch's path logs it).
        """
        if len(index_batches) == 0:
            raise ValueError("train_steps needs at least one batch of indices")
        self.load_from_policy()
        obs_batches = np.asarray(observations, np.float32)[index_batches]  # (steps, B, ob_dim)
        act_batches = np.asarray(actions, np.float32)[index_batches]  # (steps, B, ac_dim)
        for obs, act in zip(obs_batches[:-1], act_batches[:-1]):
            self.compute_grads(obs, act)
            self.adam_step()
        self.compute_grads(obs_batches[-1], act_batches[-1])
        loss = self.loss()
        self.adam_step()
        self.store_to_policy()
        return loss
