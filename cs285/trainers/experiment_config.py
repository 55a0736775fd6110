"""The course's experiment configs (hw3 on): a YAML file that names a ``base_config`` and sets its keys.

    base_config: dqn_basic          # which defaults (each script knows its own: dqn_basic, dqn_atari, sac)
    env_name: CartPole-v1
    use_double_q: true              # any other key of that base config

``load_experiment`` checks every key against the base config's ``Param`` table:
an unknown key or a value of the wrong kind is a ``UserError`` naming the key
and the closest valid one, so a typo never falls back to a default silently.
A value outside its key's ``Range`` (a step count of 0, a NaN learning rate, a
discount of 1.5) is refused the same way, in one line that names the file, the
key, the value and the range, before a run dir exists.
YAML 1.1 reads ``1e-4`` (no dot) as a string; float keys accept it.
"""
from __future__ import annotations

import difflib
import math
import os
from typing import Any, Mapping, NamedTuple, Optional

import yaml

from cs285.infrastructure.errors import UserError


class Range(NamedTuple):
    """The numbers a key allows: from ``low`` to ``high``, each end included unless open. A float must
    also be finite (NaN and inf are never a rate, a discount or a size)."""

    low: float
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return math.isfinite(value) and above and below

    def __str__(self) -> str:
        if self.high == math.inf:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"


AT_LEAST_ONE = Range(1)  # step counts, sizes, intervals, layer and network counts
NON_NEGATIVE = Range(0)  # steps before something starts; temperatures
POSITIVE = Range(0, low_open=True)  # learning rates, epsilons, norms, stds
FRACTION = Range(0, 1)  # discounts
RATE = Range(0, 1, low_open=True)  # soft-update rates (tau): 0 would never move the target


class Param(NamedTuple):
    """One key of a base config: its default, its kind, the values allowed (listed ``choices``, or a
    numeric ``within`` range), and whether null is."""

    default: Any
    kind: type
    choices: tuple = ()
    nullable: bool = False
    within: Optional[Range] = None


def param(default: Any, kind: Optional[type] = None, choices: tuple = (), within: Optional[Range] = None) -> Param:
    """A Param whose kind is the default's (give ``kind`` when the default is None, which is then allowed)."""
    return Param(default, kind or type(default), choices, default is None, within)


def required(kind: type) -> Param:
    """A key the file must set (e.g. env_name)."""
    return Param(None, kind)


def _closest(word: str, options) -> str:
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _checked(key: str, value: Any, p: Param, where: str) -> Any:
    if value is None:
        if p.nullable:
            return None
        raise UserError(f"{where}: {key} may not be null")
    ok = isinstance(value, p.kind) and not (p.kind is not bool and isinstance(value, bool))
    if p.kind is float and not ok and not isinstance(value, bool):
        try:
            value, ok = float(value), True
        except (TypeError, ValueError):
            pass
    if not ok:
        raise UserError(f"{where}: {key} must be {p.kind.__name__} (got {value!r})")
    if p.choices and value not in p.choices:
        raise UserError(f"{where}: {key} must be one of {', '.join(map(str, p.choices))} "
                        f"(got {value!r}){_closest(str(value), p.choices)}")
    if p.within is not None and value not in p.within:
        number = "an integer" if p.kind is int else "a finite number"
        raise UserError(f"{where}: {key} must be {number} {p.within} (got {value!r})")
    return value


def load_experiment(path: str, base_configs: Mapping[str, Mapping[str, Param]]) -> dict[str, Any]:
    """Every key of the file's base config: the file's values over the defaults, plus ``base_config``."""
    if not os.path.isfile(path):
        raise UserError(f"config file not found: {path} (pass -cfg experiments/<...>.yaml)")
    try:
        with open(path) as f:
            raw = yaml.safe_load(f)
    except yaml.YAMLError as e:
        raise UserError(f"{path} is not valid YAML: {str(e).splitlines()[0]}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: expected key: value lines, got {type(raw).__name__}")
    name = raw.pop("base_config", None)
    if name not in base_configs:
        raise UserError(f"{path}: base_config must be one of {', '.join(base_configs)} (got {name!r}"
                        f"{_closest(str(name), base_configs)})")
    spec = base_configs[name]
    where = f"{path} (base_config {name})"
    for key in raw:
        if key not in spec:
            raise UserError(f"{where}: unknown key {key!r}{_closest(str(key), spec)}")
    config = {key: _checked(key, raw[key], p, where) if key in raw else p.default for key, p in spec.items()}
    missing = [key for key, p in spec.items() if config[key] is None and not p.nullable]
    if missing:
        raise UserError(f"{where}: {', '.join(missing)} must be set")
    return {"base_config": name, **config}
