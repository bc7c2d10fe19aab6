"""The Open Inference Protocol v2 over REST (KServe, Triton, Seldon/MLServer) for ``mlops serve``.

The spec: kserve/open-inference-protocol, ``specification/protocol/inference_rest.md``. A served model
is described by its registered input schema: one tensor per column (``[-1]``, its datatype from the
column's dtype), or one 2-D tensor (``[-1, features]``) for a model registered from a plain array; its
outputs are ``predict`` and, when the model has it, ``predict_proba``. An infer request is read into
the rows :func:`serving.inputs.prepare` checks, so every check, id and sample of ``/predict`` applies.

Triton's binary tensor data extension is read and written too, because ``tritonclient`` uses it by
default: the JSON part is the first ``Inference-Header-Content-Length`` bytes, then each tensor with a
``binary_data_size`` parameter takes that many bytes, in order (``BYTES`` elements each prefixed by
their length, 4 bytes little-endian). Errors are ``{"error": "..."}``: 400 for a request the model
cannot take, 404 for a model or version this server does not serve.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..entities import json_safe
from ..errors import InvalidInputError, NotFoundError
from .answer import Answer, Call, Reply, json_reply, jsonable, to_json
from .body import parse_body
from .holder import Served
from .inputs import check_column, column_kind

#: The protocol's tensor datatypes, as numpy dtypes.
DATATYPES = {"BOOL": "bool", "UINT8": "uint8", "UINT16": "uint16", "UINT32": "uint32", "UINT64": "uint64",
             "INT8": "int8", "INT16": "int16", "INT32": "int32", "INT64": "int64", "FP16": "float16",
             "FP32": "float32", "FP64": "float64", "BYTES": "object"}
_INTEGERS = {d for d in DATATYPES if "INT" in d}
_NUMBERS = _INTEGERS | {"FP16", "FP32", "FP64"}
#: Which datatypes a column of each kind (``serving.inputs.column_kind``) takes.
ACCEPTS = {"float": _NUMBERS, "int": _INTEGERS, "bool": {"BOOL"}, "string": {"BYTES"}, "datetime": {"BYTES"},
           "any": set(DATATYPES)}
_VALUES = {"BOOL": "bool", "BYTES": "string"}  # the column kind whose check a datatype's values must pass
#: The one input of a model registered from a plain array.
ARRAY_INPUT = "input-0"
EXTENSIONS = ["binary_tensor_data"]
FORMS = ('{"inputs": [{"name": COLUMN, "shape": [ROWS], "datatype": "FP64", "data": [...]}, ...]}, '
         "one tensor per column of the model's input schema")


def datatype_of(dtype: str | None) -> str:
    """A schema column's dtype as a tensor datatype; a column registered without one shows as FP64."""
    kind = column_kind(dtype)
    if kind in ("float", "int"):
        exact = {v: k for k, v in DATATYPES.items()}.get((dtype or "").lower())
        return exact or ("FP64" if kind == "float" else "INT64")
    return {"bool": "BOOL", "string": "BYTES", "datetime": "BYTES"}.get(kind, "FP64")


def array_datatype(dtype: Any) -> str:
    """A numpy dtype as a tensor datatype: text and objects are BYTES."""
    if dtype.kind in "biuf":
        return {v: k for k, v in DATATYPES.items()}.get(dtype.name, "FP64")
    return "BYTES"


# -- metadata ---------------------------------------------------------------------------------------------
def server_metadata(version: str) -> dict[str, Any]:
    return {"name": "mlops-magic", "version": version, "extensions": EXTENSIONS}


def resolve(served: Served, name: str, version: str | None) -> Served:
    """``served`` when the path names it, else :class:`NotFoundError` saying what this server serves."""
    v = served.version
    if name != v.name:
        raise NotFoundError(f"model {name[:80]!r} is not served here; this server serves {v.name} (v{v.version})")
    if version is not None and version != str(v.version):
        raise NotFoundError(f"{v.name} version {version[:40]!r} is not served here; this server serves "
                            f"{v.name} version {v.version}")
    return served


