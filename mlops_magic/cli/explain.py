"""'mlops diff', 'mlops reproduce', 'mlops lineage' and 'mlops models card': render the explain core."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .main import open_cli_store


def page(title: str, body: str) -> str:
    """A standalone HTML page around a fragment (UTF-8 declared: the renderings use arrows)."""
    from ..display.html import esc  # lazy: mlops --help imports every command

    return (f'<!doctype html>\n<html><head><meta charset="utf-8"><title>{esc(title)}</title></head>'
            f"<body>{body}</body></html>")


@click.command("diff")
@click.argument("run_a")
@click.argument("run_b")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "html"]), default="text", show_default=True)
@click.pass_context
def diff_command(ctx: click.Context, run_a: str, run_b: str, fmt: str) -> None:
    """What changed from RUN_A to RUN_B, stage by stage: code, parameters, data, metrics, outputs, environment.

    The first line is the headline ("only the data changed; auc +0.007"). JSON is an object with
    'headline' and 'stages' (lifecycle order; kind, name, code_changed, inputs_changed,
    params_changed, metrics).
    """
    from ..explain.diff import diff_runs  # lazy: mlops --help imports every command

    result = diff_runs(open_cli_store(ctx), run_a, run_b)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    elif fmt == "html":
        click.echo(page(f"diff {run_a} {run_b}", result.html()))
    else:
        click.echo(result.text())


@click.command("reproduce")
@click.argument("run")
@click.option("--tolerance", type=click.FloatRange(min=0), default=1e-6, show_default=True,
              help="Largest absolute difference of a metric that still counts as the same.")
@click.option("--allow-changed-inputs", is_flag=True,
              help="Run even when a recorded input file or glob no longer has the recorded fingerprint.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def reproduce_command(ctx: click.Context, run: str, tolerance: float, allow_changed_inputs: bool, fmt: str) -> None:
    """Re-execute RUN as recorded (its kept code, parameters and stages) and compare the metrics.

    The last line starts with 'reproduced' (exit 0) or 'differs' (exit 1).
    """
    from ..explain.reproduce import reproduce  # lazy: mlops --help imports every command

    result = reproduce(open_cli_store(ctx), run, tolerance=tolerance, allow_changed_inputs=allow_changed_inputs,
                       say=None if fmt == "json" else (lambda line: click.echo(line, err=True)))
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
        click.echo(result.verdict)
    else:
        if result.verdict == "differs" and result.diff is not None:
            click.echo(result.diff.text())
        click.echo(result.summary())
    ctx.exit(result.exit_code)


@click.command("lineage")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "html", "json"]), default="text",
              show_default=True)
@click.pass_context
def lineage_command(ctx: click.Context, ref: str, fmt: str) -> None:
    """Data → runs → model versions → monitor runs around REF, inferred from fingerprints.

    REF is a model (churn, churn@3, churn@production), a run id or a data digest (prefix).
    DOT is for Graphviz ('| dot -Tsvg'), HTML an inline SVG.
    """
    from ..explain.lineage import lineage  # lazy: mlops --help imports every command

    graph = lineage(open_cli_store(ctx), ref)
    click.echo({"text": graph.text, "dot": graph.dot, "html": lambda: page(f"lineage of {ref}", graph.html()),
                "json": lambda: json.dumps(graph.to_dict(), indent=2, default=str)}[fmt]())


@click.command("card")
@click.argument("ref")
@click.option("--format", "fmt", type=click.Choice(["markdown", "html", "json"]), default="markdown",
              show_default=True)
@click.option("-o", "--output", default=None, type=click.Path(dir_okay=False), help="Write the card to this file.")
@click.pass_context
def card_command(ctx: click.Context, ref: str, fmt: str, output: str | None) -> None:
    """The model card of REF (NAME, NAME@N, NAME@ALIAS), written from the lifecycle."""
    from ..explain.card import model_card  # lazy: mlops --help imports every command

    card = model_card(open_cli_store(ctx), ref)
    text = {"markdown": card.markdown, "html": lambda: page(card.title, card.html()),
            "json": lambda: json.dumps(card.to_dict(), indent=2, default=str)}[fmt]()
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text)
