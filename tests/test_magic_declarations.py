"""Each %mlops subcommand declares its options once; the parser, -h, %mlops?, completion and the README agree.

What a subcommand *accepts* is read from the parser it runs with; what it *documents* from the real magic
on a real IPython shell (``%mlops?`` through IPython's inspector, ``-h`` through the magic).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
from pathlib import Path

import click
import pytest
from _support import PYTHON, python_env
from click.testing import CliRunner
from IPython.core.error import UsageError
from IPython.utils.capture import capture_output

from mlops_magic import options
from mlops_magic.cli.main import main
from mlops_magic.ipython.parsers import build_parser, leaves, parse
from mlops_magic.ipython.subcommands import SUBCOMMANDS, reference

REPO = Path(__file__).resolve().parents[1]
LEAVES = [leaf for sub in SUBCOMMANDS.values() for leaf in leaves(sub)]
IDS = [prog.removeprefix("%mlops ") for prog, _ in LEAVES]


def accepted(prog: str, sub) -> list[str]:
    """Every option string the subcommand's parser accepts, -h aside."""
    return [f for action in build_parser(sub, prog)._actions if not isinstance(action, argparse._HelpAction)
            for f in action.option_strings]


def entry(text: str, prog: str) -> str:
    """The reference's entry of one subcommand: its usage lines and summary, up to the next entry."""
    match = re.search(rf"^  {re.escape(prog)}\b.*?(?=^  %|\n\n|\Z)", text, flags=re.S | re.M)
    assert match, f"{prog} is not in the reference"
    return match.group(0)


def test_every_option_is_in_the_reference_and_in_its_help(ip) -> None:
    shown = ip.object_inspect_text("%mlops")  # what %mlops? shows
    with capture_output() as alone:
        ip.run_line_magic("mlops", "")
    with capture_output() as helped:
        ip.run_line_magic("mlops", "help")
    assert reference() in shown and alone.stdout.strip() == helped.stdout.strip() == reference()
    for prog, sub in LEAVES:
        with capture_output() as help_text:
            assert ip.run_line_magic("mlops", f"{prog.removeprefix('%mlops ')} -h") is None
        assert help_text.stdout.startswith(f"usage: {prog}"), prog
        for flag in accepted(prog, sub):
            assert re.search(rf"{flag}\b", help_text.stdout), f"{prog} -h does not show {flag}"
            if flag.startswith("--"):
                assert re.search(rf"{flag}\b", entry(reference(), prog)), f"%mlops? does not show {prog} {flag}"
        assert sub.summary.split(";")[0][:40] in " ".join(entry(reference(), prog).split())


def test_the_options_the_issue_found_missing_are_documented() -> None:
    text = reference()
    for prog, flags in (("%mlops drift", ["--threshold", "--model", "--no-record", "--widget", "--history"]),
                        ("%mlops runs", ["--sort", "--ascending", "--widget", "--limit"])):
        for flag in flags:
            assert flag in entry(text, prog), (prog, flag)


