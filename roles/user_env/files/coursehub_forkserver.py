"""Start users' servers from a process that has already imported them.

A course server spends most of its start importing Python (jupyter_server,
JupyterLab, nbgrader's extensions, jupyterhub.singleuser) and running
JupyterLab's `node yarn.js config` once: about 2.5 CPU-seconds on the 2-core
test machine, which a deadline rush multiplies by every student. The fork
server imports all of that once, as root, and waits on a Unix socket.

The spawner's command (`coursehub-singleuser`, the launcher) runs in the user's
transient unit, as the user, and asks for a server. What decides what the
server may do comes from the kernel, never from the request: the peer's uid
from SO_PEERCRED; from the world-readable parts of /proc/<peer> its gids and
groups, cgroups (the unit's memory and CPU limits), resource limits, OOM score,
capability bounding set, umask, no_new_privs and seccomp state. The launcher
sends its namespace descriptors (root in a container may lack CAP_SYS_PTRACE
to open /proc/<peer>/ns): they must belong to the initial user namespace, so
no user made them; UTS, IPC and network must be the fork server's own; the
mount namespace (the unit's BindPaths, PrivateTmp, PrivateDevices) is joined,
and the child checks it then sees exactly the peer's mounts, by mount ID. The
forked child copies all of it, drops to the user and runs
`jupyterhub.singleuser.main()`. From the request it takes only the
environment, the arguments, the working directory and the three standard
streams, which are the user's own. So a user who talks to the socket directly
gets at most a process they could have started themselves, in their own unit.

Peers are refused (and the launcher then starts the server the ordinary way)
when they are root, lack no_new_privs, are not in a unit matching --units, or
are under seccomp with --seccomp refuse. Every file the child touches as root
(cgroup.procs, oom_score_adj) is touched before it joins the mount namespace.

    python -m coursehub_forkserver serve --socket PATH [--units REGEX] [--seccomp raw-io|refuse] [--preload MOD ...]
"""

import argparse
import ctypes
import json
import os
import re
import resource
import selectors
import signal
import socket
import struct
import sys
import time
import traceback

# Modules a course server imports; a missing one is logged and skipped.
DEFAULT_PRELOAD = (
    "jupyterhub.singleuser",
    "jupyterhub.singleuser.extension",
    "jupyter_server.serverapp",
    "jupyterlab.labapp",
    "notebook.app",
    "notebook_shim.shim",
    "jupyter_lsp",
    "jupyter_lsp.serverextension",
    "jupyter_server_terminals",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.validate_assignment",
    "nbgrader.server_extensions.course_list",
    "nbgrader.server_extensions.formgrader",
    "nbgrader.apps",
    "coursehub_exchange",
)
DEFAULT_UNITS = r"^jupyter-.+-singleuser\.service$"
# Launcher environment variables that choose another entry point: such a
# server is started the ordinary way.
ENTRY_POINT_VARS = ("JUPYTERHUB_SINGLEUSER_EXTENSION", "JUPYTERHUB_SINGLEUSER_APP")
MAX_MESSAGE = 1 << 20
CONFINE_TIMEOUT = 10  # seconds a forked child may take to confine itself
# The launcher's namespaces, sent after its three standard streams.
NAMESPACES = ("mnt", "uts", "ipc", "net")
PR_SET_NAME, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 15, 4, 24, 38
# The seccomp filter the spawner's units carry: PrivateDevices=yes (the
# spawner's isolate_devices) adds systemd's @raw-io set, refused with EPERM, on
# the native and secondary architectures. A forked server gets the same
# filter. A unit with any other filter must not use the fork server: set
# --seccomp refuse (user_env_forkserver_seccomp) and such servers start directly.
RAW_IO_SYSCALLS = ("ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
                   "s390_mmio_read", "s390_mmio_write")
SECONDARY_ARCHES = {"x86_64": ("x86", "x32"), "aarch64": ("arm",)}
SCMP_ACT_ALLOW, SCMP_ACT_ERRNO, SCMP_FLTATR_CTL_NNP = 0x7FFF0000, 0x00050000, 3


