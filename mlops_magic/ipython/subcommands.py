"""The ``%mlops`` subcommands: name → handler location, usage and one-line summary.

Handlers are named as ``"module:function"`` strings and imported only when
called, so ``%load_ext mlops_magic`` imports nothing heavy. Each issue's
module adds its own rows here; the reference that ``%mlops?`` prints is
generated from this table, so it cannot drift from what exists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Subcommand:
    name: str
    target: str
    usage: str
    summary: str


_CORE = "mlops_magic.ipython.commands"
_WIDGETS = "mlops_magic.ipython.panels"

SUBCOMMANDS: dict[str, Subcommand] = {
    s.name: s
    for s in [
        Subcommand("init", f"{_CORE}:cmd_init", "%mlops init [PATH] [--store URL]",
                   "create the project's .mlops/ store here (or point it at URL) and record into it"),
        Subcommand("params", f"{_WIDGETS}:cmd_params", "%mlops params NAME=VALUE ... | --widget [--notebook NB]",
                   "set parameters as variables and log them (a headless run's values win); --widget: "
                   "controls for the parameters cell and Run headlessly"),
        Subcommand("metric", f"{_CORE}:cmd_metric", "%mlops metric NAME=VALUE ... [--step N]",
                   "log metric values (numbers, a variable name, nan, inf); steps count up by default"),
        Subcommand("artifact", f"{_CORE}:cmd_artifact", "%mlops artifact PATH ... [--name NAME]",
                   "store files with this run, content-addressed"),
        Subcommand("fingerprint", f"{_CORE}:cmd_fingerprint",
                   "%mlops fingerprint VAR|PATH|GLOB [--name NAME] [--role input|output]",
                   "record the fingerprint of a DataFrame, array, file or glob"),
        Subcommand("tag", f"{_CORE}:cmd_tag", "%mlops tag NAME=VALUE ...", "tag the current run"),
        Subcommand("runs", f"{_WIDGETS}:cmd_runs",
                   "%mlops runs [--notebook NB] [--status S] [--trigger T] [--limit N] [--widget]",
                   "a pandas DataFrame of runs, newest first; --widget: a table to filter, sort and compare"),
        Subcommand("show", f"{_CORE}:cmd_show", "%mlops show [RUN]",
                   "a run's stages, params, metrics, artifacts and data fingerprints (default: this run)"),
        Subcommand("status", f"{_WIDGETS}:cmd_status", "%mlops status [RUN] [--static]",
                   "the lifecycle: six stages in order with status, attempt, duration, stale warnings, gates; "
                   "a live panel in Jupyter"),
        Subcommand("compare", f"{_WIDGETS}:cmd_compare", "%mlops compare RUN RUN ...",
                   "runs side by side: params and metrics with differences marked, metric curves overlaid"),
        Subcommand("plot", f"{_WIDGETS}:cmd_plot",
                   "%mlops plot [METRIC ...] [--run RUN] [--across-runs [--notebook NB] [--trigger T]]",
                   "metric history over steps, or the latest value of each run over time"),
        Subcommand("end", f"{_CORE}:cmd_end", "%mlops end [--status succeeded|failed]",
                   "close this kernel's run; the next stage starts a new one"),
        Subcommand("gate", "mlops_magic.ipython.models:cmd_gate",
                   '%mlops gate "METRIC OP NUMBER [and|or ...]" [--soft]',
                   "check quality gates on this run's latest metrics; a failure fails the cell (and a headless run)"),
        Subcommand("model", "mlops_magic.ipython.models:cmd_model",
                   "%mlops model register|promote|rollback|load|list|show|history ...",
                   "model registry: register VAR --name NAME --input X; promote NAME --to ALIAS; load NAME@ALIAS"),
        Subcommand("drift", "mlops_magic.ipython.monitoring:cmd_drift",
                   "%mlops drift CURRENT --reference REF|model:NAME@ALIAS [--columns A,B] [--test COL=TEST] | "
                   "--history MODEL",
                   "per-column drift with a one-line verdict; stored with the stage, and a drift event "
                   "for the retrain schedule"),
        Subcommand("quality", "mlops_magic.ipython.monitoring:cmd_quality",
                   "%mlops quality CURRENT --reference REF [--columns A,B]",
                   "schema changes, missing values, unseen categories, values out of the training range"),
        Subcommand("labels", "mlops_magic.ipython.monitoring:cmd_labels",
                   "%mlops labels DATA --model NAME --label COL [--id COL]",
                   "log labels that arrived; they join served predictions by request id"),
        Subcommand("performance", "mlops_magic.ipython.monitoring:cmd_performance",
                   "%mlops performance REF [--window 1d] [--current DATA [--labels COL]] [--widget]",
                   "realized performance where labels arrived, estimated (CBPE) where not; a drop "
                   "becomes a performance-drop event for retrain schedules"),
        Subcommand("diff", "mlops_magic.ipython.explain:cmd_diff", "%mlops diff RUN_A [RUN_B]",
                   "what changed between two runs, stage by stage: code, parameters, data, metrics, environment"),
        Subcommand("lineage", "mlops_magic.ipython.explain:cmd_lineage", "%mlops lineage NAME@ALIAS|RUN|DIGEST",
                   "data → runs → model versions → monitor runs, inferred from fingerprints (an SVG graph)"),
        Subcommand("card", "mlops_magic.ipython.explain:cmd_card", "%mlops card NAME[@ALIAS|@N]",
                   "the model card of a version: intended use, data, evaluation, lineage, aliases, drift"),
        Subcommand("autolog", "mlops_magic.ipython.autolog:cmd_autolog",
                   "%mlops autolog [on|off|default] [--only sklearn,xgboost,lightgbm,matplotlib]",
                   "whether stage cells record their params, metrics, models and figures without logging lines"),
        Subcommand("help", f"{_CORE}:cmd_help", "%mlops help", "print this reference"),
    ]
}

CELL_USAGE = "%%mlops stage KIND [--name NAME]"
CELL_SUMMARY = ("make this cell a tracked lifecycle stage; KIND is one of problem, data, train, evaluate, "
                "deploy, monitor. A cell tagged mlops:KIND is the same stage.")


def reference() -> str:
    """The magic reference ``%mlops?`` prints."""
    width = max(len(s.usage) for s in SUBCOMMANDS.values())
    lines = [
        "mlops-magic: notebook cells as tracked lifecycle stages.",
        "",
        "Cell magic:",
        f"  {CELL_USAGE}",
        f"      {CELL_SUMMARY}",
        "",
        "Line magics (%mlops SUBCOMMAND -h shows a subcommand's options):",
    ]
    for sub in SUBCOMMANDS.values():
        if len(sub.usage) > 60:
            lines.append(f"  {sub.usage}")
            lines.append(f"  {'':<{min(width, 60)}}  {sub.summary}")
        else:
            lines.append(f"  {sub.usage:<{min(width, 60)}}  {sub.summary}")
    lines += [
        "",
        "Every subcommand has a Python twin: import mlops_magic as mlops; mlops.log_metric(...),",
        "mlops.runs(), mlops.show(), mlops.stage('train'), ... Errors print one line (UsageError).",
        "Store: the nearest .mlops/ folder above the working directory, or MLOPS_STORE.",
    ]
    return "\n".join(lines)