def _readme_spans() -> dict[str, set[str]]:
    """README "Magic reference": leaf prog → the options its code spans name (spans naming no leaf fail)."""
    section = (REPO / "README.md").read_text().split("## Magic reference", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    assert rows, "the README has no magic reference table"
    named: dict[str, set[str]] = {}
    for row in rows:
        first = re.split(r"(?<!\\)\|", row)[1].replace("\\|", "|")
        for span in re.findall(r"`([^`]+)`", first):
            if span.startswith("%%mlops"):
                continue
            words = span.split()
            progs = [p for p, _ in LEAVES if words[: len(p.split())] == p.split()]
            assert progs, f"README names a magic that does not exist: {span}"
            named.setdefault(max(progs, key=len), set()).update(re.findall(r"--[a-z][a-z-]*", span))
    return named


def test_readme_magic_reference_names_every_subcommand_and_every_option() -> None:
    named = _readme_spans()
    for prog, sub in LEAVES:
        assert prog in named, f"README's magic reference has no row for {prog}"
        longs = {f for f in accepted(prog, sub) if f.startswith("--")}
        assert named[prog] == longs, f"{prog}: README names {sorted(named[prog] - longs)} that it does not accept " \
                                     f"and misses {sorted(longs - named[prog])}"


def test_each_subcommand_has_exactly_one_parser() -> None:
    """No second parser hides in a handler: argparse is built in parsers.py only, from the declarations."""
    package = REPO / "mlops_magic" / "ipython"
    for path in package.glob("*.py"):
        if path.name == "parsers.py":
            continue
        text = path.read_text()
        assert "add_argument" not in text and "ArgumentParser" not in text, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("cmd_"):
                params = [a.arg for a in node.args.args]
                assert params == ["ctx", "args"], f"{path.name}:{node.name} parses its own arguments"
    targets = {leaf.target for _, leaf in LEAVES}
    assert len(targets) == len(LEAVES), "two subcommands share a handler"


@pytest.mark.parametrize("line, message", [
    ("runs --limit 0", "argument --limit: 0 is less than 1"),
    ("runs --limit many", "argument --limit: invalid int value: 'many'"),
    ("runs --sort duration", "--sort and --ascending order the --widget table"),
    ("runs --ascending", "--sort and --ascending order the --widget table"),
    ("params --widget lr=1", "NAME=VALUE pairs or --widget, not both"),
    ("params --notebook nb.ipynb lr=1", "--notebook goes with --widget"),
    ("params", "give at least one parameter as NAME=VALUE"),
    ("status --bogus", "unrecognized arguments: --bogus"),
    ("drift x --threshold high", "argument --threshold: invalid float value: 'high'"),
    ("model frobnicate", "unknown action 'frobnicate'; use one of register, promote"),
    ("model promote m --to production --higher-is-better --lower-is-better", "not allowed with argument"),
    ("end --status maybe", "invalid choice: 'maybe'"),
])
def test_bad_arguments_are_one_usage_error_line(ip, line, message) -> None:
    with pytest.raises(UsageError, match=re.escape(message)) as info:
        ip.run_line_magic("mlops", line)
    assert "\n" not in str(info.value) and "Traceback" not in str(info.value)


@pytest.mark.parametrize("said, higher", [([], None), (["--higher-is-better"], True), (["--lower-is-better"], False)])
def test_a_yes_no_pair_leaves_unsaid_as_none_in_both_faces(said, higher) -> None:
    _, args = parse(SUBCOMMANDS["model"], ["promote", "churn", "--to", "production", *said])
    assert args.higher is higher and args.alias == "production"
    promote = main.get_command(click.Context(main), "models").get_command(click.Context(main), "promote")
    assert promote.make_context("promote", ["churn", "--to", "production", *said]).params["higher"] is higher


def test_an_action_group_prints_its_actions(ip) -> None:
    with capture_output() as out:
        assert ip.run_line_magic("mlops", "model") is None
    for action in SUBCOMMANDS["model"].actions:
        assert f"%mlops model {action.name}" in out.stdout
    with capture_output() as out:
        ip.run_line_magic("mlops", "model register -h")
    assert "--labels VAR" in out.stdout and "--format skops|pickle|joblib" in out.stdout


def test_completion_offers_actions_and_declared_options(ip) -> None:
    assert ip.complete("--so", "%mlops runs --so")[1] == ["--sort"]
    assert ip.complete("pro", "%mlops model pro")[1] == ["promote"]
    assert ip.complete("--if", "%mlops model promote churn --if")[1] == ["--if-better"]
    assert ip.complete("--no", "%mlops drift cur --no")[1] == ["--no-record"]
    assert ip.complete("--w", "%mlops performance churn --w")[1] == ["--window", "--widget"]


def test_runs_has_one_limit_default_for_the_frame_the_table_and_the_command(ip, monkeypatch) -> None:
    monkeypatch.setenv("MLOPS_WIDGETS", "1")
    for n in range(3):
        assert ip.run_cell(f"%%mlops stage train\n%mlops metric accuracy=0.{n + 5}").success
        ip.run_line_magic("mlops", "end")
    assert len(ip.run_line_magic("mlops", "runs")) == 3  # default: every run, as `mlops runs`
    assert len(json.loads(CliRunner().invoke(main, ["runs", "--format", "json"]).output)) == 3
    newest = json.loads(CliRunner().invoke(main, ["runs", "--limit", "2", "--format", "json"]).output)
    assert [r["id"] for r in newest] == list(ip.run_line_magic("mlops", "runs --limit 2")["id"])
    table = ip.run_line_magic("mlops", "runs --widget --limit 2 --sort metrics.accuracy --ascending")
    assert [r["metrics"]["accuracy"] for r in table.records] == [0.5, 0.6]
    refused = CliRunner().invoke(main, ["runs", "--limit", "0"])
    assert refused.exit_code == 2 and "0" in refused.output
    with pytest.raises(UsageError, match="--limit: 0 is less than 1"):
        ip.run_line_magic("mlops", "runs --limit 0")


@pytest.mark.parametrize("group, command, prog", [
    (options.RUN_FILTERS, ["runs"], "%mlops runs"),
    (options.PERFORMANCE, ["performance"], "%mlops performance"),
    (options.LABELS, ["labels", "add"], "%mlops labels"),
    (options.DRIFT_TESTS, ["drift"], "%mlops drift"),
    (options.PROMOTE, ["models", "promote"], "%mlops model promote"),
    (options.ROLLBACK, ["models", "rollback"], "%mlops model rollback"),
    (options.HISTORY, ["models", "history"], "%mlops model history"),
])
def test_a_shared_declaration_gives_both_faces_the_same_options_and_defaults(group, command, prog) -> None:
    cli_help = CliRunner().invoke(main, [*command, "--help"], terminal_width=200).output
    cmd, ctx = main, click.Context(main)
    for word in command:
        cmd = cmd.get_command(ctx, word)
    cli_params = {p.name: p for p in cmd.params}
    sub = dict(LEAVES)[prog]
    parser = build_parser(sub, prog)
    for a in group:
        for flag in a.long_flags:
            assert re.search(rf"{flag}\b", cli_help), f"mlops {' '.join(command)} lacks {flag}"
            assert flag in accepted(prog, sub)
        assert cli_params[a.name].default == a.default and parser.get_default(a.name) == a.initial, a.flags
        assert cli_params[a.name].required == a.required
        if a.const is True:  # the second of a --yes/--no pair shares the first's help in click
            assert " ".join(a.help.split()) in " ".join(cli_help.split()), a.flags


def test_load_ext_builds_no_parser(store_dir) -> None:
    code = ("import sys; from IPython.core.interactiveshell import InteractiveShell;"
            "ip = InteractiveShell.instance(); ip.run_line_magic('load_ext', 'mlops_magic');"
            "from mlops_magic.ipython.parsers import build_parser;"
            "print(build_parser.cache_info().currsize, 'pandas' in sys.modules);"
            "ip.object_inspect_text('%mlops'); print(build_parser.cache_info().currsize > 20)")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False", "True"]  # parsers are built when %mlops? asks, not at load
