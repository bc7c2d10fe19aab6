"""Whether autolog records a stage, and which libraries: the one place the switches are read.

In order, the first that says something wins:

1. the stage header (``%%mlops stage train --no-autolog``, when a face passes ``autolog: False``);
2. ``%mlops autolog on|off [--only sklearn,xgboost]`` in this kernel (:func:`set_kernel_setting`);
3. ``MLOPS_AUTOLOG`` in the environment (``0``/``off``, ``1``/``on``, or a list of libraries): what
   ``mlops run --no-autolog`` sets for the kernel;
4. ``"autolog"`` in the project's ``.mlops/config.json``: ``false``, ``true``, a list of libraries, or
   ``{"enabled": true, "only": [...], "training_score": false}``;
5. on, for every library.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..store.location import read_project_config

#: What ``--only`` can name.
LIBRARIES = ("sklearn", "xgboost", "lightgbm", "matplotlib")
ENV = "MLOPS_AUTOLOG"
_OFF = ("0", "off", "false", "no")
_ON = ("1", "on", "true", "yes", "")


@dataclass(frozen=True)
class Settings:
    enabled: bool = True
    libraries: frozenset[str] = frozenset(LIBRARIES)
    #: ``estimator.score(X, y)`` on the training data after each fit (as MLflow logs it).
    training_score: bool = True
    #: Where this came from, for ``%mlops autolog`` to say.
    source: str = "default"

    def describe(self) -> str:
        if not self.enabled:
            return f"autolog is off ({self.source})"
        which = "all libraries" if self.libraries == frozenset(LIBRARIES) else ", ".join(sorted(self.libraries))
        return f"autolog is on for {which} ({self.source})"


_kernel: Settings | None = None


def parse_only(names: str | Iterable[str] | None) -> frozenset[str]:
    """``"sklearn,xgboost"`` → the set; an unknown name is one clear error."""
    if names is None:
        return frozenset(LIBRARIES)
    items = names.split(",") if isinstance(names, str) else list(names)
    chosen = {str(n).strip() for n in items if str(n).strip()}
    unknown = sorted(chosen - set(LIBRARIES))
    if unknown:
        raise InvalidInputError(f"autolog cannot record {', '.join(unknown)}; choose from {', '.join(LIBRARIES)}")
    if not chosen:
        raise InvalidInputError(f"name at least one library to record: {', '.join(LIBRARIES)}")
    return frozenset(chosen)


def set_kernel_setting(enabled: bool | None, only: str | Iterable[str] | None = None) -> Settings:
    """``%mlops autolog on|off [--only ...]`` for the rest of this process; ``None`` forgets it."""
    global _kernel
    _kernel = None if enabled is None else Settings(enabled, parse_only(only), source="%mlops autolog")
    return _kernel or Settings()


def settings(project_dir: Path | None = None, options: Mapping[str, Any] | None = None) -> Settings:
    """What applies to a stage now (see the module docstring for the order)."""
    base = _from_config(project_dir)
    if options is not None and options.get("autolog") is False:
        return Settings(False, base.libraries, base.training_score, source="the stage's --no-autolog")
    if _kernel is not None:
        return Settings(_kernel.enabled, _kernel.libraries, base.training_score, _kernel.source)
    env = os.environ.get(ENV)
    if env is not None:
        text = env.strip().lower()
        if text in _OFF:
            return Settings(False, base.libraries, base.training_score, source=f"{ENV}={env}")
        libraries = base.libraries if text in _ON else parse_only(text)
        return Settings(True, libraries, base.training_score, source=f"{ENV}={env}")
    return base


def _from_config(project_dir: Path | None) -> Settings:
    if project_dir is None:
        return Settings()
    value = read_project_config(project_dir).get("autolog")
    source = ".mlops/config.json"
    if value is None:
        return Settings()
    if isinstance(value, bool):
        return Settings(value, source=source)
    if isinstance(value, list):
        return Settings(True, parse_only(value), source=source)
    if isinstance(value, dict):
        return Settings(bool(value.get("enabled", True)), parse_only(value.get("only")),
                        bool(value.get("training_score", True)), source=source)
    raise InvalidInputError(f'"autolog" in .mlops/config.json must be true, false, a list of libraries or '
                            f'{{"enabled": ..., "only": [...]}}, not {value!r}')