def model_metadata(served: Served) -> dict[str, Any]:
    """The model's name, version, platform and its inputs and outputs as tensors."""
    v, schema = served.version, served.version.input_schema or {}
    if schema.get("kind") == "array":
        inputs = [{"name": ARRAY_INPUT, "datatype": datatype_of(schema.get("dtype")),
                   "shape": [-1, schema["n_features"]]}]
    else:
        inputs = [{"name": c["name"], "datatype": datatype_of(c.get("dtype")), "shape": [-1]}
                  for c in schema.get("columns", [])]
    return {"name": v.name, "versions": [str(v.version)], "platform": f"{v.flavour}_{v.format}",
            "inputs": inputs, "outputs": output_metadata(served.model)}


def output_metadata(model: Any) -> list[dict[str, Any]]:
    classes = getattr(model, "classes_", None)
    out = [{"name": "predict", "datatype": array_datatype(classes.dtype) if classes is not None else "FP64",
            "shape": [-1]}]
    if hasattr(model, "predict_proba"):
        out.append({"name": "predict_proba", "datatype": "FP64",
                    "shape": [-1, len(classes) if classes is not None else -1]})
    return out


# -- an infer request -------------------------------------------------------------------------------------
@dataclass
class Tensor:
    name: str
    datatype: str
    shape: list[int]
    data: list[Any]  # flat, row-major
    binary: bool


def read_infer(body: bytes, headers: Any, served: Served) -> Call:
    """An infer request (JSON, or JSON then binary tensors) as the rows the schema checks read."""
    head, rest = _split(body, headers.get("inference-header-content-length"))
    request = parse_body(head)
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list) or not request["inputs"]:
        raise InvalidInputError(f"an infer request is a JSON object with inputs; send {FORMS}")
    parameters = _parameters(request.get("parameters"), "the request")
    tensors, offset = [], 0
    for i, item in enumerate(request["inputs"]):
        tensor, offset = _tensor(item, i, rest, offset)
        tensors.append(tensor)
    if offset != len(rest):
        raise InvalidInputError(f"the body has {len(rest) - offset} bytes after the last binary tensor; "
                                "each binary input needs a binary_data_size parameter")
    outputs = _outputs(request.get("outputs"), served.model, parameters.get("binary_data_output") is True)
    return Call(_rows(tensors, served.version.input_schema), header_id=headers.get("x-request-id"),
                given_id=request.get("id"), proba=any(name == "predict_proba" for name, _ in outputs),
                extra={"outputs": outputs})


def _split(body: bytes, header_length: str | None) -> tuple[bytes, bytes]:
    if header_length is None:
        return body, b""
    if not header_length.strip().isdigit() or int(header_length) > len(body):
        raise InvalidInputError(f"Inference-Header-Content-Length is {header_length[:40]!r}; it must be the "
                                f"length of the JSON part of the body (at most {len(body)} bytes)")
    return body[:int(header_length)], body[int(header_length):]


