"""Turn a :class:`RunRequest` into a notebook ready to execute, refusing bad input before anything is written.

Stage selection keeps untagged (setup) cells and the chosen stage cells, in
both spellings (``%%mlops stage KIND`` first lines and ``mlops:KIND`` tags).
The *inputs signature* summarises what decides a run's result: the code of
the cells that will run, the parameters, and fingerprints of watched inputs.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError
from ..tracking.fingerprint import fingerprint_path
from ..tracking.stages import code_digest, notebook_stages, read_notebook_json, stage_of_cell
from ..tracking.values import check_param_names, parse_literal
from .request import RunRequest


@dataclass
class PreparedRun:
    request: RunRequest
    run_id: str
    notebook_path: Path  # absolute path of the source notebook
    recorded_notebook: str  # the path the store records (relative to the project when inside it)
    nb: dict[str, Any]  # the selected cells, as JSON
    source_index: list[int]  # prepared cell index → index in the source notebook
    cwd: Path
    kernel: str
    signature: str
    signature_parts: dict[str, Any] = field(default_factory=dict)
    unknown_params: list[str] = field(default_factory=list)
    known_params: list[str] = field(default_factory=list)
    native_kernel: bool = False  # the notebook names no kernel: run this interpreter's own ipykernel
    env: dict[str, str] = field(default_factory=dict)  # extra kernel environment (a cluster worker sets it)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def prepare(request: RunRequest, project_dir: Path | None = None) -> PreparedRun:
    path = Path(request.notebook).expanduser().resolve()
    if path.is_dir():
        raise InvalidInputError(f"{request.notebook} is a folder; give a .ipynb notebook file")
    if not path.exists():
        raise InvalidInputError(f"no such notebook: {request.notebook}")
    nb = read_notebook_json(path)
    if nb.get("nbformat", 4) < 4:
        raise InvalidInputError(f"{request.notebook} is nbformat {nb.get('nbformat')}; save it as nbformat 4")
    nb, source_index = select_cells(nb, request.stages, request.from_stage, str(request.notebook))
    nb, source_index = drop_error_markers(nb, source_index)
    check_param_names(request.params)
    cwd = Path(request.cwd).expanduser().resolve() if request.cwd else path.parent
    if not cwd.is_dir():
        raise InvalidInputError(f"--cwd {request.cwd} is not a folder")
    spec = (nb.get("metadata") or {}).get("kernelspec")
    named = isinstance(spec, dict) and bool(spec.get("name"))
    nb, kernel = with_kernel(nb, request.kernel)
    parts = signature_parts(nb, request.params, request.watch, base=cwd)
    known = notebook_parameters(nb, kernel) if request.params else []
    return PreparedRun(
        unknown_params=[k for k in request.params if known is not None and k not in known],
        known_params=known or [],
        request=request, run_id=request.run_id or new_run_id(), notebook_path=path,
        recorded_notebook=request.record_as or recorded_path(path, project_dir), nb=nb,
        source_index=source_index, cwd=cwd,
        kernel=kernel, signature=digest_of(parts), signature_parts=parts,
        native_kernel=not request.kernel and not named,
    )


#: The kernel name recorded for a notebook that names none (``nbformat.v4.new_notebook()``, jupytext
#: without ``--set-kernel``). Such a run starts the ipykernel of the interpreter running the runner, the
#: one mlops-magic is installed in (``PreparedRun.native_kernel``), whatever a ``python3`` kernelspec of
#: the user's says. ``--kernel`` overrides it.
DEFAULT_KERNEL = "python3"
ERROR_MARKER_TAG = "papermill-error-cell-tag"  # papermill.execute.ERROR_MARKER_TAG, without importing papermill


def drop_error_markers(nb: dict[str, Any], source_index: list[int]) -> tuple[dict[str, Any], list[int]]:
    """Remove the banner cells an earlier failed papermill run left, keeping each cell's file index.

    papermill removes them itself before it counts cells, so without this every cell after a banner
    would be named by a number that is not its place in the file the user opens.
    """
    keep = [i for i, cell in enumerate(nb.get("cells", []))
            if ERROR_MARKER_TAG not in ((cell.get("metadata") or {}).get("tags") or [])]
    if len(keep) == len(nb.get("cells", [])):
        return nb, source_index
    copy = dict(nb)
    copy["cells"] = [nb["cells"][i] for i in keep]
    return copy, [source_index[i] for i in keep]


def with_kernel(nb: dict[str, Any], requested: str | None) -> tuple[dict[str, Any], str]:
    """The kernel to run ``nb`` with, and ``nb`` with the kernel and language metadata papermill needs."""
    meta = dict(nb.get("metadata") or {})
    spec: dict[str, Any] = meta["kernelspec"] if isinstance(meta.get("kernelspec"), dict) else {}
    kernel = requested or spec.get("name") or DEFAULT_KERNEL
    language = spec.get("language") or (meta.get("language_info") or {}).get("name")
    if spec.get("name") == kernel and language:
        return nb, kernel
    if not language:
        language = _kernel_language(kernel)
    meta["kernelspec"] = {**spec, "name": kernel, "language": language,
                          "display_name": spec.get("display_name") or kernel}
    if not (meta.get("language_info") or {}).get("name"):
        meta["language_info"] = {**(meta.get("language_info") or {}), "name": language}
    return {**nb, "metadata": meta}, kernel


def _kernel_language(kernel: str) -> str:
    try:
        from jupyter_client.kernelspec import KernelSpecManager

        return KernelSpecManager().get_kernel_spec(kernel).language or "python"
    except Exception:  # an unknown kernel is reported by check_kernel, with the installed names
        return "python"


def notebook_parameters(nb: dict[str, Any], kernel: str | None) -> list[str] | None:
    """Names set in the cell tagged ``parameters`` (papermill's own inference); None when unknown.

    None (papermill cannot parse this language, or the notebook) means "cannot tell", so no
    parameter is reported as missing from a cell we could not read.
    """
    found = _inferred_parameters(nb, kernel)
    return None if found is None else [p.name for p in found]


def parameter_types(nb: dict[str, Any], kernel: str | None) -> dict[str, str]:
    """The type of each parameter of the ``parameters`` cell (``int``, ``float``, ``bool``, ``str``): its
    annotation when it has one, else its default's literal type; parameters of another type are left out.
    A sweep types the values it is given by these, as the notebook would see them."""
    types: dict[str, str] = {}
    for p in _inferred_parameters(nb, kernel) or []:
        annotated = str(p.inferred_type_name or "None")
        if annotated in ("int", "float", "bool", "str"):
            types[p.name] = annotated
            continue
        default = str(p.default or "").strip()
        value = parse_param_value(default)
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and default[:1] in "'\"" and default):
            types[p.name] = type(value).__name__
    return types


def _inferred_parameters(nb: dict[str, Any], kernel: str | None) -> list[Any] | None:
    import nbformat
    from papermill.inspection import _infer_parameters

    try:
        node = nbformat.reads(json.dumps(nb), as_version=4)  # joins list-form sources
        for cell in node.cells:
            cell.metadata.setdefault("tags", [])  # papermill's loader adds these; inference needs them
        return list(_infer_parameters(node, name=kernel))
    except Exception:
        return None


def recorded_path(path: Path, project_dir: Path | None) -> str:
    if project_dir is not None:
        try:
            return str(path.relative_to(Path(project_dir).resolve()))
        except ValueError:
            pass
    return str(path)


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def select_cells(nb: dict[str, Any], stages: tuple[str, ...], from_stage: str | None,
                 label: str) -> tuple[dict[str, Any], list[int]]:
    """A copy of ``nb`` holding setup cells plus the chosen stages, and where each cell came from."""
    found = notebook_stages(nb)  # raises on a malformed stage header, naming the cell
    everything = list(range(len(nb["cells"])))
    if not stages and not from_stage:
        return nb, everything
    if stages and from_stage:
        raise InvalidInputError("use --stages or --from, not both")
    names = sorted({s.kind for s in found} | {s.name for s in found})
    available = ", ".join(dict.fromkeys([s.name for s in found])) or "none (no stage cells)"
    wanted = list(stages) if stages else [from_stage or ""]
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise InvalidInputError(f"{label} has no stage {unknown[0]!r}; its stages: {available}")
    stage_at = {s.index: s for s in found}
    keep: set[int] = set()
    if stages:
        keep = {s.index for s in found if s.kind in stages or s.name in stages}
    else:
        first = min(s.index for s in found if from_stage in (s.kind, s.name))
        keep = {s.index for s in found if s.index >= first}
    selected = [i for i in everything if i not in stage_at or i in keep]
    copy = dict(nb)
    copy["cells"] = [nb["cells"][i] for i in selected]
    return copy, selected


def signature_parts(nb: dict[str, Any], params: dict[str, Any], watch: tuple[str, ...],
                    base: Path) -> dict[str, Any]:
    """What decides a run's result: code of the cells that run, parameters, watched inputs."""

    code = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = _source(cell)
        spec = stage_of_cell(source, (cell.get("metadata") or {}).get("tags"))
        code.append([spec.name if spec else "setup", code_digest(source)])
    inputs = {pattern: fingerprint_path(pattern, base=base).digest for pattern in watch}
    return {"code": code, "params": json.loads(json.dumps(params, sort_keys=True, default=str)),
            "inputs": inputs}


def digest_of(parts: dict[str, Any]) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def what_changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human words for the difference between two signatures' parts."""
    changes = []
    if old.get("code") != new.get("code"):
        before = {n: d for n, d in old.get("code", [])}
        names = [n for n, d in new.get("code", []) if before.get(n) != d]
        changes.append("code of " + ", ".join(dict.fromkeys(names)) if names else "cells removed")
    if old.get("params") != new.get("params"):
        changes.append("parameters")
    for pattern, digest in new.get("inputs", {}).items():
        if old.get("inputs", {}).get(pattern) != digest:
            changes.append(f"input {pattern}")
    return changes


def parse_param_value(text: str) -> Any:
    """Type a ``-p NAME VALUE`` value as papermill does: int, float, bool, None, else string."""

    return parse_literal(text)


def load_params_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parameters from a YAML (or JSON) mapping file."""
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh)
    except FileNotFoundError:
        raise InvalidInputError(f"no such parameters file: {path}") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise InvalidInputError(f"{path} is not valid YAML: {first}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold a mapping of parameter names to values")
    return {str(k): v for k, v in data.items()}
