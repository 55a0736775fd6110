"""Torch helpers: the one device, the one MLP builder, numpy <-> torch.

The device is the project's only module-level state. It is the CPU until
``init_gpu`` is called once at start-up by a script.
"""
from __future__ import annotations

from typing import Iterable, Optional, Union

import numpy as np
import torch
from torch import nn

from cs285.infrastructure.files import atomic_path

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
CLIP_EPS = 1e-6  # torch.nn.utils.clip_grad_norm_'s ε


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


def adam(params, lr: float, eps: float = 1e-8) -> torch.optim.Optimizer:
    """Adam with the fused kernel where this torch has one (about 2x cheaper a step for small nets)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.Adam(params, lr=lr, eps=eps, foreach=True)


def flatten_parameters(*groups: Iterable[nn.Parameter]) -> tuple[list[nn.Parameter], torch.Tensor]:
    """Move parameters and their gradients into one contiguous buffer: (a flat Parameter per group, flat grad).

    Each parameter becomes a view of the buffer (its ``.data``) and each ``.grad``
    a view of the gradient buffer, so backward accumulates straight into it and
    an optimizer over the flat Parameters steps all of them with one kernel per
    group, a gradient-norm clip is one norm of the buffer, and zeroing is one
    ``grad.zero_()``. For tight minibatch loops of small networks, where each
    tensor costs microseconds of dispatch. Never set these gradients to None
    (``zero_grad(set_to_none=True)``): backward would then allocate new ones
    outside the buffer.
    """
    groups = [list(g) for g in groups]
    data = torch.cat([p.detach().reshape(-1) for g in groups for p in g])
    grad = torch.zeros_like(data)
    flats, offset = [], 0
    for g in groups:
        start = offset
        for p in g:
            n = p.numel()
            p.data = data[offset : offset + n].view_as(p)
            p.grad = grad[offset : offset + n].view_as(p)
            offset += n
        flat = nn.Parameter(data[start:offset])  # shares the buffer's storage
        flat.grad = grad[start:offset]
        flats.append(flat)
    return flats, grad


def clip_flat_grad_norm_(grad: torch.Tensor, max_norm: Optional[float]) -> torch.Tensor:
    """Clip a ``flatten_parameters`` gradient buffer in place; returns its norm before the clip, a tensor.

        g ← g · min(1, max_norm / (‖g‖ + CLIP_EPS))

    torch.nn.utils.clip_grad_norm_'s rule and ε (the course's DQN and CleanRL's PPO call that),
    as one norm and one multiply of the buffer, with no transfer to the host. max_norm None: no clip.
    """
    norm = torch.linalg.vector_norm(grad)
    if max_norm is not None:
        grad.mul_(torch.clamp(max_norm / (norm + CLIP_EPS), max=1.0))
    return norm


def optimizer_step(optimizer: torch.optim.Optimizer, loss: torch.Tensor, flat_grad: Optional[torch.Tensor] = None,
                   max_grad_norm: Optional[float] = None) -> Optional[torch.Tensor]:
    """One step on ``loss``: zero the gradients, backward, step. With a ``flatten_parameters`` gradient buffer
    ``flat_grad``, that buffer is zeroed and clipped to ``max_grad_norm`` (``clip_flat_grad_norm_``) before the
    step, and its norm before the clip is returned; without, the gradients are set to None and None is returned."""
    if flat_grad is None:
        optimizer.zero_grad(set_to_none=True)
    else:
        flat_grad.zero_()
    loss.backward()
    norm = None if flat_grad is None else clip_flat_grad_norm_(flat_grad, max_grad_norm)
    optimizer.step()
    return norm


def init_gpu(use_gpu: bool = True, gpu_id: int = 0, verbose: bool = True) -> torch.device:
    """Select CUDA device ``gpu_id`` when asked for and available, else the CPU."""
    global device
    if use_gpu and torch.cuda.is_available():
        if gpu_id >= torch.cuda.device_count():
            raise ValueError(f"--which_gpu {gpu_id} does not exist: this machine has {torch.cuda.device_count()} "
                             f"GPU(s) (ids 0..{torch.cuda.device_count() - 1})")
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


def save_checkpoint(obj: dict, path: str) -> None:
    """torch.save, atomically (``atomic_path``). Checkpoints hold tensors, arrays and plain values only,
    so ``load_checkpoint`` can read them with ``weights_only=True``."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def _numpy_scalar_globals() -> list:
    """What a NumPy integer scalar unpickles through (earlier versions stored a Discrete space's n, an
    np.int64, in discrete policies' configs): the scalar constructor and the integer dtypes, no code."""
    core = getattr(np, "_core", None) or np.core
    return [core.multiarray.scalar, np.dtype, *{type(np.dtype(t)) for t in (np.int32, np.int64)}]


def load_checkpoint(path: str) -> dict:
    """Read a ``save_checkpoint`` file without running code from it (``weights_only=True``; NumPy
    integer scalars allowed besides tensors and plain types)."""
    with torch.serialization.safe_globals(_numpy_scalar_globals()):
        return torch.load(path, map_location="cpu", weights_only=True)


def from_numpy(data: np.ndarray | torch.Tensor | float, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A tensor on ``device`` (no copy when ``data`` already is one of the right dtype and device)."""
    return torch.as_tensor(data, dtype=dtype, device=device)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu").numpy()
