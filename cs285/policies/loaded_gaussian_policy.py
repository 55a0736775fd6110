"""Expert policies stored in the course's pickle schema, run with plain numpy.

Schema (float64 arrays, pickle protocol 2; D = obs size, H_i = hidden widths, A = action size)::

    {'nonlin_type': 'tanh' | 'lrelu' | 'relu',
     'GaussianPolicy': {
         'obsnorm': {'Standardizer': {'mean_1_D': (1, D), 'meansq_1_D': (1, D), 'count': ()}},
         'hidden': {'FeedforwardNet': {'layer_0': {'AffineLayer': {'W': (D, H_0), 'b': (1, H_0)}},
                                       'layer_2': {'AffineLayer': {'W': (H_0, H_1), 'b': (1, H_1)}},
                                       ...}},
         'out': {'AffineLayer': {'W': (H_last, A), 'b': (1, A)}},
         'logstdevs_1_Da': (1, A),
         'squash': {'Tanh': {'low': (1, A), 'high': (1, A)}},   # optional, ours
     }}

The action is the Gaussian's mean (deterministic; the log-std is kept but unused)::

    std = sqrt(max(0, meansq - mean**2))
    h   = (obs - mean) / (std + 1e-6)
    h   = nonlin(h @ W + b)          for each hidden layer, ordered by the number in its name
    u   = h @ W_out + b_out
    action = u                                         (course schema)
    action = low + (tanh(u) + 1) / 2 * (high - low)    (with 'squash')

``W`` is (in, out), i.e. the transpose of ``torch.nn.Linear.weight``.
``lrelu`` is LeakyReLU with slope 0.01, as in the course's loader.

Our extensions to the course schema: ``nonlin_type: 'relu'``, and the optional
``squash`` entry, so SAC experts the project trains itself (tanh-squashed into
the action box) can be exported with ``save_expert_policy`` and loaded here.

Observation size: course Ant experts were trained on 111-dim observations (with
contact forces) while gymnasium's Ant-v4 gives 27. Shorter observations are
zero-padded at the end and longer ones truncated to D, before normalisation.
"""
from __future__ import annotations

import os
import re
import sys
from typing import Any, Mapping, Optional

import numpy as np

from cs285.infrastructure.errors import UserError
from cs285.infrastructure.safe_pickle import safe_dump, safe_load
from cs285.networks.policies import RELU, NumpyMLP, leaky_relu

LRELU_SLOPE = 0.01
NONLINEARITIES = {"tanh": (np.tanh, None), "lrelu": (leaky_relu, LRELU_SLOPE), "relu": RELU}  # NumpyMLP layers
OBSNORM_EPS = 1e-6
_LAYER_NAME = re.compile(r"^layer_(\d+)$")


GAUSSIAN_POLICY = "GaussianPolicy"
STANDARDIZER = "GaussianPolicy/obsnorm/Standardizer"
HIDDEN = "GaussianPolicy/hidden/FeedforwardNet"


class _Schema:
    """The loaded dict, read by '/'-separated key paths; each error names the file and the path."""

    def __init__(self, data: Any, source: str):
        self.data, self.source = data, source

    def fail(self, msg: str) -> UserError:
        return UserError(f"{self.source}: malformed expert policy: {msg}")

    def get(self, path: str) -> Any:
        node, keys = self.data, path.split("/")
        for i, key in enumerate(keys):
            if not isinstance(node, Mapping):
                raise self.fail(f"'{'/'.join(keys[:i]) or 'top level'}' should be a dict, got {type(node).__name__}")
            if key not in node:
                raise self.fail(f"missing key '{'/'.join(keys[: i + 1])}'")
            node = node[key]
        return node

    def _numeric(self, path: str) -> np.ndarray:
        try:
            return np.asarray(self.get(path), dtype=np.float64)
        except (TypeError, ValueError):
            raise self.fail(f"'{path}' is not a numeric array") from None

    def row(self, path: str, size: Optional[int] = None) -> np.ndarray:
        """A (1, n) array (a flat (n,) one is accepted too), returned as (n,)."""
        arr = self._numeric(path)
        if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[0] != 1):
            raise self.fail(f"'{path}' should have shape (1, n), got {arr.shape}")
        if size is not None and arr.size != size:
            raise self.fail(f"'{path}' should have {size} entries, got {arr.size}")
        return arr.reshape(-1)

    def affine(self, path: str, in_dim: int) -> tuple[np.ndarray, np.ndarray]:
        """(W (in_dim, out), b (out,)) of the AffineLayer at ``path``."""
        W = self._numeric(f"{path}/AffineLayer/W")
        if W.ndim != 2 or W.shape[0] != in_dim:
            raise self.fail(f"'{path}/AffineLayer/W' has shape {W.shape}; expected ({in_dim}, n)")
        return W, self.row(f"{path}/AffineLayer/b", W.shape[1])


class LoadedGaussianPolicy:
    """A course-format expert policy: ``get_action`` maps observations to mean actions.

    Args:
        path_or_dict: a ``.pkl`` file in the schema above (read with ``safe_load``)
            or the already-loaded dict.
    """

    def __init__(self, path_or_dict: str | os.PathLike | Mapping[str, Any]):
        if isinstance(path_or_dict, Mapping):
            data, self.source = path_or_dict, "<dict>"
        else:
            self.source = os.fspath(path_or_dict)
            data = safe_load(self.source)
        self._noted_obs_mismatch = False
        schema = _Schema(data, self.source)
        self.nonlin = schema.get("nonlin_type")
        if not isinstance(self.nonlin, str) or self.nonlin not in NONLINEARITIES:
            raise schema.fail(f"'nonlin_type' is {self.nonlin!r}; expected one of {', '.join(NONLINEARITIES)}")

        self.obs_mean = schema.row(f"{STANDARDIZER}/mean_1_D")  # (D,)
        self.obs_dim = int(self.obs_mean.size)
        meansq = schema.row(f"{STANDARDIZER}/meansq_1_D", self.obs_dim)
        self.obs_std = np.sqrt(np.maximum(0.0, meansq - np.square(self.obs_mean)))  # (D,)

        hidden = schema.get(HIDDEN)
        if not isinstance(hidden, Mapping):
            raise schema.fail(f"'{HIDDEN}' should be a dict of layers")
        numbered = []  # (layer number, name)
        for name in hidden:
            match = _LAYER_NAME.match(str(name))
            if match is None:
                raise schema.fail(f"hidden layer name {name!r} is not of the form 'layer_<number>'")
            numbered.append((int(match.group(1)), name))
        layers: list[tuple] = []  # NumpyMLP's: (W, b), then the nonlinearity, for each hidden layer
        in_dim = self.obs_dim
        for _, name in sorted(numbered):  # by the number, not the string: layer_10 comes after layer_2
            W, b = schema.affine(f"{HIDDEN}/{name}", in_dim)
            layers += [(W, b), NONLINEARITIES[self.nonlin]]
            in_dim = W.shape[1]
        W_out, b_out = schema.affine(f"{GAUSSIAN_POLICY}/out", in_dim)
        self.mean_net = NumpyMLP(layers + [(W_out, b_out)])  # float64, as the schema's arrays
        self.ac_dim = int(W_out.shape[1])

        policy = data[GAUSSIAN_POLICY]
        self.logstd = np.zeros(self.ac_dim)  # stored, unused
        if "logstdevs_1_Da" in policy:
            self.logstd = schema.row(f"{GAUSSIAN_POLICY}/logstdevs_1_Da", self.ac_dim)
        self.squash: Optional[tuple[np.ndarray, np.ndarray]] = None  # (low (A,), high (A,))
        if "squash" in policy:
            self.squash = tuple(schema.row(f"{GAUSSIAN_POLICY}/squash/Tanh/{end}", self.ac_dim)
                                for end in ("low", "high"))

    def _note_obs_mismatch(self, ob_dim: int, env_name: Optional[str] = None) -> None:
        if self._noted_obs_mismatch or ob_dim == self.obs_dim:
            return
        self._noted_obs_mismatch = True
        how = "zero-padded" if ob_dim < self.obs_dim else "truncated"
        env = f"{env_name} " if env_name else ""
        print(f"Note: expert {self.source} takes {self.obs_dim}-dim observations; "
              f"{env}observations ({ob_dim}) are {how} to fit.", file=sys.stderr)

    def check_fits(self, ob_dim: int, ac_dim: int, env_name: str) -> None:
        """Raise UserError unless this expert's actions fit ``env_name``'s action space.

        A different observation size is allowed (pad/truncate) and noted once.
        """
        if ac_dim != self.ac_dim:
            raise UserError(f"expert {self.source} (obs {self.obs_dim}, actions {self.ac_dim}) does not fit "
                            f"{env_name} (obs {ob_dim}, actions {ac_dim}): action sizes differ")
        self._note_obs_mismatch(ob_dim, env_name)

    def act(self, obs: np.ndarray, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        """The collector's Actor interface: the expert acts with its mean action, whatever ``rng``."""
        return self.get_action(obs)

    def get_action(self, obs: np.ndarray) -> np.ndarray:
        """Mean action(s): (n, ob_dim) -> (n, ac_dim), or (ob_dim,) -> (ac_dim,); float32."""
        obs = np.asarray(obs, dtype=np.float64)
        single = obs.ndim == 1
        if obs.ndim not in (1, 2):
            raise ValueError(f"expected observations of shape (ob_dim,) or (n, ob_dim), got {obs.shape}")
        x = obs[None] if single else obs  # (n, ob_dim)
        ob_dim = x.shape[1]
        if ob_dim != self.obs_dim:
            self._note_obs_mismatch(ob_dim)
            x = np.pad(x, ((0, 0), (0, self.obs_dim - ob_dim))) if ob_dim < self.obs_dim else x[:, : self.obs_dim]
        h = (x - self.obs_mean) / (self.obs_std + OBSNORM_EPS)  # (n, D)
        u = self.mean_net(h)  # (n, A)
        if self.squash is not None:
            low, high = self.squash
            u = low + (np.tanh(u) + 1.0) / 2.0 * (high - low)
        actions = u.astype(np.float32)
        return actions[0] if single else actions


def save_expert_policy(path: str | os.PathLike, *, obs_mean: np.ndarray, obs_meansq: np.ndarray,
                       hidden: list[tuple[np.ndarray, np.ndarray]], out: tuple[np.ndarray, np.ndarray],
                       logstd: np.ndarray, nonlin: str, squash: Optional[tuple[np.ndarray, np.ndarray]] = None) -> None:
    """Write an expert in the course schema (float64, protocol 2) that ``LoadedGaussianPolicy`` reads.

    Args:
        obs_mean, obs_meansq: (D,) or (1, D): E[obs] and E[obs**2]; the loader
            normalises with std = sqrt(max(0, meansq - mean**2)). Pass zeros and
            ones for no normalisation (then h = obs / (1 + 1e-6)).
        hidden: [(W (in, out), b (out,) or (1, out)), ...] applied in order.
        out: (W (H, A), b (A,)): the mean (pre-squash) action.
        logstd: (A,) log standard deviations (stored, unused by the loader).
        nonlin: 'tanh', 'lrelu' or 'relu'.
        squash: optional (low (A,), high (A,)): action = low + (tanh(u)+1)/2 * (high-low).
    The standardizer's ``count`` is written as 0 (the loader does not use it).
    """

    def row(x: Any) -> np.ndarray:
        return np.asarray(x, dtype=np.float64).reshape(1, -1)

    def affine(W: Any, b: Any) -> dict:
        return {"AffineLayer": {"W": np.asarray(W, dtype=np.float64), "b": row(b)}}

    policy: dict[str, Any] = {
        "obsnorm": {"Standardizer": {"mean_1_D": row(obs_mean), "meansq_1_D": row(obs_meansq), "count": np.array(0.0)}},
        # Even numbers, as in the course's files (odd ones were the nonlinearities).
        "hidden": {"FeedforwardNet": {f"layer_{2 * i}": affine(W, b) for i, (W, b) in enumerate(hidden)}},
        "out": affine(*out),
        "logstdevs_1_Da": row(logstd),
    }
    if squash is not None:
        policy["squash"] = {"Tanh": {"low": row(squash[0]), "high": row(squash[1])}}
    data = {"nonlin_type": nonlin, "GaussianPolicy": policy}
    LoadedGaussianPolicy(data)  # validate shapes before anything is written
    safe_dump(data, path)
