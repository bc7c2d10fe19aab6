"""``%mlops gate`` and ``%mlops model …``: parse, call the registry core, return something to display."""

from __future__ import annotations

from typing import Any

from .. import errors
from .commands import _IDENT, MagicContext, parser


def cmd_gate(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("gate", "Check quality gates against this run's latest metrics; record the result.")
    p.add_argument("expression", nargs="+", help='e.g. "accuracy >= 0.85 and auc >= 0.90"')
    p.add_argument("--soft", action="store_true", help="record and warn, but do not fail the cell")
    args = p.parse_args(argv)
    from ..registry.gates import gate  # lazy: %load_ext stays light

    return gate(" ".join(args.expression), soft=args.soft)


_MODEL_USAGE = ("%mlops model register VAR --name NAME [--input VAR] [--format skops|pickle|joblib] | "
                "promote NAME --to ALIAS | rollback NAME --alias ALIAS | load REF [--trust] | list | show NAME | "
                "history NAME")


def cmd_model(ctx: MagicContext, argv: list[str]) -> Any:
    if not argv or argv[0] in ("-h", "--help"):
        print(f"usage: {_MODEL_USAGE}")
        return None
    action, rest = argv[0], argv[1:]
    handler = _ACTIONS.get(action)
    if handler is None:
        raise errors.InvalidInputError(f"unknown action {action!r}; use one of {', '.join(_ACTIONS)}")
    return handler(ctx, rest)


def _variable(ctx: MagicContext, name: str, what: str) -> Any:
    if not _IDENT.match(name):
        raise errors.InvalidInputError(f"{what} must be the name of a variable, got {name!r}")
    if name not in ctx.user_ns:
        raise errors.NotFoundError(f"no variable {name!r} in this notebook")
    return ctx.user_ns[name]


def _register(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model register", "Register a fitted model as the next version of NAME.")
    p.add_argument("variable", metavar="VAR", help="the variable holding the fitted model")
    p.add_argument("--name", required=True, help="model name, e.g. churn")
    p.add_argument("--input", default=None, metavar="VAR", help="training frame: input schema and lineage")
    p.add_argument("--labels", default=None, metavar="VAR",
                   help="the true values of --input: the reference for realized and estimated performance")
    p.add_argument("--format", default="skops", choices=["skops", "pickle", "joblib"])
    p.add_argument("--description", default=None)
    args = p.parse_args(argv)
    from ..registry import model_files as model_io  # lazy: %load_ext stays light
    from ..registry.versions import register  # lazy: %load_ext stays light

    model = _variable(ctx, args.variable, "the model")
    data = _variable(ctx, args.input, "--input") if args.input else None
    labels = _variable(ctx, args.labels, "--labels") if args.labels else None
    session = ctx.session
    session.settle()  # the version records the run's metrics, including what this stage autologged so far
    stage = session.current_stage
    import sys
    import warnings

    with warnings.catch_warnings(record=True) as caught:  # one line each, not a file:line warning block
        warnings.simplefilter("always")
        version = register(session.store, model, args.name, input=data, format=args.format,
                           run_id=session.recording_run_id(), stage_id=stage.id if stage else None,
                           description=args.description, label=args.variable, input_name=args.input,
                           labels=labels)
    for warning in caught:
        if issubclass(warning.category, (model_io.TrustedTypesWarning, model_io.UnsafeFormatWarning)):
            print(f"mlops: warning: {warning.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return version


def _promote(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model promote", "Point an alias at a version, behind its gates and the champion.")
    p.add_argument("name")
    p.add_argument("--to", required=True, metavar="ALIAS", help="e.g. production or staging")
    p.add_argument("--version", type=int, default=None, help="default: the latest version")
    p.add_argument("--if-better", default=None, metavar="METRIC",
                   help="promote only if it beats the version holding the alias on METRIC")
    direction = p.add_mutually_exclusive_group()
    direction.add_argument("--higher-is-better", dest="higher", action="store_true", default=None)
    direction.add_argument("--lower-is-better", dest="higher", action="store_false")
    p.add_argument("--reason", default=None)
    args = p.parse_args(argv)
    from ..registry.aliases import promote  # lazy: %load_ext stays light

    return promote(ctx.session.store, args.name, args.to, version=args.version, if_better=args.if_better,
                   higher_is_better=args.higher, reason=args.reason,
                   run_id=ctx.session.active_run_id())


def _rollback(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model rollback", "Move an alias back to the version it held before its latest move.")
    p.add_argument("name")
    p.add_argument("--alias", default="production")
    p.add_argument("--reason", default=None)
    args = p.parse_args(argv)
    from ..registry.aliases import rollback  # lazy: %load_ext stays light

    return rollback(ctx.session.store, args.name, args.alias, reason=args.reason,
                    run_id=ctx.session.active_run_id())


def _load(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model load", "Load a model: NAME (latest), NAME@VERSION or NAME@ALIAS.")
    p.add_argument("ref")
    p.add_argument("--trust", action="store_true", help="allow loading a pickle/joblib file")
    args = p.parse_args(argv)
    from ..registry.versions import load  # lazy: %load_ext stays light

    return load(ctx.session.store, args.ref, trust=args.trust)


def _list(ctx: MagicContext, argv: list[str]) -> Any:
    parser("model list", "Registered models as a DataFrame.").parse_args(argv)
    from ..registry.api import list_models  # lazy: %load_ext stays light

    return list_models()


def _show(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model show", "Every version of a model, or one version (NAME@VERSION / NAME@ALIAS).")
    p.add_argument("ref")
    args = p.parse_args(argv)
    from ..registry.api import model_versions  # lazy: %load_ext stays light
    from ..registry.versions import get_version  # lazy: %load_ext stays light

    if "@" in args.ref:
        return get_version(ctx.session.store, args.ref)
    return model_versions(args.ref)


def _history(ctx: MagicContext, argv: list[str]) -> Any:
    p = parser("model history", "The audit history of a model's aliases, newest first.")
    p.add_argument("name")
    p.add_argument("--alias", default=None)
    args = p.parse_args(argv)
    from ..registry.api import alias_history  # lazy: %load_ext stays light

    return alias_history(args.name, args.alias)


_ACTIONS = {"register": _register, "promote": _promote, "rollback": _rollback, "load": _load, "list": _list,
            "show": _show, "history": _history}
