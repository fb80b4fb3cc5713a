# mypy: ignore-errors
# (source text executed inside the sandboxes, never imported by the worker; kept dependency-free)
"""Data codec between the learner's kernel and the judge (runs inside both sandboxes).

Only plain data crosses: numbers, strings, bytes, containers, numpy arrays of non-object dtype,
pandas Series/DataFrames. Anything else stays in the kernel and is referred to by number. The
judge decodes into genuine objects of exact builtin, numpy or pandas types, so a learner's object
can never reach the judge's comparisons. This module must stay free of package imports: its
source is sent into both sandboxes.
"""

import base64 as _b64
import math as _math

MAX_ITEMS = 200_000
_PLAIN = (bool, int, str, type(None))


class WireError(Exception):
    pass


def encode(value, keep_ref, depth=0):
    """``keep_ref(obj) -> int`` stores a non-data object and returns its reference number."""
    kind = type(value)
    if depth > 50:
        raise WireError("value nested too deeply")
    if kind in _PLAIN:
        return value if kind is not int or abs(value) < 2**53 else {"t": "int", "v": str(value)}
    if kind is float:
        return {"t": "float", "v": repr(value)} if not _math.isfinite(value) else value
    if kind is complex:
        return {"t": "complex", "v": [repr(value.real), repr(value.imag)]}
    if kind is bytes:
        return {"t": "bytes", "v": _b64.b64encode(value).decode()}
    if kind in (list, tuple, set, frozenset):
        if len(value) > MAX_ITEMS:
            raise WireError("container too large")
        items = list(value)
        return {"t": kind.__name__, "v": [encode(v, keep_ref, depth + 1) for v in items]}
    if kind is dict:
        if len(value) > MAX_ITEMS:
            raise WireError("container too large")
        return {
            "t": "dict",
            "v": [[encode(k, keep_ref, depth + 1), encode(v, keep_ref, depth + 1)] for k, v in value.items()],
        }
    module = getattr(kind, "__module__", "")
    if kind.__name__ == "module" and module == "builtins":
        return {"t": "module", "v": value.__name__}
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - the runtime always has numpy
        np = None
    if np is not None:
        if kind is np.ndarray:
            if value.dtype.kind in "biufcSUmM":
                arr = np.ascontiguousarray(value)
                return {
                    "t": "ndarray",
                    "dtype": arr.dtype.str,
                    "shape": list(arr.shape),
                    "v": _b64.b64encode(arr.tobytes()).decode(),
                }
            if value.dtype.kind == "O" and value.size <= MAX_ITEMS:
                return {
                    "t": "objarray",
                    "shape": list(value.shape),
                    "v": [encode(v, keep_ref, depth + 1) for v in value.ravel().tolist()],
                }
        if isinstance(value, np.generic) and kind.__module__ == "numpy" and value.dtype.kind in "biufcSUmM":
            return {"t": "npscalar", "v": encode(np.asarray(value).reshape(1), keep_ref, depth + 1)}
    if module.startswith("pandas") and kind.__name__ in ("Series", "DataFrame", "Index", "RangeIndex"):
        import pandas as pd

        if kind is pd.Series:
            return {
                "t": "series",
                "v": encode(value.to_numpy(), keep_ref, depth + 1),
                "dtype": str(value.dtype),
                "index": encode(value.index, keep_ref, depth + 1),
                "name": encode(value.name, keep_ref, depth + 1),
            }
        if kind is pd.DataFrame:
            return {
                "t": "frame",
                "columns": [encode(c, keep_ref, depth + 1) for c in value.columns.tolist()],
                "data": [encode(value.iloc[:, i], keep_ref, depth + 1) for i in range(value.shape[1])],
                "index": encode(value.index, keep_ref, depth + 1),
            }
        if kind is pd.RangeIndex:
            return {
                "t": "range",
                "v": [value.start, value.stop, value.step],
                "name": encode(value.name, keep_ref, depth + 1),
            }
        if kind is pd.Index:
            return {
                "t": "index",
                "v": encode(value.to_numpy(), keep_ref, depth + 1),
                "dtype": str(value.dtype),
                "name": encode(value.name, keep_ref, depth + 1),
            }
    return {"t": "ref", "v": keep_ref(value), "type": kind.__name__[:80]}


def decode(obj, make_ref, depth=0):
    """Build genuine data objects; ``make_ref(number, type_name)`` stands for a kernel object."""
    if depth > 60:
        raise WireError("value nested too deeply")
    if obj is None or type(obj) in (bool, int, str, float):
        return obj
    if type(obj) is not dict or "t" not in obj:
        raise WireError("malformed value")
    tag = obj["t"]
    v = obj.get("v")
    if tag == "int":
        return int(str(v))
    if tag == "float":
        return float(str(v))
    if tag == "complex":
        return complex(float(v[0]), float(v[1]))
    if tag == "bytes":
        return _b64.b64decode(str(v))
    if tag in ("list", "tuple", "set", "frozenset"):
        items = [decode(x, make_ref, depth + 1) for x in v]
        return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[tag](items)
    if tag == "dict":
        return {decode(k, make_ref, depth + 1): decode(x, make_ref, depth + 1) for k, x in v}
    if tag == "module":
        import importlib

        return importlib.import_module(str(v))
    if tag == "ref":
        return make_ref(int(v), str(obj.get("type", "object")))
    import numpy as np

    if tag == "ndarray":
        dtype = np.dtype(str(obj["dtype"]))
        if dtype.kind not in "biufcSUmM":
            raise WireError("refused dtype")
        shape = tuple(int(s) for s in obj["shape"])
        return np.frombuffer(_b64.b64decode(str(v)), dtype=dtype).reshape(shape).copy()
    if tag == "objarray":
        items = [decode(x, make_ref, depth + 1) for x in v]
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(tuple(int(s) for s in obj["shape"]))
    if tag == "npscalar":
        return decode(v, make_ref, depth + 1)[0]
    import pandas as pd

    if tag == "series":
        values = decode(v, make_ref, depth + 1)
        return pd.Series(
            values, index=decode(obj["index"], make_ref, depth + 1), name=decode(obj["name"], make_ref, depth + 1)
        ).astype(str(obj["dtype"]))
    if tag == "frame":
        columns = [decode(c, make_ref, depth + 1) for c in obj["columns"]]
        data = [decode(c, make_ref, depth + 1) for c in obj["data"]]
        index = decode(obj["index"], make_ref, depth + 1)
        frame = pd.DataFrame({i: s.reset_index(drop=True) for i, s in enumerate(data)})
        frame.columns = pd.Index(columns) if columns else frame.columns
        frame.index = index
        return frame
    if tag == "range":
        return pd.RangeIndex(int(v[0]), int(v[1]), int(v[2]), name=decode(obj["name"], make_ref, depth + 1))
    if tag == "index":
        return pd.Index(
            decode(v, make_ref, depth + 1), dtype=str(obj["dtype"]), name=decode(obj["name"], make_ref, depth + 1)
        )
    raise WireError("unknown tag")