def _parameters(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInputError(f"{where}'s parameters must be an object of names and values")
    return value


def _tensor(item: Any, index: int, rest: bytes, offset: int) -> tuple[Tensor, int]:
    """Input ``index`` of the request, its data flat; the offset of the next binary tensor."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
        raise InvalidInputError(f"input {index} has no name; send {FORMS}")
    name, datatype, shape = item["name"], item.get("datatype"), item.get("shape")
    if datatype not in DATATYPES:
        shown = repr(datatype)[:40] if isinstance(datatype, str) else type(datatype).__name__
        raise InvalidInputError(f"input {name!r} has datatype {shown}; the datatypes are {', '.join(DATATYPES)}")
    if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**63 for d in shape):
        raise InvalidInputError(f"input {name!r} needs a shape, a list of non-negative integers ([rows] for "
                                "a column)")
    size = _parameters(item.get("parameters"), f"input {name!r}").get("binary_data_size")
    if size is not None:
        if type(size) is not int or not 0 <= size <= len(rest) - offset:
            raise InvalidInputError(f"input {name!r} has binary_data_size {size!r}, but {len(rest) - offset} "
                                    "bytes of binary data are left")
        data, binary, offset = _decode(rest[offset:offset + size], datatype, name), True, offset + size
    elif isinstance(item.get("data"), list):
        data, binary = _flat(item["data"]), False
    else:
        raise InvalidInputError(f"input {name!r} has no data (a list of values, or binary data)")
    if len(data) != math.prod(shape):
        raise InvalidInputError(f"input {name!r} has {len(data)} values; its shape {shape} holds "
                                f"{math.prod(shape)}")
    return Tensor(name, datatype, shape, data, binary), offset


def _flat(data: list[Any]) -> list[Any]:
    """Tensor data in its natural nested form or flat, as one flat row-major list."""
    if list not in set(map(type, data)):  # the usual flat data: a C loop
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for v in stack[-1]:
            if isinstance(v, list):
                stack.append(iter(v))
                break
            out.append(v)
        else:
            stack.pop()
    return out


def _decode(raw: bytes, datatype: str, name: str) -> list[Any]:
    import numpy as np

    if datatype != "BYTES":
        dtype = np.dtype(DATATYPES[datatype]).newbyteorder("<")
        if len(raw) % dtype.itemsize:
            raise InvalidInputError(f"input {name!r} has {len(raw)} bytes of {datatype}, not a whole number of "
                                    f"{dtype.itemsize}-byte values")
        return np.frombuffer(raw, dtype=dtype).tolist()
    values: list[Any] = []
    i = 0
    while i < len(raw):
        n = int.from_bytes(raw[i:i + 4], "little")
        if i + 4 + n > len(raw):
            raise InvalidInputError(f"input {name!r}: element {len(values)} runs past its binary data "
                                    "(each BYTES element is a 4-byte little-endian length, then the bytes)")
        try:
            values.append(raw[i + 4:i + 4 + n].decode("utf-8"))
        except UnicodeDecodeError:
            raise InvalidInputError(f"input {name!r}: element {len(values)} is not UTF-8 text") from None
        i += 4 + n
    return values


def _rows(tensors: list[Tensor], schema: dict[str, Any] | None) -> dict[str, Any]:
    """The tensors as the rows :func:`serving.inputs.prepare` reads: instances, or columns."""
    names = [t.name for t in tensors]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InvalidInputError(f"input {twice[0]!r} is sent twice; send each input once")
    if schema and schema.get("kind") == "array":
        width = schema["n_features"]
        wanted = f"one 2-D tensor of shape [-1, {width}] (datatype FP64)"
        if len(tensors) != 1:
            raise InvalidInputError(f"this model takes {wanted}; the request sent {len(tensors)} inputs")
        t = tensors[0]
        if len(t.shape) != 2 or t.shape[1] != width:
            raise InvalidInputError(f"input {t.name!r} has shape {t.shape}; this model takes {wanted}")
        if t.datatype not in _NUMBERS:
            raise InvalidInputError(f"input {t.name!r} is {t.datatype}; this model takes {wanted}")
        return {"instances": [t.data[r * width:(r + 1) * width] for r in range(t.shape[0])]}
    dtypes = {c["name"]: c.get("dtype") for c in (schema or {}).get("columns", [])}
    columns: dict[str, list[Any]] = {}
    for t in tensors:
        if not 1 <= len(t.shape) <= 2 or (len(t.shape) == 2 and t.shape[1] != 1):
            raise InvalidInputError(f"input {t.name!r} has shape {t.shape}; a column is a tensor of shape "
                                    "[rows] (or [rows, 1]), one per column")
        if t.shape[0] != tensors[0].shape[0]:
            raise InvalidInputError(f"input {t.name!r} has {t.shape[0]} rows; input {tensors[0].name!r} has "
                                    f"{tensors[0].shape[0]}")
        dtype = dtypes.get(t.name)
        kind = column_kind(dtype)
        if t.datatype not in ACCEPTS[kind]:
            raise InvalidInputError(f"input {t.name!r} is {t.datatype}; the model's column is {dtype}: send "
                                    f"{datatype_of(dtype)}")
        if kind == "any" and not t.binary and t.name in dtypes:  # no dtype to check against: the datatype's
            check_column(t.name, _VALUES.get(t.datatype, "float" if t.datatype[0] == "F" else "int"),
                         t.data, DATATYPES[t.datatype])
        columns[t.name] = t.data
    return {"columns": columns}


def _outputs(value: Any, model: Any, binary: bool) -> list[tuple[str, bool]]:
    """(name, in binary) of each output asked for; every output when none is named."""
    available = [o["name"] for o in output_metadata(model)]
    if not value:
        return [(name, binary) for name in available]
    if not isinstance(value, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str)
                                                for o in value):
        raise InvalidInputError('outputs must be a list of {"name": OUTPUT}; the outputs are '
                                + ", ".join(available))
    out = []
    for item in value:
        if item["name"] not in available:
            raise InvalidInputError(f"output {item['name'][:80]!r} is not produced by this model; it produces "
                                    f"{', '.join(available)}")
        params = _parameters(item.get("parameters"), f"output {item['name']!r}")
        if "classification" in params:
            raise InvalidInputError("the classification extension is not supported; ask for predict_proba")
        out.append((item["name"], params.get("binary_data", binary) is True))
    return out


# -- the answer -------------------------------------------------------------------------------------------
def infer_reply(done: Answer, call: Call) -> Reply:
    """The inference response: each output asked for, as JSON data or binary after the JSON part."""
    import numpy as np

    v = done.served.version
    outputs, blobs = [], []
    for name, binary in call.extra["outputs"]:
        values = done.predictions if name == "predict" else done.probabilities
        array = np.atleast_1d(np.asarray(values))  # a 0-d answer is one prediction, as on every surface
        if array.dtype == object:  # labels of an object array: strings, or numbers that lost their type
            array = np.asarray(json_safe(array.tolist(), non_finite="null"))  # pd.NA as None
            if array.dtype == object and all(v is None or type(v) in (int, float) for v in array.flat):
                array = array.astype(float)  # numbers and missing ones (NaN, answered null as every NaN is)
        datatype = array_datatype(array.dtype)
        tensor: dict[str, Any] = {"name": name, "datatype": datatype, "shape": list(array.shape)}
        if binary:
            blobs.append(_encode(array, datatype))
            tensor["parameters"] = {"binary_data_size": len(blobs[-1])}
        else:
            flat = array.ravel()  # NaN and infinity as null: JSON cannot carry them (binary data can)
            tensor["data"] = [str(x) for x in flat.tolist()] if datatype == "BYTES" else jsonable(flat)
        outputs.append(tensor)
    head: dict[str, Any] = {"model_name": v.name, "model_version": str(v.version)}
    if done.request_id is not None:
        head["id"] = done.request_id
    if done.prepared.ignored:
        head["parameters"] = {"ignored_inputs": ",".join(done.prepared.ignored)}
    head["outputs"] = outputs
    body = to_json(head, done.served)
    if not blobs:
        return Reply(body, headers=done.echo())
    headers = {**done.echo(), "Inference-Header-Content-Length": str(len(body))}
    return Reply(body + b"".join(blobs), headers=headers, media_type="application/octet-stream")


def _encode(array: Any, datatype: str) -> bytes:
    if datatype != "BYTES":
        return array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
    parts = []
    for value in array.ravel().tolist():
        text = str(value).encode("utf-8")
        parts += [len(text).to_bytes(4, "little"), text]
    return b"".join(parts)


def error(status: int, message: str) -> Reply:
    """The protocol's error object; a request the model cannot take is a 400, as the spec asks."""
    return json_reply({"error": message}, 400 if status == 422 else status)


class OpenInference:
    """The ``/v2/models/{name}[/versions/{v}]/infer`` surface (see :class:`serving.answer.Surface`)."""

    forms = FORMS

    def __init__(self, name: str, version: str | None) -> None:
        self.name, self.version = name, version

    def read(self, body: bytes, headers: Any, served: Served) -> Call:
        return read_infer(body, headers, resolve(served, self.name, self.version))

    def reply(self, answer: Answer, call: Call) -> Reply:
        return infer_reply(answer, call)

    def error(self, status: int, message: str) -> Reply:
        return error(status, message)
