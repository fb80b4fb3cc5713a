# mypy: ignore-errors
# (source text executed inside the sandboxes, never imported by the worker; kept dependency-free)
"""The judge: a pristine Python process in its own sandbox that runs the instructor's tests.

It never executes learner code. Learner objects stay in the learner's kernel; the judge sees
them as opaque ``RemoteObject`` handles and gets back only plain data (see _wire.py), so patched
builtins or modules, always-equal objects, fake output and frame inspection in the kernel cannot
change what the judge computes. The host reads verdicts from this process's own pipe.

Runs as ``python -c``: the host prepends ``WIRE_SOURCE`` and ``PRELOAD``. No package imports.
"""

import ast
import builtins
import contextlib
import doctest
import io
import json
import math
import os
import sys

_PROTO = os.fdopen(os.dup(1), "w", buffering=1)
_NULL = os.open("/dev/null", os.O_WRONLY)
os.dup2(_NULL, 1)
sys.stdout = io.StringIO()
os.environ["MPLBACKEND"] = "Agg"
for _module in PRELOAD:  # noqa: F821 - provided by the host
    with contextlib.suppress(Exception):  # a missing optional module only costs time later
        __import__(_module)
exec(compile(WARMUP, "<warmup>", "exec"), {})  # noqa: F821, S102 - the host's own boot code

_WIRE = {}
exec(compile(WIRE_SOURCE, "<wire>", "exec"), _WIRE)  # noqa: F821, S102 - the host's own codec
_UNDEFINED = object()


def _send(message):
    _PROTO.write(json.dumps(message) + "\n")


def _receive():
    line = sys.stdin.readline()
    if not line:
        os._exit(0)
    return json.loads(line)


class LearnerError(Exception):
    """An exception raised by learner code whose type is not a builtin one."""


def _remote_exception(info):
    name = str(info.get("type", "Exception"))
    message = str(info.get("msg", ""))
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        return cls(message)
    return LearnerError(f"{name}: {message}")


def _ask(request):
    _send({"op": "rpc", "req": request})
    reply = _receive()
    if "raise" in reply:
        raise _remote_exception(reply["raise"])
    if reply.get("ok") == {"t": "undefined"}:
        return _UNDEFINED
    return _decode(reply.get("ok"))


class RemoteObject:
    """A learner object that stays in the kernel. Equality is identity; repr is fixed."""

    __slots__ = ("_oc_ref", "_oc_type")

    def __init__(self, ref, type_name):
        object.__setattr__(self, "_oc_ref", ref)
        object.__setattr__(self, "_oc_type", type_name)

    def __call__(self, *args, **kwargs):
        return _ask(
            {
                "op": "call",
                "ref": self._oc_ref,
                "args": [_encode(a) for a in args],
                "kwargs": {str(k): _encode(v) for k, v in kwargs.items()},
            }
        )

    def __getattr__(self, name):
        if name.startswith("__") or name.startswith("_oc_"):
            raise AttributeError(name)
        return _ask({"op": "getattr", "ref": self._oc_ref, "name": name})

    def __setattr__(self, name, value):
        raise TypeError("tests cannot set attributes on learner objects")

    def __getitem__(self, key):
        return _ask({"op": "getitem", "ref": self._oc_ref, "key": _encode(key)})

    def __len__(self):
        value = _ask({"op": "len", "ref": self._oc_ref})
        if type(value) is not int:
            raise TypeError("len() of a learner object did not give an int")
        return value

    def __iter__(self):
        value = _ask({"op": "iter", "ref": self._oc_ref})
        if type(value) is not list:
            raise TypeError("iterating a learner object did not give items")
        return iter(value)

    def __contains__(self, item):
        return _ask({"op": "contains", "ref": self._oc_ref, "item": _encode(item)}) is True

    def __repr__(self):
        return f"<learner object of type {self._oc_type}>"

    __str__ = __repr__

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)


def _keep_ref(value):
    if type(value) is RemoteObject:
        return value._oc_ref
    raise TypeError(f"a {type(value).__name__} cannot be passed to learner code")


