"""The value cases the lab's run-now form (labextension/src/params.ts) must read as Python does.

tests/cases/values.json is the one list of cases; labextension/src/__tests__/values.test.ts runs the
same file against the TypeScript parser, so the two cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.tracking.values import parse_assigned

CASES = json.loads((Path(__file__).parent / "cases" / "values.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["text"]) for c in CASES])
def test_python_reads_each_value_as_the_lab_does(case: dict[str, Any]) -> None:
    name = case.get("name", "x")
    if "error" in case:
        with pytest.raises(InvalidInputError) as exc:
            parse_assigned(name, case["text"])
        assert str(exc.value) == case["error"]
        return
    got = parse_assigned(name, case["text"])
    if "float" in case:
        assert isinstance(got, float)
        expected = float(case["float"])
        assert math.isnan(got) if math.isnan(expected) else got == expected
        return
    expected = case["value"]
    assert got == expected and type(got) is type(expected), (got, expected)
