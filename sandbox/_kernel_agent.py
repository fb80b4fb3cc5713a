# mypy: ignore-errors
# (source text executed inside the sandboxes, never imported by the worker; kept dependency-free)
"""Installed in the learner's kernel only after all learner cells ran: answers the judge's
requests about learner objects. It runs in an untrusted process, so nothing it returns is
believed beyond being data: the judge decodes it strictly (see _wire.py).
"""


def _oc_install(namespace, wire_source):
    import json as _json

    wire = {}
    exec(compile(wire_source, "<wire>", "exec"), wire)
    refs = {}

    def keep(obj):
        number = len(refs) + 1
        refs[number] = obj
        return number

    def lookup(number, type_name):
        return refs[number]

    def enc(value):
        return wire["encode"](value, keep)

    def dec(obj):
        return wire["decode"](obj, lookup)

    def handle(req):
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
        target = refs[int(req["ref"])]
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

    def rpc(payload):
        try:
            return _json.dumps({"ok": handle(_json.loads(payload))})
        except BaseException as exc:  # noqa: BLE001 - every failure is reported to the judge
            return _json.dumps({"raise": {"type": type(exc).__name__, "msg": str(exc)[:2000]}})

    namespace["__oc_rpc__"] = rpc
