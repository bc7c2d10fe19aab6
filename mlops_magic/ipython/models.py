"""``%mlops gate`` and ``%mlops model ACTION``: take the parsed arguments, call the registry core, return the answer."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from .. import errors
from .commands import _IDENT, MagicContext


def cmd_gate(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.gates import gate  # lazy: %load_ext stays light

    return gate(" ".join(args.expression), soft=args.soft)


def _variable(ctx: MagicContext, name: str, what: str) -> Any:
    if not _IDENT.match(name):
        raise errors.InvalidInputError(f"{what} must be the name of a variable, got {name!r}")
    if name not in ctx.user_ns:
        raise errors.NotFoundError(f"no variable {name!r} in this notebook")
    return ctx.user_ns[name]


def cmd_register(ctx: MagicContext, args: Namespace) -> Any:
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


def cmd_promote(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.aliases import promote  # lazy: %load_ext stays light

    return promote(ctx.session.store, args.name, args.alias, version=args.version, if_better=args.if_better,
                   higher_is_better=args.higher, reason=args.reason,
                   run_id=ctx.session.active_run_id())


def cmd_rollback(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.aliases import rollback  # lazy: %load_ext stays light

    return rollback(ctx.session.store, args.name, args.alias, reason=args.reason,
                    run_id=ctx.session.active_run_id())


def cmd_load(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.versions import load  # lazy: %load_ext stays light

    return load(ctx.session.store, args.ref, trust=args.trust)


def cmd_list(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.api import list_models  # lazy: %load_ext stays light

    return list_models()


def cmd_show(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.api import model_versions  # lazy: %load_ext stays light
    from ..registry.versions import get_version  # lazy: %load_ext stays light

    if "@" in args.ref:
        return get_version(ctx.session.store, args.ref)
    return model_versions(args.ref)


def cmd_history(ctx: MagicContext, args: Namespace) -> Any:
    from ..registry.api import alias_history  # lazy: %load_ext stays light

    return alias_history(args.name, args.alias)

