"""The ``%mlops`` subcommands, each declared once: handler, one-line summary, arguments.

Handlers are named as ``"module:function"`` strings and imported only when
called, so ``%load_ext mlops_magic`` imports nothing heavy. The parser, ``-h``,
the reference ``%mlops?`` prints and option completion are all built from this
table (:mod:`.parsers`), so they cannot drift from what a subcommand accepts.
Options that mean the same in the ``mlops`` command come from :mod:`mlops_magic.options`.
"""

from __future__ import annotations

from ..entities import RunStatus
from ..options import DRIFT_TESTS, HISTORY, LABELS, PERFORMANCE, PROMOTE, ROLLBACK, RUN_FILTERS, arg
from ..tracking.stages import STAGE_USAGE
from .parsers import Subcommand, entries, summary

_CORE = "mlops_magic.ipython.commands"
_PANELS = "mlops_magic.ipython.panels"
_MODELS = "mlops_magic.ipython.models"
_MONITORING = "mlops_magic.ipython.monitoring"
_EXPLAIN = "mlops_magic.ipython.explain"

_PAIRS = {"metavar": "NAME=VALUE"}
_RUN = arg("run", nargs="?", help="Run id, unique prefix or latest (default: this kernel's run).")
_NO_RECORD = arg("--no-record", flag=True, help="Compute only; store nothing.")

_MODEL_ACTIONS = (
    Subcommand("register", f"{_MODELS}:cmd_register", "register a fitted model as the next version of NAME", (
        arg("variable", metavar="VAR", help="The variable holding the fitted model."),
        arg("--name", required=True, help="Model name, e.g. churn."),
        arg("--input", metavar="VAR", help="Training frame: input schema, lineage and reference profile."),
        arg("--labels", metavar="VAR",
            help="The true values of --input: the reference for realized and estimated performance."),
        arg("--format", default="skops", choices=("skops", "pickle", "joblib"), help="Model file format."),
        arg("--description", metavar="TEXT", help="A line for the model card."),
    )),
    Subcommand("promote", f"{_MODELS}:cmd_promote",
               "point an alias at a version, behind its gates and the champion", (
                   arg("name", help="The model."), *PROMOTE)),
    Subcommand("rollback", f"{_MODELS}:cmd_rollback", "move an alias back to the version it held before its "
               "latest move", (arg("name", help="The model."), *ROLLBACK)),
    Subcommand("load", f"{_MODELS}:cmd_load", "load a model: NAME (latest), NAME@VERSION or NAME@ALIAS; "
               "model = %mlops model load churn@production", (
                   arg("ref", help="NAME, NAME@VERSION or NAME@ALIAS."),
                   arg("--trust", flag=True, help="Allow loading a pickle/joblib file."),
               )),
    Subcommand("list", f"{_MODELS}:cmd_list", "registered models as a DataFrame"),
    Subcommand("show", f"{_MODELS}:cmd_show", "every version of a model, or one version (NAME@VERSION, NAME@ALIAS)",
               (arg("ref", help="NAME, NAME@VERSION or NAME@ALIAS."),)),
    Subcommand("history", f"{_MODELS}:cmd_history", "the audit history of a model's aliases, newest first",
               (arg("name", help="The model."), *HISTORY)),
)