class Refused(Exception):
    """The peer's confinement cannot be copied; the launcher starts the server itself."""


# --------------------------------------------------------------------------
# Framing: a 4-byte length, then JSON; the request carries fds 0-2 and the
# launcher's namespaces alongside.
# --------------------------------------------------------------------------

def send_message(sock, message, fds=()):
    data = json.dumps(message).encode()
    payload = struct.pack("!I", len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [payload], list(fds))
        payload = payload[sent:]
    if payload:
        sock.sendall(payload)


def recv_until(sock, data, size):
    """data, extended from sock to at least size bytes."""
    while len(data) < size:
        more = sock.recv(65536)
        if not more:
            raise ValueError("truncated message")
        data += more
    return data


def recv_message(sock, with_fds=False):
    """(message, fds); (None, []) at end of stream."""
    fds = []
    if with_fds:
        data, fds, _flags, _addr = socket.recv_fds(sock, 65536, 3 + len(NAMESPACES))
    else:
        data = sock.recv(65536)
    if not data:
        return None, fds
    data = recv_until(sock, data, 4)
    (length,) = struct.unpack("!I", data[:4])
    if length > MAX_MESSAGE:
        raise ValueError("message too large")
    return json.loads(recv_until(sock, data[4:], length)[:length]), fds


# --------------------------------------------------------------------------
# Reading a process's confinement (pure parsers, then /proc)
# --------------------------------------------------------------------------

