# mypy: ignore-errors
# (source text executed inside the zygote's sandbox, never imported by the worker)
"""The zygote: one sandboxed process per worker that imports the AI stack once and forks every
kernel and judge from that warm image, each into namespaces, a /tmp and limits of its own.

It runs inside bubblewrap (the same policy as a cold kernel) and never runs learner code. The
host prepends ``SPEC`` (what to preload, the agent, wire and judge sources, the control fd) and
talks to it over a SOCK_SEQPACKET socket: one JSON request per packet, file descriptors attached.

A sandbox forked from here is one process: clone(2) puts it straight into new user, mount,
pid, net, ipc and uts namespaces, where it is pid 1 and becomes the payload (the ipykernel, or
the judge). Before that it gives itself a fresh size-capped /tmp and /dev/shm, hides /proc (it
would list the other sandboxes) and every other sandbox's directory, and waits for the host to
put it in its own pids cgroup; then it drops every capability and sets no_new_privs, so nothing
learner code does can undo those mounts. Memory is copied on write: no two sandboxes share
writable memory. Being pid 1 means the kernel kills every other process of the sandbox when the
payload exits or is killed, and that signals sent from inside with no handler are ignored (a
learner cannot kill their own kernel by pid; the host kills it from outside).

Each copy of this 240 MB image costs the Linux kernel ~7 ms of CPU to make and tear down, so one
process per sandbox instead of three (an intermediary that unshares, an init, the payload) is
~28 ms less per submission (kernel and judge). Where clone(2) cannot be used safely (see
_clone_support), the three-process layout remains:

    zygote ── intermediary (old pid namespace; unshares, waits, reports the exit status)
                  └── init (pid 1 of the new pid namespace: reaps, exits with the payload)
                         └── payload
"""

import contextlib
import ctypes
import gc
import json
import os
import random
import select
import signal
import socket
import sys
import threading
import types

_libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
_NAMESPACES = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_NAME, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 1, 15, 24, 38
_CAP_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _check(result, what):
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount(source, target, fstype, flags, data=None):
    _check(
        _libc.mount(
            source.encode() if source else None,
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"mount {target}",
    )


def _locked_flags(path):
    """Flags of the mount at ``path`` that a less privileged namespace must keep when it
    remounts it (the kernel refuses the remount otherwise): nodev and the atime ones."""
    have = os.statvfs(path).f_flag
    flags = have & (MS_NODEV | MS_NOATIME | MS_NODIRATIME)
    return flags | (MS_RELATIME if have & os.ST_RELATIME else 0)


def _drop_privileges():
    """No capability in any set, none to regain (bounding set, no_new_privs)."""
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


#: clone(2)'s number where its first argument is the flags; None: no clone, three processes.
_SYS_CLONE = {"x86_64": 56, "aarch64": 220}.get(os.uname().machine)
#: Where glibc keeps a thread's kernel tid in its thread descriptor (struct pthread: 704 bytes of
#: TCB header on x86_64, 192 of padding elsewhere, then a two-pointer list, then the tid).
_TID_OFFSET = {"x86_64": 0x2D0, "aarch64": 0xD0}.get(os.uname().machine)
#: Address of this thread's tid field, once _clone_support has verified it; None: do not clone.
_TID_FIELD = None
#: The zygote's uid and gid, which every sandbox maps to themselves in its user namespace (read
#: here: inside a new user namespace, before the mapping, they read as the overflow ids).
_IDS = (os.getuid(), os.getgid())


def _tid_field():
    if _TID_OFFSET is None:
        return None
    _libc.pthread_self.restype = ctypes.c_void_p
    return ctypes.c_int.from_address(_libc.pthread_self() + _TID_OFFSET)


def _clone_support():
    """Whether _clone_sandbox is safe here. A raw clone(2) skips what glibc's fork does for the
    child, of which one thing matters: glibc reads the thread's tid from its descriptor (the
    owner of recursive mutexes such as the dynamic loader's), and the child would inherit the
    zygote's, which a thread of the sandbox could then also have. _clone_sandbox writes the
    child's own tid there; this checks that the field is where we think, in this process and in
    a child forked by glibc (which has a different tid)."""
    global _TID_FIELD
    field = _tid_field()
    if _SYS_CLONE is None or field is None or field.value != threading.get_native_id():
        return False
    child = os.fork()
    if child == 0:
        os._exit(0 if _tid_field().value == threading.get_native_id() else 1)
    _, status = os.waitpid(child, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        _TID_FIELD = ctypes.addressof(field)
        return True
    return False


#: The same C library, called with the GIL held: a clone must not let another thread run.
_raw = ctypes.PyDLL(None, use_errno=True)
_raw.syscall.restype = ctypes.c_long


def _clone_sandbox():
    """fork(2) into new namespaces in one step: returns the child's pid in the parent, 0 in the
    child (pid 1 of its new pid namespace, with every capability in its new user namespace).
    Python's own before- and after-fork steps run around it as they do around os.fork."""
    ctypes.pythonapi.PyOS_BeforeFork()
    pid = _raw.syscall(ctypes.c_long(_SYS_CLONE), ctypes.c_long(_NAMESPACES | signal.SIGCHLD), None, None, None, None)
    if pid == 0:
        ctypes.c_int.from_address(_TID_FIELD).value = threading.get_native_id()
        ctypes.pythonapi.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    ctypes.pythonapi.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone: {os.strerror(err)}")
    return pid


def _map_ids(uid, gid):
    """In a new user namespace: map the zygote's uid and gid to themselves."""
    proc_fd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
    try:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
            fd = os.open(f"self/{name}", os.O_WRONLY, dir_fd=proc_fd)
            try:
                os.write(fd, text.encode())
            finally:
                os.close(fd)
    finally:
        os.close(proc_fd)


def _isolate(request, workdir):
    """In the sandbox's new mount namespace: a mount view that shows no other sandbox."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    hidden = MS_NOSUID | MS_NODEV | MS_NOEXEC
    if request.get("datasets"):
        # This sandbox's datasets only, from the zygote's read-only view of every exercise's
        # (in its /tmp: the fresh /tmp below hides the rest), read-only at /data.
        _mount(request["datasets"], "/data", None, MS_BIND)
        _mount(None, "/data", None, MS_REMOUNT | MS_BIND | MS_RDONLY | hidden | _locked_flags("/data"))
    # /proc lists every sandbox this zygote forked: hide it. Its tmpfs first serves as a
    # staging point for this sandbox's own directory while /tmp is replaced.
    _mount("tmpfs", "/proc", "tmpfs", hidden, "size=64k,mode=700")
    os.mkdir("/proc/own")
    _mount(workdir, "/proc/own", None, MS_BIND)
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(request['tmp_bytes'])},mode=1777")
    os.makedirs(workdir, mode=0o755)
    _mount("/proc/own", workdir, None, MS_BIND)
    _check(_libc.umount2(b"/proc/own", MNT_DETACH), "umount staging")
    os.rmdir("/proc/own")
    _mount(None, "/proc", None, MS_REMOUNT | MS_RDONLY | hidden, "size=64k,mode=555")
    # bubblewrap's /dev is one tmpfs shared by every sandbox of this zygote: read-only here (a
    # bind remount changes this view only), with a private /dev/shm on top.
    _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC | _locked_flags("/dev"))
    _mount("tmpfs", "/dev/shm", "tmpfs", hidden, "size=16m,mode=1777")
    if os.path.isdir("/dev/pts"):
        _mount("tmpfs", "/dev/pts", "tmpfs", hidden | MS_RDONLY, "size=4k,mode=555")
    os.chdir("/tmp")


def _close_all_but(keep):
    highest = os.sysconf("SC_OPEN_MAX")
    low = 0
    for fd in [*sorted(keep), highest]:
        if low < fd:
            os.closerange(low, fd)
        low = fd + 1


def _apply_limits(limits):
    import resource

    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), tuple(value))
    os.umask(0o077)


def _reseed():
    """Every sandbox would otherwise draw the same 'random' numbers as its siblings."""
    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))


def _run_payload(kind, request, spec, fds):
    """In the payload process: plumbing, limits, then the kernel or the judge. Never returns."""
    # Named for ps, top and perf, where every process of the sandbox would otherwise be "python".
    _libc.prctl(PR_SET_NAME, b"oc-" + kind.encode(), 0, 0, 0)
    if kind == "judge":
        stdin, stdout, log = fds
        os.dup2(stdin, 0)
        os.dup2(stdout, 1)
        os.dup2(log, 2)
    else:
        (log,) = fds
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
    _close_all_but({0, 1, 2})
    _apply_limits(request["rlimits"])
    _reseed()
    if kind == "judge":
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        namespace = {
            "__name__": "__main__",
            "WIRE_SOURCE": spec["wire"],
            "PRELOAD": (),
            "WARMUP": "",
        }
        exec(_JUDGE_CODE, namespace)  # noqa: S102 - the host's own code, compiled once in the zygote
        os._exit(0)
    sys.modules["_oc_agent"].cap_output(int(request["output_limit"]))
    sys.argv = ["ipykernel_launcher", "-f", request["connection_file"]]
    try:
        _start_kernel(request["connection_file"])
    except BaseException:  # noqa: BLE001 - any failure is reported in the kernel log
        import traceback

        traceback.print_exc()  # into the kernel's log, which the worker reports
        os._exit(70)
    os._exit(0)


#: Modules learnt from the probe kernel (see _preload) and imported here, reported to the host.
_LEARNT = []
#: The judge's code, compiled once; the kernel application, configured once (see _prepare_kernel).
_JUDGE_CODE = None
_APP = None
#: The ipykernel versions whose IPKernelApp.initialize _start_kernel knows step by step.
_KNOWN_IPYKERNEL = ("7.",)


def _prepare_kernel():
    """Do in the zygote the part of IPKernelApp.initialize that is the same for every kernel:
    parsing options and loading configuration (about two thirds of its CPU). History stays in
    memory: the zygote's /tmp, where a history file would live, is not the kernel's."""
    global _APP
    import ipykernel
    from ipykernel.kernelapp import IPKernelApp
    from IPython.core.application import BaseIPythonApplication

    if not ipykernel.__version__.startswith(_KNOWN_IPYKERNEL):
        return
    app = IPKernelApp.instance()
    BaseIPythonApplication.initialize(app, ["-f", "kernel.json", "--HistoryManager.hist_file=:memory:"])
    if app.subapp is None:
        _APP = app


@contextlib.contextmanager
def _without_module_list(module):
    """Show ``module`` a ``sys`` whose ``modules`` is empty. IPythonKernel's constructor lists the
    file of every loaded module for its debugger (off in a sandbox): in a forked kernel that
    touches some 2,500 module objects of the zygote's, copying a page of memory for each on
    write: ~1,900 page faults and ~17 ms of the kernel's CPU for a list nothing reads."""
    real = module.sys

    class _Sys(types.ModuleType):
        modules = {}

        def __getattr__(self, name):
            return getattr(real, name)

    module.sys = _Sys("sys")
    try:
        yield
    finally:
        module.sys = real


def _start_kernel(connection_file):
    """The rest of IPKernelApp.initialize (as of ipykernel 7), then the kernel's loop."""
    app = _APP
    if app is None:  # an ipykernel this code does not know: the whole initialisation, here
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file])
        app.start()
        return
    app.connection_file = connection_file
    os.makedirs(app.profile_dir.location, exist_ok=True)  # it was made in the zygote's /tmp,
    app.profile_dir.check_dirs()  # not in this one
    app.init_pdb()
    app.init_blackhole()
    app.init_connection_file()
    app.init_poller()
    app.init_sockets()
    # No heartbeat: a thread and a ZeroMQ context of its own in every kernel, and the worker
    # never pings it (it watches the sandbox's init instead). The connection file keeps its port.
    app.write_connection_file()
    app.init_io()
    app.init_signal()
    with _without_module_list(sys.modules["ipykernel.ipkernel"]):
        app.init_kernel()
    app.init_path()
    app.init_shell()
    if app.shell:
        app.init_gui_pylab()
        app.init_extensions()
        app.init_code()
    sys.stdout.flush()
    sys.stderr.flush()
    app.start()