SUBCOMMANDS: dict[str, Subcommand] = {
    s.name: s
    for s in [
        Subcommand("init", f"{_CORE}:cmd_init",
                   "create the project's .mlops/ store here (or point it at URL) and record into it", (
                       arg("path", nargs="?", help="Project folder (default: the working directory)."),
                       arg("--store", metavar="URL", help="Store URL, e.g. sqlite:////data/mlops.db."),
                   )),
        Subcommand("params", f"{_PANELS}:cmd_params",
                   "set parameters as variables and log them (a headless run's values win); --widget: "
                   "controls for the notebook's parameters cell and Run headlessly", (
                       arg("pairs", nargs="*", **_PAIRS),
                       arg("--widget", flag=True, help="Controls for the parameters cell instead of NAME=VALUE."),
                       arg("--notebook", metavar="NB",
                           help="With --widget: the notebook (default: MLOPS_NOTEBOOK or JPY_SESSION_NAME)."),
                   )),
        Subcommand("metric", f"{_CORE}:cmd_metric",
                   "log metric values (numbers, a variable name, nan, inf); steps count up by default", (
                       arg("pairs", nargs="+", **_PAIRS),
                       arg("--step", type=int, metavar="N", help="Step (default: the next step of each metric)."),
                   )),
        Subcommand("artifact", f"{_CORE}:cmd_artifact", "store files with this run, content-addressed", (
            arg("paths", nargs="+", metavar="PATH"),
            arg("--name", help="Name to store it under (one path only)."),
        )),
        Subcommand("fingerprint", f"{_CORE}:cmd_fingerprint",
                   "record the fingerprint of a DataFrame, array, file or glob", (
                       arg("target", metavar="VAR|PATH|GLOB"),
                       arg("--name", help="Name to record it under (default: VAR|PATH|GLOB)."),
                       arg("--role", default="input", choices=("input", "output"), help="Input or output."),
                   )),
        Subcommand("tag", f"{_CORE}:cmd_tag", "tag the current run", (arg("pairs", nargs="+", **_PAIRS),)),
        Subcommand("runs", f"{_PANELS}:cmd_runs",
                   "a pandas DataFrame of runs, newest first; --widget: a table to filter, sort and compare", (
                       *RUN_FILTERS,
                       arg("--widget", flag=True, help="A table to filter, sort and compare (a page of runs)."),
                       arg("--sort", default="started", metavar="COLUMN",
                           help="With --widget: started, status, trigger, notebook, duration, name or metrics.NAME."),
                       arg("--ascending", flag=True, help="With --widget: smallest (oldest, A) first."),
                   )),
        Subcommand("show", f"{_CORE}:cmd_show",
                   "a run's stages, params, metrics, artifacts and data fingerprints (default: this run)", (_RUN,)),
        Subcommand("status", f"{_PANELS}:cmd_status",
                   "the lifecycle: six stages in order with status, attempt, duration, stale warnings, gates; "
                   "a live panel in Jupyter", (
                       _RUN,
                       arg("--static", flag=True, help="The plain HTML view, not the live panel."),
                   )),
        Subcommand("compare", f"{_PANELS}:cmd_compare",
                   "runs side by side: params and metrics with differences marked, metric curves overlaid", (
                       arg("run", help="A run id, unique prefix or latest."),
                       arg("more_runs", nargs="+", metavar="RUN", help="One or more runs to compare it with."),
                   )),
        Subcommand("plot", f"{_PANELS}:cmd_plot",
                   "metric history over steps, or the latest value of each run over time", (
                       arg("keys", nargs="*", metavar="METRIC", help="Metric names (default: all of the run's)."),
                       arg("--run", help="Run id or prefix (default: this kernel's run, else the latest)."),
                       arg("--across-runs", flag=True, help="Latest value per run against run start time."),
                       arg("--notebook", metavar="NB", help="With --across-runs: runs of this notebook "
                           "(default: the run's)."),
                       arg("--trigger", metavar="T", help="With --across-runs: only this trigger, e.g. schedule."),
                   )),
        Subcommand("end", f"{_CORE}:cmd_end", "close this kernel's run; the next stage starts a new one", (
            arg("--status", default=RunStatus.SUCCEEDED.value,
                choices=(RunStatus.SUCCEEDED.value, RunStatus.FAILED.value), help="How the run ended."),
        )),
        Subcommand("gate", f"{_MODELS}:cmd_gate",
                   "check quality gates on this run's latest metrics; a failure fails the cell (and a headless run)", (
                       arg("expression", nargs="+", help='E.g. "accuracy >= 0.85 and auc >= 0.90".'),
                       arg("--soft", flag=True, help="Record and warn, but do not fail the cell."),
                   )),
        Subcommand("model", "", "the model registry: register, promote, roll back, load and list versions",
                   actions=_MODEL_ACTIONS),
        Subcommand("drift", f"{_MONITORING}:cmd_drift",
                   "per-column drift of CURRENT against --reference with a one-line verdict, stored with the "
                   "stage, and a drift event for the retrain schedule; or --history MODEL", (
                       arg("current", nargs="?", help="Variable, file (csv, parquet, json), or served:NAME[@N] "
                           "(the inputs `mlops serve` sampled)."),
                       arg("--reference", "-r", metavar="REF",
                           help="Variable, file, or model:NAME@ALIAS (the version's stored profile)."),
                       *DRIFT_TESTS,
                       arg("--threshold", type=float, metavar="X", help="Effect-size floor for every column."),
                       arg("--model", metavar="NAME", help="The model this data feeds (names the drift event)."),
                       _NO_RECORD,
                       arg("--history", metavar="MODEL", help="Show the stored drift checks of MODEL instead."),
                       arg("--widget", flag=True, help="An interactive panel (in Jupyter)."),
                   )),
        Subcommand("quality", f"{_MONITORING}:cmd_quality",
                   "schema changes, missing values, unseen categories, values out of the training range", (
                       arg("current", help="Variable or file (csv, parquet, json)."),
                       arg("--reference", "-r", required=True, metavar="REF",
                           help="Variable, file, or model:NAME@ALIAS."),
                       DRIFT_TESTS[0],
                   )),
        Subcommand("labels", f"{_MONITORING}:cmd_labels",
                   "log labels that arrived; they join served predictions by request id (or --key and --time)", (
                       arg("data", help="A DataFrame variable or a file (csv, parquet, json) with an id and a "
                           "label column."),
                       *LABELS,
                   )),
        Subcommand("performance", f"{_MONITORING}:cmd_performance",
                   "realized performance where labels arrived, estimated (CBPE) where not; a drop "
                   "becomes a performance-drop event for retrain schedules", (
                       arg("ref", help="NAME, NAME@ALIAS or NAME@N."),
                       *PERFORMANCE,
                       arg("--current", metavar="DATA",
                           help="Score this batch instead: a variable, a file, or served:NAME[@N]."),
                       arg("--labels", metavar="COL|VAR",
                           help="With --current: the label column, or a variable of labels."),
                       _NO_RECORD,
                       arg("--widget", flag=True, help="A chart over time (in Jupyter)."),
                   )),
        Subcommand("diff", f"{_EXPLAIN}:cmd_diff",
                   "what changed between two runs, stage by stage: code, parameters, data, metrics, environment", (
                       arg("run_a", metavar="RUN_A"),
                       arg("run_b", nargs="?", metavar="RUN_B", help="Default: this kernel's run."),
                   )),
        Subcommand("lineage", f"{_EXPLAIN}:cmd_lineage",
                   "data → runs → model versions → monitor runs, inferred from fingerprints (an SVG graph)", (
                       arg("ref", help="NAME[@ALIAS|@N], a run id or a data digest."),
                   )),
        Subcommand("card", f"{_EXPLAIN}:cmd_card",
                   "the model card of a version: intended use, data, evaluation, lineage, aliases, drift", (
                       arg("ref", help="NAME, NAME@N or NAME@ALIAS."),
                   )),
        Subcommand("autolog", "mlops_magic.ipython.autolog:cmd_autolog",
                   "whether stage cells record their params, metrics, models and figures without logging lines", (
                       arg("state", nargs="?", choices=("on", "off", "default"),
                           help="on, off, or default (forget this kernel's choice); without it, say what applies."),
                       arg("--only", metavar="LIBS",
                           help="Record only these libraries, comma-separated: sklearn, xgboost, lightgbm, "
                                "matplotlib."),
                   )),
        Subcommand("help", f"{_CORE}:cmd_help", "print this reference"),
    ]
}

