"""Every parser that reads user text answers with a result or one clean MlopsError, whatever the text."""

from __future__ import annotations

import math
import shlex

from hypothesis import given, settings
from hypothesis import strategies as st

from mlops_magic.errors import MlopsError
from mlops_magic.registry.gates import evaluate, parse_gate
from mlops_magic.tracking.stages import MAX_HEADER_ARGS, parse_stage_args, split_args, split_header, stage_of_cell
from mlops_magic.tracking.values import parse_literal

GATE_TOKENS = st.sampled_from([*"abcxyz_ 0123456789.<>=!()-+eE\t", "and", "or", " and ", " or ", ">=", "auc"])
GATE_TEXT = st.lists(GATE_TOKENS, max_size=25).map("".join)


@settings(max_examples=400, deadline=None)
@given(GATE_TEXT | st.text(max_size=40))
def test_gate_parser_never_crashes(text: str) -> None:
    try:
        parse_gate(text)
    except MlopsError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(GATE_TEXT,
       st.dictionaries(st.sampled_from(["a", "b", "x", "auc"]), st.floats(allow_nan=True), max_size=4))
def test_gate_evaluation_is_a_result_or_one_clean_error(text: str, metrics: dict[str, float]) -> None:
    try:
        result = evaluate(text, metrics, soft=True)
    except MlopsError as exc:
        assert "\n" not in str(exc)
    else:
        assert isinstance(result.passed, bool)


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=60))
def test_stage_headers_and_tags_never_crash(text: str) -> None:
    try:
        spec = stage_of_cell("%%mlops stage " + text + "\nx = 1", [text])
    except MlopsError as exc:
        assert "\n" not in str(exc)
    else:
        assert spec is None or spec.kind in ("problem", "data", "train", "evaluate", "deploy", "monitor")
    args, body = split_header(text)
    assert args is None or isinstance(body, str)
    try:
        parse_stage_args(text)
    except MlopsError:
        pass


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=40))
def test_literal_values_are_typed_without_evaluation(text: str) -> None:
    value = parse_literal(text)
    assert value is None or isinstance(value, (bool, int, float, str))
    if isinstance(value, float) and not math.isnan(value):
        assert float(text.strip().lower().replace("infinity", "inf")) == value


SHELL_TEXT = st.lists(st.sampled_from([*"ab -=#\t\n\r\x0b", '"', "'", "\\", "é", "--name", "train"]),
                      max_size=20).map("".join)


@settings(max_examples=1000, deadline=None, derandomize=True)
@given(SHELL_TEXT | st.text(max_size=30))
def test_the_one_pass_splitter_splits_as_shlex_does(text: str) -> None:
    """The stage header's splitter (linear) against shlex.split (quadratic in a long token): same
    tokens, or the same error, whatever the text."""
    try:
        expected: list[str] | str = shlex.split(text)
    except ValueError as exc:
        expected = str(exc)
    try:
        got: list[str] | str = split_args(text)
    except ValueError as exc:
        got = str(exc)
    assert got == expected


def test_a_stage_header_over_the_limit_is_one_usage_error_and_the_body_does_not_run(ip) -> None:
    from IPython.core.error import UsageError
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell("%%mlops stage train --name " + "x" * 10_000_000 + "\nran = True")
    assert isinstance(result.error_in_exec, UsageError)
    message = str(result.error_in_exec)
    assert f"at most {MAX_HEADER_ARGS:,} are read" in message and "\n" not in message and len(message) < 300
    assert "ran" not in ip.user_ns and len(captured.stdout + captured.stderr) < 1000
