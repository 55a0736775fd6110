"""Torch helpers: the one device, the one MLP builder, numpy <-> torch.

The device is the project's only module-level state. It is the CPU until
``init_gpu`` is called once at start-up by a script.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
from torch import nn

Activation = Union[str, nn.Module]

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "lrelu": lambda: nn.LeakyReLU(0.01),
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "softplus": nn.Softplus,
    "identity": nn.Identity,
}

device = torch.device("cpu")


def _activation(name: Activation) -> nn.Module:
    if isinstance(name, nn.Module):
        return name
    try:
        return ACTIVATIONS[name]()
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}") from None


def build_mlp(
    input_size: int,
    output_size: int,
    n_layers: int,
    size: int,
    activation: Activation = "tanh",
    output_activation: Activation = "identity",
) -> nn.Sequential:
    """``n_layers`` hidden layers of width ``size``: (batch, input_size) -> (batch, output_size)."""
    layers: list[nn.Module] = []
    in_size = input_size
    for _ in range(n_layers):
        layers += [nn.Linear(in_size, size), _activation(activation)]
        in_size = size
    layers += [nn.Linear(in_size, output_size), _activation(output_activation)]
    return nn.Sequential(*layers)


def adam(params, lr: float) -> torch.optim.Optimizer:
    """Adam with the fused kernel where this torch has one (about 2x cheaper a step for small nets)."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, foreach=True)


def init_gpu(use_gpu: bool = True, gpu_id: int = 0, verbose: bool = True) -> torch.device:
    """Select CUDA device ``gpu_id`` when asked for and available, else the CPU."""
    global device
    if use_gpu and torch.cuda.is_available():
        if gpu_id >= torch.cuda.device_count():
            raise ValueError(
                f"--which_gpu {gpu_id} does not exist: this machine has "
                f"{torch.cuda.device_count()} GPU(s) (ids 0..{torch.cuda.device_count() - 1})"
            )
        device = torch.device(f"cuda:{gpu_id}")
    else:
        device = torch.device("cpu")
    if verbose:
        why = "" if device.type == "cuda" or not use_gpu else " (no CUDA device found)"
        print(f"Using {device}{why}")
    return device


def set_device(dev: torch.device | str) -> None:
    global device
    device = torch.device(dev)


def from_numpy(data: np.ndarray | float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.asarray(data), dtype=dtype, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu").numpy()
