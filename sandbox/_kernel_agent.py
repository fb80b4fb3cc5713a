# mypy: ignore-errors
# (source text executed inside the sandboxes, never imported by the worker; kept dependency-free)
"""Answers the judge's requests about learner objects, from inside the learner's kernel.

Loaded as module ``_oc_agent`` when the kernel boots (the host prepends ``WIRE_SOURCE``) and
started only after all learner cells ran: one silent execute request calls ``serve``, which
connects to the worker's socket and answers one JSON line per request until the worker hangs up.
It runs in an untrusted process, so nothing it returns is believed beyond being data: the worker
re-serialises every reply and the judge decodes it strictly (see _wire.py).
"""

import json as _json
import socket as _socket

_WIRE = {}
exec(compile(WIRE_SOURCE, "<wire>", "exec"), _WIRE)  # noqa: F821, S102 - the host's own codec


class _Objects:
    """Learner objects handed to the judge as reference numbers."""

    def __init__(self):
        self.refs = {}

    def keep(self, obj):
        number = len(self.refs) + 1
        self.refs[number] = obj
        return number

    def lookup(self, number, type_name):
        return self.refs[number]


def answer(namespace, objects, req):
    def enc(value):
        return _WIRE["encode"](value, objects.keep)

    def dec(obj):
        return _WIRE["decode"](obj, objects.lookup)

    op = req["op"]
    if op == "get":
        if req["name"] not in namespace:
            return {"t": "undefined"}
        return enc(namespace[req["name"]])
    if op == "set":
        namespace[req["name"]] = dec(req["value"])
        return None
    if op == "del":
        namespace.pop(req["name"], None)
        return None
    target = objects.refs[int(req["ref"])]
    if op == "call":
        args = [dec(a) for a in req["args"]]
        kwargs = {k: dec(v) for k, v in req["kwargs"].items()}
        return enc(target(*args, **kwargs))
    if op == "getattr":
        return enc(getattr(target, req["name"]))
    if op == "getitem":
        return enc(target[dec(req["key"])])
    if op == "len":
        return enc(len(target))
    if op == "iter":
        items = []
        for item in target:
            items.append(item)
            if len(items) > 100_000:
                raise ValueError("too many items")
        return enc(items)
    if op == "contains":
        return enc(dec(req["item"]) in target)
    raise ValueError("unknown request")


def reply(namespace, objects, line):
    try:
        return _json.dumps({"ok": answer(namespace, objects, _json.loads(line))})
    except BaseException as exc:  # noqa: BLE001 - every failure is reported to the judge
        return _json.dumps({"raise": {"type": type(exc).__name__, "msg": str(exc)[:2000]}})


def serve(namespace, path):
    """Answer requests arriving on the worker's unix socket at ``path`` until it closes."""
    objects = _Objects()
    conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    conn.connect(path)
    with conn, conn.makefile("rb") as requests:
        for line in requests:
            conn.sendall(reply(namespace, objects, line).encode() + b"\n")


#: Exit status of a kernel stopped by ``cap_output``: the worker reports "output limit".
OUTPUT_LIMIT_EXIT = 125


def cap_output(limit):
    """Stop the kernel once learner code has written more than ``limit`` characters.

    The worker counts output as it arrives and enforces the limit itself; this only spares
    ipykernel from packing one gigantic buffered write into one message and running out of
    memory, which lost the output and the verdict with it. Learner code can undo it: then the
    worker's count still holds.
    """
    import os

    from ipykernel.iostream import OutStream

    original = OutStream.write
    written = [0]

    def write(self, string):
        written[0] += len(string)
        if written[0] > limit:
            os._exit(OUTPUT_LIMIT_EXIT)
        return original(self, string)

    OutStream.write = write
