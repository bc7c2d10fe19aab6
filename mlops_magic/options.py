"""Command-line arguments declared once, as data; each face builds its own parser from them.

``%mlops`` builds argparse parsers (``ipython/parsers.py``), ``mlops`` builds click options
(``cli/options.py``). Where a magic and a command mean the same thing (the runs filters, the
performance and labels options, drift's tests, the model aliases) they share one declaration
below, so their names, types, defaults and help cannot drift apart. An option only one face has
is declared in that face, with the same type. This module imports nothing: it is loaded by
``%load_ext mlops_magic`` and ``mlops --help`` alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Arg:
    """One positional argument (``"run"``) or option (``"--limit"``, ``"-r"``) and what it takes.

    ``flag`` options take no value and store ``const`` (default ``True``) or else ``False``.
    Options with the same ``exclusive`` name exclude each other; flags among them default to ``None``,
    so two flags sharing a ``dest`` (``--higher-is-better``, ``--lower-is-better``) mean yes, no or unsaid.
    ``multiple`` options may be repeated and give a list. ``minimum`` bounds an ``int``/``float``.
    """

    flags: tuple[str, ...]
    help: str = ""
    dest: str | None = None
    type: Callable[[str], Any] | None = None
    default: Any = None
    metavar: str | None = None
    choices: tuple[str, ...] = ()
    flag: bool = False
    const: Any = True
    multiple: bool = False
    required: bool = False
    nargs: str | None = None  # positionals: "?", "*" or "+"
    minimum: float | None = None
    exclusive: str = ""

    @property
    def positional(self) -> bool:
        return not self.flags[0].startswith("-")

    @property
    def name(self) -> str:
        """The attribute the parsed value lands in: ``dest``, else the first long flag (``--max-drop`` → max_drop)."""
        if self.dest:
            return self.dest
        long = next((f for f in self.flags if f.startswith("--")), self.flags[0])
        return long.lstrip("-").replace("-", "_")

    @property
    def long_flags(self) -> tuple[str, ...]:
        return tuple(f for f in self.flags if f.startswith("--"))

    @property
    def initial(self) -> Any:
        """The value when the argument is not given."""
        if self.flag and self.default is None:
            return None if self.exclusive else False
        if self.multiple and self.default is None:
            return []
        return self.default


def arg(*flags: str, **fields: Any) -> Arg:
    """``arg("--limit", type=int, minimum=1, metavar="N", help=...)``: the argparse-like spelling of an :class:`Arg`."""
    return Arg(flags, **fields)


# -- shared by a magic and a command --------------------------------------------------------------
RUN_FILTERS: tuple[Arg, ...] = (
    arg("--notebook", metavar="NB", help="Only runs of this notebook."),
    arg("--status", metavar="S", help="Only these statuses, comma-separated, e.g. failed or succeeded,failed."),
    arg("--trigger", metavar="T", help="Only these triggers, comma-separated, e.g. schedule."),
    arg("--user", metavar="U", help="Only runs these users started, comma-separated (MLOPS_USER, JUPYTERHUB_USER "
        "or the OS user at the time)."),
    arg("--limit", type=int, minimum=1, metavar="N", help="At most this many runs, newest first (default: all)."),
)
#: ``mlops runs --sweep ID`` and ``%mlops runs --sweep ID``: a sweep's parent run and its points only.
SWEEP_FILTER: Arg = arg("--sweep", metavar="ID", help="Only this sweep (a run id or prefix) and its points.")

PERFORMANCE: tuple[Arg, ...] = (
    arg("--window", metavar="LENGTH", help="Window length over served traffic: 30m, 6h, 1d, 1w (default: all)."),
    arg("--metric", help="accuracy, precision, recall, f1, auc | mae, rmse, r2."),
    arg("--threshold", type=float, metavar="X", help="An absolute bar for the metric."),
    arg("--max-drop", type=float, metavar="X",
        help="How far below the reference value counts as a drop (default: the monitor's)."),
    arg("--min-rows", type=int, metavar="N", help="Rows a window needs to be judged (default: the monitor's)."),
)

LABELS: tuple[Arg, ...] = (
    arg("--model", required=True, metavar="NAME", help="The model whose served predictions these label."),
    arg("--id", dest="id_column", default="request_id", metavar="COL", help="The request id column."),
    arg("--label", dest="label_column", required=True, metavar="COL", help="The label column."),
    arg("--key", metavar="COL", help="Join on this input column (e.g. customer_id) instead of request ids."),
    arg("--time", dest="time_column", metavar="COL",
        help="With --key: the label's time column; it labels the latest prediction at or before it."),
)

PREDICTIONS: tuple[Arg, ...] = (
    arg("--model", required=True, metavar="REF",
        help="The model version that made the predictions: NAME (latest), NAME@ALIAS or NAME@N."),
    arg("--prediction", dest="prediction_column", default="prediction", metavar="COL",
        help="The prediction column."),
    arg("--proba", dest="proba_columns", multiple=True, metavar="COL",
        help="Class probability columns in the model's class order (repeatable or comma-separated); "
             "for two classes the second class's alone will do."),
    arg("--id", dest="id_column", metavar="COL",
        help="The id labels will join on later (default: ids are generated, as mlops serve does)."),
    arg("--time", dest="time_column", metavar="COL", help="When each prediction was made (default: now)."),
)

DRIFT_TESTS: tuple[Arg, ...] = (
    arg("--columns", metavar="A,B", help="Comma-separated columns to test (default: all shared)."),
    arg("--test", dest="tests", multiple=True, metavar="COLUMN=TEST",
        help="Test for one column: ks, wasserstein, chi2, jensenshannon or psi (repeatable)."),
)

_DIRECTION = "Whether higher or lower METRIC is better, when its name does not tell."
PROMOTE: tuple[Arg, ...] = (
    arg("--to", dest="alias", required=True, metavar="ALIAS", help="Alias to move, e.g. production or staging."),
    arg("--version", type=int, metavar="N", help="Version to promote (default: the latest)."),
    arg("--if-better", metavar="METRIC", help="Only if it beats the version holding the alias on METRIC."),
    arg("--higher-is-better", dest="higher", flag=True, exclusive="direction", help=_DIRECTION),
    arg("--lower-is-better", dest="higher", flag=True, const=False, exclusive="direction", help=_DIRECTION),
    arg("--reason", metavar="TEXT", help="Why, kept in the alias history."),
)

ROLLBACK: tuple[Arg, ...] = (
    arg("--alias", default="production", help="The alias to move back."),
    PROMOTE[-1],
)

HISTORY: tuple[Arg, ...] = (
    arg("--alias", help="Only this alias."),
)
