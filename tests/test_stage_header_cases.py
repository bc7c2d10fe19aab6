"""The stage-cell first lines the lab's parser (labextension/src/stages.ts) must read as Python does.

tests/cases/stage_headers.json is the one list; labextension/src/__tests__/stages.test.ts runs the same
file against the TypeScript parser, so a header the kernel takes is never one the lab calls invalid.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_magic.errors import InvalidInputError
from mlops_magic.tracking.stages import stage_of_cell

CASES = json.loads((Path(__file__).parent / "cases" / "stage_headers.json").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[repr(c["header"][:50]) for c in CASES])
def test_python_reads_each_stage_header_as_the_lab_does(case: dict[str, Any]) -> None:
    try:
        spec = stage_of_cell(case["header"] + "\nbody()")
    except InvalidInputError:
        spec = None
    assert (None if spec is None else {"kind": spec.kind, "name": spec.name}) == case["stage"]