def _leave_zygote():
    """First steps of a new sandbox: the zygote's own signal plumbing must not follow it in (its
    wake-up fd is closed there, and Python would print an error into the learner's output on
    every child process that exits), nor its session; and it dies with the zygote."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.setsid()
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _sandbox(request, spec, fds, go_read, report_write):
    """The cloned sandbox, already in its namespaces and pid 1 there: isolate, wait for the
    host's go, say so, then become the payload. Never returns."""
    try:
        _leave_zygote()
        _map_ids(*_IDS)
        _isolate(request, request["workdir"])
        if os.read(go_read, 1) != b"g":
            os._exit(71)
        os.close(go_read)
        os.write(report_write, b"0")  # "started", and the payload is this very process
        os.close(report_write)
        _drop_privileges()
    except BaseException as exc:  # noqa: BLE001 - reported through the exit status and the log
        try:
            os.write(2, f"sandbox setup failed: {exc!r}\n".encode())
        finally:
            os._exit(72)
    try:
        _run_payload(request["kind"], request, spec, fds)
    finally:
        os._exit(70)


def _init(kind, request, spec, fds):
    """Three-process layout: pid 1 of the sandbox, which starts the payload, reaps everything and
    exits as the payload did. Killing this process (from outside) kills every process of the
    sandbox."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    _drop_privileges()
    payload = os.fork()
    if payload == 0:
        try:
            _run_payload(kind, request, spec, fds)
        finally:
            os._exit(70)
    for fd in fds:
        os.close(fd)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            os._exit(70)
        if pid == payload:
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
            os._exit(os.WEXITSTATUS(status))


def _intermediary(request, spec, fds, go_read, report_write):
    """Three-process layout, between the zygote and the sandbox: unshare and isolate, wait for
    the host's go, fork the init, report the init's pid, then wait for it and exit with its
    status."""
    try:
        _leave_zygote()
        _check(_libc.unshare(_NAMESPACES), "unshare")
        _map_ids(*_IDS)
        _isolate(request, request["workdir"])
        if os.read(go_read, 1) != b"g":
            os._exit(71)
        os.close(go_read)
        init = os.fork()
        if init == 0:
            os.close(report_write)
            _init(request["kind"], request, spec, fds)
        for fd in fds:
            os.close(fd)
        os.write(report_write, str(init).encode())
        os.close(report_write)
        _, status = os.waitpid(init, 0)
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))
        os._exit(os.WEXITSTATUS(status))
    except BaseException as exc:  # noqa: BLE001 - reported through the exit status and the log
        try:
            os.write(2, f"sandbox setup failed: {exc!r}\n".encode())
        finally:
            os._exit(72)


class Zygote:
    def __init__(self, spec, control):
        self.spec = spec
        self.control = control
        # id -> {"pid": intermediary, "go": fd, "report": fd}
        self.sandboxes = {}

    def send(self, message):
        self.control.send(json.dumps(message).encode())

    def spawn(self, request, fds):
        go_read, go_write = os.pipe()
        report_read, report_write = os.pipe()
        clone = _TID_FIELD is not None
        pid = _clone_sandbox() if clone else os.fork()
        if pid == 0:
            self.control.close()
            for other in self.sandboxes.values():
                for key in ("go", "report"):
                    if other.get(key) is not None:
                        os.close(other[key])
            os.close(go_write)
            os.close(report_read)
            (_sandbox if clone else _intermediary)(request, self.spec, fds, go_read, report_write)
        os.close(go_read)
        os.close(report_write)
        for fd in fds:
            os.close(fd)
        self.sandboxes[request["id"]] = {"pid": pid, "go": go_write, "report": report_read}
        self.send({"op": "forked", "id": request["id"], "pid": pid})

    def go(self, request):
        entry = self.sandboxes.get(request["id"])
        if entry is None or entry["go"] is None:
            return
        with contextlib.suppress(OSError):  # the intermediary died: the host learns it from "exited"
            os.write(entry["go"], b"g")
        os.close(entry["go"])
        entry["go"] = None

    def report(self, fd):
        for key, entry in list(self.sandboxes.items()):
            if entry["report"] == fd:
                data = os.read(fd, 32)
                os.close(fd)
                entry["report"] = None
                if data:
                    self.send({"op": "started", "id": key, "pid": int(data)})
                return

    def reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = 128 + os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            for key, entry in list(self.sandboxes.items()):
                if entry["pid"] == pid:
                    for name in ("go", "report"):
                        if entry[name] is not None:
                            os.close(entry[name])
                    del self.sandboxes[key]
                    self.send({"op": "exited", "id": key, "code": code})

    def serve(self):
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.send({"op": "ready", "pid": os.getpid(), "learnt": _LEARNT, "clone": _TID_FIELD is not None})
        while True:
            reports = [e["report"] for e in self.sandboxes.values() if e["report"] is not None]
            readable, _, _ = select.select([self.control, wake_read, *reports], [], [])
            if wake_read in readable:
                os.read(wake_read, 4096)
            self.reap()
            for fd in readable:
                if fd in reports:
                    self.report(fd)
            if self.control in readable:
                try:
                    data, fds, _, _ = socket.recv_fds(self.control, 1 << 16, 8)
                except OSError:
                    os._exit(0)
                if not data:
                    os._exit(0)  # the host went away: so do we (and every sandbox with us)
                request = json.loads(data)
                if request["op"] == "spawn":
                    self.spawn(request, fds)
                elif request["op"] == "go":
                    self.go(request)


def _preload(spec):
    """Import the stack and everything a kernel imports while it boots, once, here."""
    for name in spec["preload"]:
        with contextlib.suppress(Exception):
            __import__(name)
    exec(compile(spec["warmup"], "<warmup>", "exec"), {})  # noqa: S102 - the host's own boot code
    agent = types.ModuleType("_oc_agent")
    agent.WIRE_SOURCE = spec["wire"]
    exec(compile(spec["agent"], "<agent>", "exec"), agent.__dict__)  # noqa: S102 - the host's own code
    sys.modules["_oc_agent"] = agent
    # The debugger would import debugpy in every kernel (~50 ms) and is no use in a sandbox.
    with contextlib.suppress(Exception):
        import ipykernel.ipkernel

        ipykernel.ipkernel._is_debugpy_available = False
    # What a kernel still imports while it initialises, learnt from one throw-away kernel.
    read, write = os.pipe()
    probe = os.fork()
    if probe == 0:
        os.close(read)
        try:
            before = set(sys.modules)
            import jupyter_client.connect
            from ipykernel.kernelapp import IPKernelApp

            path = "/tmp/.oc-probe/kernel.json"
            os.makedirs("/tmp/.oc-probe", exist_ok=True)
            jupyter_client.connect.write_connection_file(path, transport="ipc", ip="/tmp/.oc-probe/ipc")
            # Silenced at the descriptors: ipykernel captures fds 1 and 2 and needs real files there
            # (redirecting sys.stdout to a StringIO made this probe fail, and every kernel then
            # imported the debugger, ~35 ms of CPU, itself).
            log = os.dup(2)
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            try:
                IPKernelApp.instance().initialize(["-f", path])
            except BaseException:
                os.dup2(log, 2)
                raise
            os.write(write, json.dumps(sorted(set(sys.modules) - before)).encode())
        except BaseException:  # noqa: BLE001 - reported in the zygote's log; kernels still work
            import traceback

            traceback.print_exc()
        finally:
            os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 1 << 16):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(probe, 0)
    for name in json.loads(b"".join(chunks) or b"[]"):
        with contextlib.suppress(Exception):
            __import__(name)
            _LEARNT.append(name)
    global _JUDGE_CODE
    _JUDGE_CODE = compile(spec["judge"], "<judge>", "exec")
    with contextlib.suppress(Exception):
        _prepare_kernel()
    # Keep the garbage collector's bookkeeping off the shared pages: fewer copies on write.
    gc.collect()
    gc.freeze()


def main():
    control = socket.socket(fileno=SPEC["control_fd"])  # noqa: F821 - provided by the host
    _preload(SPEC)  # noqa: F821 - provided by the host
    if threading.active_count() != 1:
        raise SystemExit("the zygote must not run threads: forking would copy them half-way")
    if SPEC.get("clone", True):  # noqa: F821
        _clone_support()
    Zygote(SPEC, control).serve()  # noqa: F821


main()
