"""The parts of a sweep that need no kernel: the selection rule, the space, the parameters cell's types."""

from __future__ import annotations

import math

import nbformat
import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.registry.gates import parse_select
from mlops_magic.runner.prepare import parameter_types
from mlops_magic.runner.sweep_space import grid, parse_dimension, random_points


def test_a_selection_picks_the_best_finite_qualifying_run() -> None:
    runs = {"a": {"auc": 0.8, "acc": 0.9}, "b": {"auc": math.nan, "acc": 0.9}, "c": {"auc": 0.85, "acc": 0.7},
            "d": {"acc": 0.99}, "e": {"auc": 0.82, "acc": 0.95}}
    assert parse_select("max auc").pick(runs) == ("c", 0.85)
    assert parse_select("MAX `auc` where acc >= 0.8").pick(runs) == ("e", 0.82)
    assert parse_select("min auc where acc > 0.8 and auc > 0").pick(runs) == ("a", 0.8)
    assert parse_select("max auc where acc > 1").pick(runs) is None
    assert str(parse_select("min loss  where  acc >= 0.8")) == "min loss where acc >= 0.8"


@pytest.mark.parametrize("text", ["", "max", "auc", "max auc acc", "max auc where", "max 3", "max auc where acc"])
def test_a_bad_selection_is_one_clear_error(text: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_select(text)
    assert "\n" not in str(info.value)


def test_points_are_typed_and_drawn_reproducibly() -> None:
    types = {"lr": "float", "depth": "int", "kind": "str", "on": "bool"}
    dims = [parse_dimension("lr", "1,0.1", types), parse_dimension("depth", "3,4.0", types),
            parse_dimension("kind", "gbm,'rf'", types), parse_dimension("on", "true", types)]
    points = grid(dims)
    assert len(points) == 8 and points[0] == {"lr": 1.0, "depth": 3, "kind": "gbm", "on": True}
    assert all(type(p["lr"]) is float and type(p["depth"]) is int for p in points)
    drawn = [parse_dimension("lr", "loguniform:0.001:1", types), parse_dimension("depth", "int:2:8", types)]
    assert random_points(drawn, 20, 5) == random_points(drawn, 20, 5) != random_points(drawn, 20, 6)
    assert all(0.001 <= p["lr"] <= 1 and 2 <= p["depth"] <= 8 for p in random_points(drawn, 200, 1))


def test_the_parameters_cell_types_each_parameter() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell(
        "lr = 0.1\ndepth = 3\nname = 'gbm'\nflag = False\nthing = None\nsize: float = 2\nitems = [1, 2]",
        metadata={"tags": ["parameters"]}))
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    types = parameter_types(nbformat.from_dict(nb), "python3")
    assert types == {"lr": "float", "depth": "int", "name": "str", "flag": "bool", "size": "float"}