def _encode(value):
    return _WIRE["encode"](value, _keep_ref)


def _decode(obj):
    return _WIRE["decode"](obj, RemoteObject)


class TestGlobals(dict):
    """Test namespace: instructor names live here; learner names are fetched from the kernel."""

    def __init__(self, answer_names):
        super().__init__()
        self._answers = frozenset(answer_names)
        self._remote = set()
        self._shadow = set()

    def _local(self, name):
        return dict.__contains__(self, name) and (name not in self._answers or name in self._shadow)

    def __getitem__(self, name):
        if self._local(name):
            return dict.__getitem__(self, name)
        if name not in self._answers and hasattr(builtins, name):
            raise KeyError(name)
        value = _ask({"op": "get", "name": name})
        if value is _UNDEFINED:
            if dict.__contains__(self, name):
                return dict.__getitem__(self, name)
            raise KeyError(name)
        self._remote.add(name)
        return value

    def __setitem__(self, name, value):
        if type(value) is RemoteObject and (name in self._answers or name in self._remote):
            _ask({"op": "set", "name": name, "value": _encode(value)})
            self._shadow.discard(name)
            dict.pop(self, name, None)
            return
        if name in self._answers or name in self._remote:
            self._shadow.add(name)
        dict.__setitem__(self, name, value)

    def __delitem__(self, name):
        if self._local(name):
            dict.__delitem__(self, name)
            self._shadow.discard(name)
            return
        if name in self._answers or name in self._remote:
            _ask({"op": "del", "name": name})
            return
        raise KeyError(name)


def _same(actual, expected):
    """Strict equality for autotests: exact types, then values (never the learner's __eq__)."""
    if type(actual) is RemoteObject:
        return not _is_data(expected) and actual._oc_type == type(expected).__name__
    if type(actual) is not type(expected):
        return False
    if isinstance(actual, (list, tuple)):
        return len(actual) == len(expected) and all(_same(a, e) for a, e in zip(actual, expected, strict=True))
    if isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_same(actual[k], expected[k]) for k in expected)
    if type(actual) is float:
        return actual == expected or (math.isnan(actual) and math.isnan(expected))
    module = type(actual).__module__
    if module.startswith("numpy") and hasattr(actual, "shape"):
        import numpy as np

        return (
            actual.shape == expected.shape
            and actual.dtype == expected.dtype
            and bool(np.array_equal(actual, expected, equal_nan=actual.dtype.kind in "fc"))
        )
    if module.startswith("pandas"):
        return bool(actual.equals(expected))
    return bool(actual == expected)


def _is_data(value):
    return type(value) in (bool, int, float, complex, str, bytes, list, tuple, dict, set, frozenset, type(None))


class _Display:
    def __init__(self, stream):
        self.stream = stream

    def __call__(self, value):
        if value is not None:
            builtins._ = value
            self.stream.write(repr(value) + "\n")


def _run_display(code, namespace):
    """Run each top-level statement like a doctest line; return what it printed and showed."""
    out = io.StringIO()
    saved = sys.displayhook
    sys.displayhook = _Display(out)
    try:
        with contextlib.redirect_stdout(out):
            for node in ast.parse(code).body:
                compiled = compile(ast.Interactive(body=[node]), "<test>", "single")
                exec(compiled, namespace)  # noqa: S102 - running instructor tests is the judge's job
    except Exception as exc:  # noqa: BLE001 - part of the compared output
        out.write(f"{type(exc).__name__}: {exc}\n")
    finally:
        sys.displayhook = saved
    return out.getvalue()


