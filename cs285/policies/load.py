"""Load any saved policy as a NumPy Actor (rollouts.py) for the collector.

Reads the course's expert-pickle schema (and our shipped experts, which use
it) through the restricted unpickler, and the project's own ``--save_params``
checkpoints (``torch.save`` of a dict of tensors and plain values) with
``torch.load(weights_only=True)``: neither path can run code from the file.
"""
from __future__ import annotations

import os
import zipfile

from cs285.infrastructure import pytorch_util as ptu
from cs285.infrastructure.errors import UserError
from cs285.infrastructure.rollouts import Actor
from cs285.networks.policies import MLPPolicy
from cs285.policies.loaded_gaussian_policy import LoadedGaussianPolicy


def load_policy(path: str) -> tuple[Actor, str]:
    """Returns (the policy as an Actor, a short description of what was loaded)."""
    if not os.path.isfile(path):
        raise UserError(f"policy file not found: {path}")
    if not zipfile.is_zipfile(path):
        expert = LoadedGaussianPolicy(path)
        return expert, f"expert policy ({expert.obs_dim} obs -> {expert.ac_dim} actions)"
    try:
        ckpt = ptu.load_checkpoint(path)
    except Exception as e:  # a zip that is not a weights-only torch checkpoint
        raise UserError(f"{path} is not a checkpoint this project wrote: {type(e).__name__}: {e}") from None
    if not isinstance(ckpt, dict) or ckpt.get("kind") != "MLPPolicy":
        raise UserError(f"{path} is a torch file but not a policy saved by --save_params")
    policy = MLPPolicy(**ckpt["config"])
    policy.load_state_dict(ckpt["state_dict"])
    return policy.snapshot(), f"MLPPolicy {ckpt['config']}"