def parse_status(text):
    """Fields of /proc/<pid>/status as {name: value string}."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return fields


def parse_cgroups(text):
    """[(controllers, path)] from /proc/<pid>/cgroup; controllers '' for cgroup v2."""
    found = []
    for line in text.splitlines():
        if line.strip():
            _hid, controllers, path = line.split(":", 2)
            found.append((controllers, path))
    return found


def cgroup_mounts(mountinfo, controllers):
    """{controllers: mount point} of the cgroup hierarchies in /proc/self/mountinfo ('' for v2).

    controllers: the names of /proc/cgroups; a v1 mount's key is the sorted
    controllers (or name=) among its super options."""
    mounts = {}
    for line in mountinfo.splitlines():
        pre, sep, post = line.partition(" - ")
        if not sep:
            continue
        fstype, _source, options = (post.split(" ") + ["", ""])[:3]
        point = pre.split(" ")[4]
        if fstype == "cgroup2":
            mounts.setdefault("", point)
        elif fstype == "cgroup":
            wanted = [o for o in options.split(",") if o in controllers or o.startswith("name=")]
            mounts.setdefault(",".join(sorted(wanted)), point)
    return mounts


def cgroup_targets(cgroups, mounts):
    """cgroup.procs files to write to join every hierarchy the peer is in."""
    targets = []
    for controllers, path in cgroups:
        key = ",".join(sorted(c for c in controllers.split(",") if c)) if controllers else ""
        point = mounts.get(key)
        if point is None:
            if path in ("/", ""):
                continue
            raise Refused(f"no mount for cgroup hierarchy {controllers or 'v2'}")
        targets.append(os.path.join(point, path.lstrip("/"), "cgroup.procs"))
    return targets


def unit_of(cgroups):
    """The systemd unit the peer runs in: the last part of its systemd (or v2) cgroup path."""
    for controllers, path in cgroups:
        if controllers in ("name=systemd", ""):
            return path.rstrip("/").rsplit("/", 1)[-1]
    return ""


def kernel_controllers():
    lines = read("/proc/cgroups").splitlines()
    return {line.split()[0] for line in lines if line.strip() and not line.startswith("#")}


def capabilities(mask_hex):
    mask = int(mask_hex, 16)
    return {bit for bit in range(64) if mask >> bit & 1}


def read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


LIMIT_NAMES = {
    "Max cpu time": "RLIMIT_CPU", "Max file size": "RLIMIT_FSIZE", "Max data size": "RLIMIT_DATA",
    "Max stack size": "RLIMIT_STACK", "Max core file size": "RLIMIT_CORE", "Max resident set": "RLIMIT_RSS",
    "Max processes": "RLIMIT_NPROC", "Max open files": "RLIMIT_NOFILE", "Max locked memory": "RLIMIT_MEMLOCK",
    "Max address space": "RLIMIT_AS", "Max file locks": "RLIMIT_LOCKS", "Max pending signals": "RLIMIT_SIGPENDING",
    "Max msgqueue size": "RLIMIT_MSGQUEUE", "Max nice priority": "RLIMIT_NICE",
    "Max realtime priority": "RLIMIT_RTPRIO", "Max realtime timeout": "RLIMIT_RTTIME",
}


def parse_limits(text):
    """{RLIMIT_*: (soft, hard)} from /proc/<pid>/limits (world-readable, unlike prlimit on another user)."""
    limits = {}
    for line in text.splitlines()[1:]:
        for label, name in LIMIT_NAMES.items():
            if line.startswith(label + " ") and hasattr(resource, name):
                values = line[len(label):].split()[:2]
                limits[getattr(resource, name)] = tuple(
                    resource.RLIM_INFINITY if v == "unlimited" else int(v) for v in values)
    return limits


def mount_ids(mountinfo):
    """The mount IDs of a mount namespace (unique on the system: no two namespaces share one)."""
    return sorted(int(line.split(" ", 1)[0]) for line in mountinfo.splitlines() if line.strip())


def peer_confinement(pid, uid, units_pattern, seccomp="raw-io"):
    """What the child copies from the peer, from the world-readable parts of /proc/<pid>.

    Raises Refused when it cannot be copied. (Root in a container may lack
    CAP_SYS_PTRACE, so /proc/<pid>/ns, cwd and prlimit are not used: the
    launcher sends its namespaces, which check_namespaces verifies.)"""
    status = parse_status(read(f"/proc/{pid}/status"))
    uids = [int(v) for v in status["Uid"].split()]
    gids = [int(v) for v in status["Gid"].split()]
    if uids[0] != uid or uid == 0 or 0 in uids:
        raise Refused("root, or not the connected user")
    if status.get("NoNewPrivs") != "1":
        raise Refused("the peer may gain privileges (no_new_privs is off)")
    filtered = status.get("Seccomp", "0") != "0"
    if filtered and seccomp != "raw-io":
        raise Refused("the peer runs under seccomp")
    cgroups = parse_cgroups(read(f"/proc/{pid}/cgroup"))
    unit = unit_of(cgroups)
    if not re.search(units_pattern, unit):
        raise Refused(f"not a server unit ({unit or 'none'})")
    return {
        "uids": uids[:3], "gids": gids[:3],
        "groups": [int(g) for g in status.get("Groups", "").split()],
        "umask": int(status.get("Umask", "0022"), 8),
        "capbnd": capabilities(status.get("CapBnd", "0")),
        "oom_score_adj": read(f"/proc/{pid}/oom_score_adj").strip(),
        "cgroups": cgroup_targets(cgroups, cgroup_mounts(read("/proc/self/mountinfo"), kernel_controllers())),
        "limits": parse_limits(read(f"/proc/{pid}/limits")),
        "mounts": mount_ids(read(f"/proc/{pid}/mountinfo")),
        "unit": unit,
        "raw_io_filter": filtered,
    }


NS_GET_USERNS, NS_GET_NSTYPE = 0xB701, 0xB703
NS_TYPES = {"mnt": 0x00020000, "uts": 0x04000000, "ipc": 0x08000000, "net": 0x40000000}


def check_namespaces(fds):
    """{name: fd} the launcher sent (its /proc/self/ns/*) -> the mount namespace fd to join, or None.

    Each must be a namespace of its kind owned by the initial user namespace, so
    no user can have made it. The UTS, IPC and network namespaces must be the
    fork server's own (the spawner's units keep them); the mount namespace is
    joined, and the child then checks that it holds the peer's mounts."""
    import fcntl
    own_user = os.stat("/proc/self/ns/user")
    join = None
    for name, kind in NS_TYPES.items():
        fd = fds[name]
        if fcntl.ioctl(fd, NS_GET_NSTYPE) != kind:
            raise Refused(f"the {name} descriptor is not a {name} namespace")
        owner = fcntl.ioctl(fd, NS_GET_USERNS)
        try:
            owner_stat = os.fstat(owner)
        finally:
            os.close(owner)
        if (owner_stat.st_dev, owner_stat.st_ino) != (own_user.st_dev, own_user.st_ino):
            raise Refused(f"the {name} namespace belongs to another user namespace")
        theirs, ours = os.fstat(fd), os.stat(f"/proc/self/ns/{name}")
        if (theirs.st_dev, theirs.st_ino) != (ours.st_dev, ours.st_ino):
            if name != "mnt":
                raise Refused(f"the peer is in another {name} namespace")
            join = fd
    return join


# --------------------------------------------------------------------------
# The child: become the peer's server
# --------------------------------------------------------------------------

_libc = None


def libc():
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
    return _libc


def checked(result, what):
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def prctl(option, arg):
    checked(libc().prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def load_raw_io_filter():
    """Refuse systemd's @raw-io system calls with EPERM, as PrivateDevices=yes does."""
    lib = ctypes.CDLL("libseccomp.so.2", use_errno=True)
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_arch_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_arch_resolve_name.restype = ctypes.c_uint32
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise OSError("seccomp_init failed")
    ctx = ctypes.c_void_p(ctx)
    try:
        checked(lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0), "seccomp_attr_set")
        for arch in SECONDARY_ARCHES.get(os.uname().machine, ()):
            token = lib.seccomp_arch_resolve_name(arch.encode())
            if token:
                result = lib.seccomp_arch_add(ctx, ctypes.c_uint32(token))
                if result not in (0, -17):  # -EEXIST: already there
                    checked(result, f"seccomp_arch_add {arch}")
        for name in RAW_IO_SYSCALLS:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number != -1:
                checked(lib.seccomp_rule_add(ctx, ctypes.c_uint32(SCMP_ACT_ERRNO | 1), number, 0),
                        f"seccomp_rule_add {name}")
        checked(lib.seccomp_load(ctx), "seccomp_load")
    finally:
        lib.seccomp_release(ctx)


def confine(peer, mnt_fd, cwd):
    """Turn this (forked, root) process into one inside the peer's unit, as the peer."""
    # As root, on the host's files, before joining the peer's mount namespace.
    for target in peer["cgroups"]:
        with open(target, "w", encoding="ascii") as handle:
            handle.write(str(os.getpid()))
    with open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
        handle.write(peer["oom_score_adj"])
    for number, value in peer["limits"].items():
        resource.setrlimit(number, value)
    last_cap = int(read("/proc/sys/kernel/cap_last_cap"))
    for cap in range(last_cap + 1):
        if cap not in peer["capbnd"]:
            prctl(PR_CAPBSET_DROP, cap)
    os.umask(peer["umask"])
    if mnt_fd is not None:
        checked(libc().setns(mnt_fd, NS_TYPES["mnt"]), "setns")
    # The namespace belongs to the initial user namespace, so only root made its mounts.
    if mount_ids(read("/proc/self/mountinfo")) != peer["mounts"]:
        raise Refused("the mount namespace sent is not the peer's")
    os.setgroups(peer["groups"])
    os.setresgid(*peer["gids"])
    if peer["raw_io_filter"]:
        # Still root here, so no no_new_privs is needed to load it.
        load_raw_io_filter()
    os.setresuid(*peer["uids"])
    if os.getuid() == 0 or os.geteuid() == 0:
        raise OSError("still root after setresuid")
    prctl(PR_SET_DUMPABLE, 1)
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.chdir(cwd)


def become_server(peer, request, fds, mnt_fd, report):
    """In the child: confine, take the streams and environment, run the server. Never returns."""
    try:
        # The fork server's wakeup descriptor is about to be closed; a signal must not write to its number.
        signal.set_wakeup_fd(-1)
        confine(peer, mnt_fd, str(request.get("cwd") or "/"))
        for number, fd in enumerate(fds[:3]):
            os.dup2(fd, number)
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in request.get("env", {}).items()})
        import tempfile
        tempfile.tempdir = None
        sys.argv = [str(a) for a in request.get("argv") or ["jupyterhub-singleuser"]]
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        libc().prctl(PR_SET_NAME, b"jupyterhub-sing", 0, 0, 0)
        os.write(report, b"ok")
        os.closerange(3, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
    except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
        try:
            os.write(report, f"err {type(exc).__name__}: {exc}".encode()[:1000])
        finally:
            os._exit(70)
    code = 0
    try:
        from jupyterhub.singleuser import main
        code = main() or 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the server's own crash, to its journal
        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001, S110 - a closed stream at exit
                pass
    os._exit(code)


# --------------------------------------------------------------------------
# The server loop
# --------------------------------------------------------------------------

def log(message):
    print(f"coursehub-forkserver: {message}", file=sys.stderr, flush=True)


class ForkServer:
    def __init__(self, path, units, seccomp="raw-io"):
        self.path, self.units, self.seccomp = path, units, seccomp
        self.children = {}   # pid -> connection of its launcher
        self.selector = selectors.DefaultSelector()

    def preload(self, modules):
        import importlib
        began, cpu = time.monotonic(), time.process_time()
        loaded = 0
        for name in modules:
            try:
                importlib.import_module(name)
                loaded += 1
            except Exception as exc:  # noqa: BLE001 - an optional extension may be missing
                log(f"preload {name}: {type(exc).__name__}: {exc}")
        log(f"preloaded {loaded}/{len(modules)} modules ({len(sys.modules)} in all) in "
            f"{time.monotonic() - began:.2f} s, {time.process_time() - cpu:.2f} CPU-s")

    def handle(self, conn):
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        pid, uid, _gid = struct.unpack("3i", creds)
        fds = []
        try:
            peer = peer_confinement(pid, uid, self.units, self.seccomp)
            # A launcher sends at once; a peer that stalls holds up the others only this long.
            conn.settimeout(2)
            request, fds = recv_message(conn, with_fds=True)
            if request is None or len(fds) != 3 + len(NAMESPACES):
                raise Refused("a request carries the three standard streams and four namespaces")
            if any(name in request.get("env", {}) for name in ENTRY_POINT_VARS):
                raise Refused("another entry point was asked for")
            mnt_fd = check_namespaces(dict(zip(NAMESPACES, fds[3:])))
            child = self.fork(peer, request, fds[:3], mnt_fd)
        except (Refused, OSError, ValueError, KeyError) as exc:
            log(f"refused pid {pid} uid {uid}: {exc}")
            try:
                send_message(conn, {"error": str(exc)})
            except OSError:
                pass
            conn.close()
            return
        finally:
            for fd in fds:
                os.close(fd)
        log(f"started pid {child} for uid {uid} in {peer['unit']}")
        try:
            send_message(conn, {"pid": child})
            conn.settimeout(None)
        except OSError:
            # The launcher is gone; the server runs on in its unit, which stops it with the unit.
            conn.close()
            conn = None
        self.children[child] = conn

    def fork(self, peer, request, fds, mnt_fd):
        read_end, write_end = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:
            os.close(read_end)
            self.selector.close()
            become_server(peer, request, fds, mnt_fd, write_end)
        os.close(write_end)
        try:
            # Confining takes milliseconds; a child stuck in it must not stall every other start.
            ready = selectors.DefaultSelector()
            ready.register(read_end, selectors.EVENT_READ)
            answer = os.read(read_end, 1024) if ready.select(timeout=CONFINE_TIMEOUT) else b""
            ready.close()
        finally:
            os.close(read_end)
        if answer != b"ok":
            if not answer:
                os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)
            raise Refused(answer.decode(errors="replace") or "the child died while confining itself")
        return child

    def reap(self):
        while True:
            try:
                child, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if child == 0:
                return
            conn = self.children.pop(child, None)
            code = os.waitstatus_to_exitcode(status)
            if conn is not None:
                try:
                    send_message(conn, {"exit": code})
                except OSError:
                    pass
                conn.close()

    def serve(self):
        if os.path.exists(self.path):
            os.unlink(self.path)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.path)
        # Anyone may connect: what a peer gets is decided by its credentials, not by asking.
        os.chmod(self.path, 0o666)
        listener.listen(64)
        wake_read, wake_write = socket.socketpair()
        wake_read.setblocking(False)
        wake_write.setblocking(False)
        signal.set_wakeup_fd(wake_write.fileno())
        signal.signal(signal.SIGCHLD, lambda *_: None)
        stopping = []
        signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
        self.selector.register(listener, selectors.EVENT_READ, "accept")
        self.selector.register(wake_read, selectors.EVENT_READ, "signal")
        log(f"listening on {self.path}")
        while not stopping:
            for key, _ in self.selector.select(timeout=30):
                if key.data == "accept":
                    conn, _ = listener.accept()
                    try:
                        self.handle(conn)
                    except Exception:  # noqa: BLE001 - one bad request must not stop the others
                        log(f"request failed: {traceback.format_exc()}")
                        conn.close()
                else:
                    try:
                        while wake_read.recv(512):
                            pass
                    except BlockingIOError:
                        pass
            self.reap()
        # Servers keep running in their own units; their launchers fall back to watching the pid.
        log("stopping")
        listener.close()
        os.unlink(self.path)


# --------------------------------------------------------------------------
# The launcher (the spawner's command, in the user's unit)
# --------------------------------------------------------------------------

def launch(socket_path, fallback, argv):
    """Ask the fork server for this unit's server; start `fallback` when it cannot."""
    def start_directly(why):
        print(f"coursehub-singleuser: {why}; starting {fallback} directly", file=sys.stderr, flush=True)
        os.execv(fallback, [fallback, *argv])

    if any(name in os.environ for name in ENTRY_POINT_VARS) or os.environ.get("COURSEHUB_FORKSERVER") == "0":
        start_directly("the fork server is not used for this server")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(socket_path)
        namespaces = [os.open(f"/proc/self/ns/{name}", os.O_RDONLY | os.O_CLOEXEC) for name in NAMESPACES]
        request = {"argv": ["jupyterhub-singleuser", *argv], "env": dict(os.environ), "cwd": os.getcwd()}
        try:
            send_message(sock, request, fds=(0, 1, 2, *namespaces))
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before it read the request: its answer says why
        for fd in namespaces:
            os.close(fd)
        reply, _ = recv_message(sock)
    except (OSError, ValueError) as exc:
        sock.close()
        start_directly(f"no fork server at {socket_path} ({exc})")
    if not reply or "pid" not in reply:
        sock.close()
        start_directly(f"the fork server refused: {(reply or {}).get('error', 'no answer')}")
    child = reply["pid"]

    def forward(signum, _frame):
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, forward)
    try:
        message, _ = recv_message(sock)
    except (OSError, ValueError):
        message = None
    if message and "exit" in message:
        code = message["exit"]
        sys.exit(code if 0 <= code < 256 else 128 + abs(code))
    # The fork server went away (restarted): wait for the server itself.
    try:
        handle = os.pidfd_open(child)
    except ProcessLookupError:
        sys.exit(0)
    watcher = selectors.DefaultSelector()
    watcher.register(handle, selectors.EVENT_READ)
    watcher.select()
    sys.exit(0)


def main(args=None):
    parser = argparse.ArgumentParser(prog="coursehub_forkserver", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="preload the server's modules and fork servers on request")
    serve.add_argument("--socket", required=True)
    serve.add_argument("--units", default=DEFAULT_UNITS, help="regex a peer's unit name must match")
    serve.add_argument("--seccomp", choices=("raw-io", "refuse"), default="raw-io",
                       help="peers under seccomp: give the child the @raw-io filter, or refuse them")
    serve.add_argument("--preload", nargs="*", default=list(DEFAULT_PRELOAD))
    options = parser.parse_args(args)
    server = ForkServer(options.socket, options.units, options.seccomp)
    server.preload(options.preload)
    import threading
    if threading.active_count() != 1:
        log(f"{threading.active_count()} threads after preloading: forking is not safe; not serving")
        return 1
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