def _normal(text):
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _failing_line(tb):
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<test>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class Judge:
    def __init__(self):
        self.globals = None
        self.reference = None

    def setup(self, request):
        self.globals = TestGlobals(request["answer_names"])
        dict.__setitem__(self.globals, "__builtins__", builtins)
        dict.__setitem__(self.globals, "__name__", "__main__")
        dict.__setitem__(self.globals, "__autotest__", self._autotest)
        for statement in _statements(request["setup"]):
            # A failing setup statement fails the tests that need it, not the judge.
            with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                exec(compile(statement, "<setup>", "exec"), self.globals)  # noqa: S102 - instructor code
        if request.get("reference"):
            self.reference = {"__builtins__": builtins, "__name__": "__main__"}
            for cell in request["reference"]:
                with contextlib.suppress(Exception), contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(cell, "<reference>", "exec"), self.reference)  # noqa: S102 - instructor code
        return {"op": "ready"}

    def _autotest(self, expression):
        if self.reference is None:
            raise AssertionError("no reference solution to compare with")
        expected = eval(expression, self.reference)  # noqa: S307 - the instructor's AUTOTEST expression
        actual = eval(expression, self.globals)  # noqa: S307 - the same, on the learner's names
        if not _same(actual, expected):
            raise AssertionError(f"{expression} does not have the expected value")

    def test(self, request):
        kind = request["kind"]
        code = request["code"]
        if kind == "assert":
            return self._assert_test(code, request.get("hidden_lines", []))
        if kind == "output":
            if self.reference is None:
                return {"passed": False, "message": "no reference output"}
            expected = _run_display(code, self.reference)
            actual = _run_display(code, self.globals)
            if _normal(actual) == _normal(expected):
                return {"passed": True, "message": ""}
            return {"passed": False, "message": f"expected:\n{expected.strip()}\ngot:\n{actual.strip()}"}
        if kind == "doctest":
            return self._doctest(code)
        return {"passed": False, "message": f"unknown test kind {kind}"}

    def _assert_test(self, code, hidden_lines):
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                exec(compile(code, "<test>", "exec"), self.globals)  # noqa: S102 - the instructor's test
        except Exception as exc:  # noqa: BLE001 - a failing test
            line = _failing_line(exc.__traceback__)
            hidden = line is not None and any(a <= line <= b for a, b in hidden_lines)
            if hidden:
                return {"passed": False, "message": "a hidden check failed", "hidden_failure": True}
            detail = str(exc)
            if not detail and line is not None:
                lines = code.splitlines()
                detail = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            return {"passed": False, "message": f"{type(exc).__name__}: {detail}".strip()}
        return {"passed": True, "message": ""}

    def _doctest(self, code):
        checker = doctest.OutputChecker()
        for example in doctest.DocTestParser().get_examples(code):
            out = io.StringIO()
            saved = sys.displayhook
            sys.displayhook = _Display(out)
            raised = None
            try:
                with contextlib.redirect_stdout(out):
                    exec(compile(example.source, "<test>", "single"), self.globals)  # noqa: S102 - a doctest
            except Exception as exc:  # noqa: BLE001 - compared with the expected exception
                raised = exc
            finally:
                sys.displayhook = saved
            if raised is not None:
                got = f"{type(raised).__name__}: {raised}\n"
                if example.exc_msg is not None and checker.check_output(
                    example.exc_msg, got[len(type(raised).__name__) + 2 :], 0
                ):
                    continue
                return {"passed": False, "message": f"{example.source.strip()} raised {got.strip()}"}
            if example.exc_msg is not None or not checker.check_output(example.want, out.getvalue(), 0):
                got = out.getvalue().strip()
                return {
                    "passed": False,
                    "message": f"{example.source.strip()}\nexpected:\n{example.want.strip()}\ngot:\n{got}",
                }
        return {"passed": True, "message": ""}


def _statements(code):
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [ast.unparse(node) for node in tree.body]


def _main():
    """One ``grade`` request (setup and every test at once) per process: the judge serves one
    submission. Replies: ``ready`` after setup, then one ``result`` per test, in order."""
    judge = Judge()
    _send({"op": "ready"})
    request = _receive()
    if request["op"] != "grade":
        os._exit(1)
    _send(judge.setup(request))
    for test in request["tests"]:
        try:
            result = judge.test(test)
        except BaseException as exc:  # noqa: BLE001 - a test may raise anything
            result = {"passed": False, "message": f"{type(exc).__name__}: {exc}"}
        _send({"op": "result", **result})
    while True:
        _receive()


_main()
