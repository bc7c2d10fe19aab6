"""The package's public names: functions stay functions, subpackages stay importable, imports stay light."""

from __future__ import annotations

import importlib
import subprocess

from _support import PYTHON, python_env

import mlops_magic


def test_every_public_name_resolves(store_dir) -> None:
    for name in mlops_magic.__all__:
        assert getattr(mlops_magic, name) is not None, name


def test_store_subpackage_and_get_store_do_not_shadow_each_other(store_dir) -> None:
    sub = importlib.import_module("mlops_magic.store")
    assert mlops_magic.store is sub and callable(sub.open_store)
    assert type(mlops_magic.get_store()).__name__ == "Store"


def test_importing_the_package_imports_nothing_heavy() -> None:
    code = ("import sys, mlops_magic; heavy = ['pandas', 'numpy', 'sklearn', 'papermill', 'ipywidgets', "
            "'scipy', 'matplotlib', 'IPython']; print([m for m in heavy if m in sys.modules])")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, env=python_env(), timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr
