"""A sweep's search space: ``-p NAME SPEC`` values typed as the notebook's ``parameters`` cell types them.

A SPEC is a comma-separated list of values (``0.01,0.03,0.1``; each typed as ``mlops run -p`` types one) or,
for random search, a distribution: ``uniform:LOW:HIGH``, ``loguniform:LOW:HIGH`` (LOW > 0) or
``int:LOW:HIGH`` (both ends included). A grid is every combination of the lists; random search draws
``--random N`` points from a seeded generator, so the same seed draws the same points. A value whose
type disagrees with the notebook's default (``max_depth 2.5`` where the cell says ``max_depth = 3``) is
refused before anything runs; an int given for a float parameter becomes a float.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from typing import Any

from ..display.html import fmt_number, fmt_param
from ..errors import InvalidInputError
from ..tracking.values import check_param_name
from .prepare import parse_param_value

#: The most points one sweep may run: a typo such as ``-p n 1,2,…`` times five lists is refused, not queued.
MAX_POINTS = 1000
DISTRIBUTIONS = ("uniform", "loguniform", "int")


@dataclass(frozen=True)
class Dimension:
    """One parameter of the space: a list of values, or a distribution (``kind``, ``low``, ``high``)."""

    name: str
    values: tuple[Any, ...] = ()
    kind: str | None = None
    low: float = 0.0
    high: float = 0.0

    def describe(self) -> str:
        if self.kind is None:
            return ",".join(str(v) for v in self.values)
        return f"{self.kind}:{fmt_param(self.low)}:{fmt_param(self.high)}"

    def draw(self, rng: random.Random) -> Any:
        if self.kind is None:
            return self.values[rng.randrange(len(self.values))]
        if self.kind == "int":
            return rng.randint(int(self.low), int(self.high))
        if self.kind == "loguniform":
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)


def parse_dimension(name: str, spec: str, types: dict[str, str] | None = None) -> Dimension:
    """``-p NAME SPEC`` as a :class:`Dimension`, typed by ``types`` (parameter → ``int``/``float``/…)."""
    check_param_name(name)
    text = spec.strip()
    if not text:
        raise InvalidInputError(f"-p {name} has no values; write e.g. -p {name} 1,2,3 or -p {name} int:1:5")
    expected = (types or {}).get(name)
    head, _, rest = text.partition(":")
    if head in DISTRIBUTIONS and rest:
        return _distribution(name, head, rest, expected)
    items = [part.strip() for part in text.split(",")]
    if any(not item for item in items):
        raise InvalidInputError(f"-p {name} {spec!r} has an empty value; separate values by single commas")
    values = tuple(dict.fromkeys(coerce(name, parse_param_value(item), expected) for item in items))
    return Dimension(name, values)


def _distribution(name: str, kind: str, rest: str, expected: str | None) -> Dimension:
    bounds = rest.split(":")
    usage = f"write -p {name} {kind}:LOW:HIGH"
    if len(bounds) != 2:
        raise InvalidInputError(f"-p {name} {kind}:{rest} needs two bounds; {usage}")
    low, high = (parse_param_value(b) for b in bounds)
    if not all(isinstance(b, (int, float)) and not isinstance(b, bool) and math.isfinite(b) for b in (low, high)):
        raise InvalidInputError(f"-p {name} {kind}:{rest}: the bounds must be finite numbers; {usage}")
    if kind == "int" and not all(isinstance(b, int) for b in (low, high)):
        raise InvalidInputError(f"-p {name} int:{rest}: the bounds must be whole numbers")
    if low >= high:
        raise InvalidInputError(f"-p {name} {kind}:{rest}: LOW must be below HIGH")
    if kind == "loguniform" and low <= 0:
        raise InvalidInputError(f"-p {name} loguniform:{rest}: LOW must be above 0")
    if expected == "int" and kind != "int":
        raise InvalidInputError(f"{name} is an int in the notebook's parameters cell; use -p {name} int:LOW:HIGH")
    if expected in ("str", "bool") and kind:
        raise InvalidInputError(f"{name} is a {expected} in the notebook's parameters cell; list its values")
    return Dimension(name, kind=kind, low=float(low), high=float(high))


def coerce(name: str, value: Any, expected: str | None) -> Any:
    """``value`` as the notebook's parameter type ``expected`` (None: as typed); one clear error otherwise."""
    if expected is None or value is None:
        return value
    if expected == "float" and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    actual = type(value).__name__
    if expected != actual and not (expected == "float" and actual == "int"):
        raise InvalidInputError(f"-p {name} {value!r}: {name} is a {expected} in the notebook's parameters cell, "
                                f"this value is a {actual}")
    return value


def grid(dimensions: list[Dimension]) -> list[dict[str, Any]]:
    """Every combination of the dimensions' values, in the order given (the last one varies fastest)."""
    drawn = [d.name for d in dimensions if d.kind is not None]
    if drawn:
        raise InvalidInputError(f"-p {drawn[0]} is a distribution: draw points from it with --random N "
                                "(a grid takes lists of values)")
    count_points(math.prod(len(d.values) for d in dimensions))
    names = [d.name for d in dimensions]
    return [dict(zip(names, combo)) for combo in itertools.product(*(d.values for d in dimensions))]


def random_points(dimensions: list[Dimension], n: int, seed: int | None) -> list[dict[str, Any]]:
    """``n`` points drawn independently (lists uniformly, distributions as declared) from ``seed``."""
    count_points(n)
    rng = random.Random(seed)
    return [{d.name: d.draw(rng) for d in dimensions} for _ in range(n)]


def count_points(n: int) -> int:
    if n < 1:
        raise InvalidInputError("the sweep has no points; give each -p at least one value (or --random N ≥ 1)")
    if n > MAX_POINTS:
        raise InvalidInputError(f"the sweep has {n:,} points, more than the {MAX_POINTS:,} one sweep may run; "
                                "narrow the lists or use --random N")
    return n


def label(point: dict[str, Any]) -> str:
    """``lr=0.1 depth=3``: a point as people read it (drawn floats to 4 significant digits)."""
    return " ".join(f"{k}={fmt_number(v) if isinstance(v, float) else fmt_param(v)}" for k, v in point.items())
