"""``mlops serve REF``: a registered model behind HTTP (extra ``[serve]``)."""

from __future__ import annotations

import click

from .main import open_cli_store


@click.command("serve")
@click.argument("ref")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8080, show_default=True)
@click.option("--poll", "poll_interval", type=float, default=1.0, show_default=True,
              help="Seconds between checks that the alias still points at the served version.")
@click.option("--sample", type=click.FloatRange(0, 1), default=1.0, show_default=True,
              help="Fraction of requests whose inputs, predictions and probabilities are kept for monitoring.")
@click.option("--keep", type=click.IntRange(min=1), default=100_000, show_default=True,
              help="Served rows kept per model (older ones are deleted as new ones arrive).")
@click.option("--trust", is_flag=True, help="Allow serving a pickle/joblib model file.")
@click.option("--max-body", type=click.IntRange(min=1), default=8 * 1024 * 1024, show_default=True,
              metavar="BYTES", help="Largest request body accepted on every surface; bigger ones get 413 "
                                    "without being read.")
@click.pass_context
def serve_command(ctx: click.Context, ref: str, host: str, port: int, poll_interval: float, sample: float,
                  trust: bool, max_body: int, keep: int) -> None:
    """Serve a model (NAME, NAME@VERSION or NAME@ALIAS) over HTTP; follows alias moves.

    \b
    Three protocols answer the same model; every request is checked
    against its input schema and logged for monitoring alike:
      its own       POST /predict, /labels; GET /health, /metadata
      OIP v2        POST /v2/models/NAME[/versions/V]/infer; GET /v2/...
                    (tritonclient, KServe, Seldon)
      MLflow's      POST /invocations; GET /ping, /version
                    (ScoringServerClient)
    Details and client examples: docs/models.md#serving.
    """
    from ..serving.app import serve  # lazy: mlops --help imports every command

    serve(ref, host=host, port=port, poll_interval=poll_interval, sample=sample, trust=trust,
          store=open_cli_store(ctx), announce=click.echo, max_body=max_body, keep=keep)