CELL_USAGE = STAGE_USAGE
CELL_SUMMARY = ("make this cell a tracked lifecycle stage; KIND is one of problem, data, train, evaluate, "
                "deploy, monitor. A cell tagged mlops:KIND is the same stage. --cache restores it from the stage "
                "cache when its code, what it reads, its --inputs files and package versions are unchanged "
                "(docs/cache.md); --outputs files are restored too.")


def reference() -> str:
    """The magic reference ``%mlops?``, ``%mlops`` and ``%mlops help`` print, generated from :data:`SUBCOMMANDS`."""
    lines = [
        "mlops-magic: notebook cells as tracked lifecycle stages.",
        "",
        "Cell magic:",
        f"  {CELL_USAGE}",
        summary(CELL_SUMMARY),
        "",
        "Line magics (%mlops SUBCOMMAND -h shows a subcommand's options):",
    ]
    for sub in SUBCOMMANDS.values():
        lines += entries(sub)
    lines += [
        "",
        "Every subcommand has a Python twin: import mlops_magic as mlops; mlops.log_metric(...),",
        "mlops.runs(), mlops.show(), mlops.stage('train'), ... Errors print one line (UsageError).",
        "Store: the nearest .mlops/ folder above the working directory, or MLOPS_STORE.",
    ]
    return "\n".join(lines)
