"""``mlops performance REF``, ``mlops labels add FILE`` and ``mlops predictions add FILE``: a model's real
performance from a shell or CI."""

from __future__ import annotations

import json
import sys

import click

from ..options import LABELS, PERFORMANCE, PREDICTIONS
from .main import open_cli_store
from .options import declared


@click.command("performance")
@click.argument("ref")
@declared(*PERFORMANCE)
@click.option("--current", default=None, type=click.Path(dir_okay=False),
              help="Score this batch of inputs (csv, parquet, json) instead of served traffic.")
@click.option("--labels", "label_column", default=None, help="With --current: the column holding the labels.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--fail-on-drop", is_flag=True, help="Exit with status 1 when the latest window dropped.")
@click.pass_context
def performance_command(ctx: click.Context, ref: str, window: str | None, current: str | None,
                        label_column: str | None, metric: str | None, threshold: float | None,
                        max_drop: float | None, min_rows: int | None, fmt: str, fail_on_drop: bool) -> None:
    """Realized performance of REF where labels arrived, estimated (CBPE) where they have not."""
    from ..monitoring.performance import DEFAULT_MAX_DROP, DEFAULT_MIN_ROWS, performance  # lazy: pulls numpy

    report = performance(open_cli_store(ctx), ref, window=window, current=current, labels=label_column,
                         metric=metric, threshold=threshold,
                         max_drop=DEFAULT_MAX_DROP if max_drop is None else max_drop,
                         min_rows=DEFAULT_MIN_ROWS if min_rows is None else min_rows)
    click.echo(json.dumps(report.to_dict(), indent=2) if fmt == "json" else repr(report))
    if fail_on_drop and report.dropped:
        sys.exit(1)


@click.group("labels", context_settings={"help_option_names": ["-h", "--help"]})
def labels() -> None:
    """Labels that arrive after the predictions: joined by request id."""


@labels.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@declared(*LABELS)
@click.pass_context
def add(ctx: click.Context, path: str, model: str, id_column: str, label_column: str, key: str | None,
        time_column: str | None) -> None:
    """Add labels from a file (csv, parquet, json); the last label for a request id wins."""
    from ..errors import InvalidInputError  # lazy: mlops --help imports every command
    from ..monitoring.performance import log_labels  # lazy: pulls numpy
    from ..monitoring.records import read_table  # lazy: pulls numpy

    frame = read_table(path)
    id_column = key or id_column
    for column in (id_column, label_column, *([time_column] if time_column else [])):
        if column not in frame.columns:
            known = ", ".join(map(str, frame.columns))
            raise InvalidInputError(f"{path} has no column {column!r}; its columns: {known}")
    click.echo(repr(log_labels(open_cli_store(ctx), model, frame[id_column], frame[label_column], key=key,
                               times=frame[time_column] if time_column else None)))


@click.group("predictions", context_settings={"help_option_names": ["-h", "--help"]})
def predictions() -> None:
    """Predictions made elsewhere (a batch job, a vendor's service), recorded as served traffic."""


@predictions.command("add")
@click.argument("path", type=click.Path(dir_okay=False))
@declared(*PREDICTIONS)
@click.pass_context
def add_predictions(ctx: click.Context, path: str, model: str, prediction_column: str, proba_columns: tuple[str, ...],
                    id_column: str | None, time_column: str | None) -> None:
    """Record a file of predictions (csv, parquet, json): every column not named by an option is an input."""
    from ..monitoring.predictions import log_prediction_table  # lazy: pulls numpy
    from ..monitoring.records import read_table  # lazy: pulls numpy

    click.echo(repr(log_prediction_table(open_cli_store(ctx), model, read_table(path),
                                         prediction_column=prediction_column, proba_columns=proba_columns,
                                         id_column=id_column, time_column=time_column)))
