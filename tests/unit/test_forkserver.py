"""The fork server (roles/user_env/files/coursehub_forkserver.py): its /proc
parsers, its framing, and, against a real fork server on a socket in a temp
dir, the refusals and the launcher's fallback."""

import json
import os
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

FILES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "roles", "user_env", "files")
sys.path.insert(0, FILES)

import coursehub_forkserver as fs  # noqa: E402 - needs the path above

# Read off a course server's unit in a molecule instance (cgroup v1 hybrid).
STATUS = """Name:\tpython3
Umask:\t0022
State:\tS (sleeping)
Uid:\t1007\t1007\t1007\t1007
Gid:\t1011\t1011\t1011\t1011
Groups:\t1011 72026
NoNewPrivs:\t1
Seccomp:\t2
CapBnd:\t00000000a02435fb
"""
CGROUP_V1 = """13:perf_event:/
9:name=systemd:/docker/abc/system.slice/jupyter-peer01-singleuser.service
8:pids:/docker/abc/system.slice/jupyter-peer01-singleuser.service
4:memory:/docker/abc/system.slice/jupyter-peer01-singleuser.service
2:cpu,cpuacct:/docker/abc/system.slice/jupyter-peer01-singleuser.service
0::/docker/abc/system.slice/jupyter-peer01-singleuser.service
"""
MOUNTINFO = """84 76 0:28 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,size=4096k
85 84 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
88 84 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
92 84 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
93 84 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
94 84 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
58 84 0:53 / /sys/fs/cgroup/perf_event rw,relatime - cgroup cgroup rw,perf_event
"""
CONTROLLERS = {"cpu", "cpuacct", "memory", "pids", "perf_event", "cpuset"}
LIMITS = """Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max stack size            8388608              unlimited            bytes
Max processes             95859                95859                processes
Max open files            1024                 524288               files
"""


def test_parse_status():
    fields = fs.parse_status(STATUS)
    assert fields["Uid"].split() == ["1007"] * 4
    assert fields["Groups"] == "1011 72026"
    assert fields["NoNewPrivs"] == "1"


def test_capabilities():
    assert fs.capabilities("a02435fb") == {b for b in range(32) if 0xA02435FB >> b & 1}
    assert 27 not in fs.capabilities("a02435fb")  # CAP_MKNOD, dropped by PrivateDevices
    assert fs.capabilities("0") == set()


def test_cgroups_map_to_every_hierarchy():
    cgroups = fs.parse_cgroups(CGROUP_V1)
    assert fs.unit_of(cgroups) == "jupyter-peer01-singleuser.service"
    mounts = fs.cgroup_mounts(MOUNTINFO, CONTROLLERS)
    assert mounts == {"cpu,cpuacct": "/sys/fs/cgroup/cpu,cpuacct", "memory": "/sys/fs/cgroup/memory",
                      "pids": "/sys/fs/cgroup/pids", "name=systemd": "/sys/fs/cgroup/systemd",
                      "": "/sys/fs/cgroup/unified", "perf_event": "/sys/fs/cgroup/perf_event"}
    unit = "docker/abc/system.slice/jupyter-peer01-singleuser.service/cgroup.procs"
    assert fs.cgroup_targets(cgroups, mounts) == [
        "/sys/fs/cgroup/perf_event/cgroup.procs",  # the root of that hierarchy, as the peer
        f"/sys/fs/cgroup/systemd/{unit}", f"/sys/fs/cgroup/pids/{unit}", f"/sys/fs/cgroup/memory/{unit}",
        f"/sys/fs/cgroup/cpu,cpuacct/{unit}", f"/sys/fs/cgroup/unified/{unit}",
    ]


def test_cgroup_v2_only():
    cgroups = fs.parse_cgroups("0::/system.slice/jupyter-ann-singleuser.service\n")
    mounts = fs.cgroup_mounts("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n", set())
    assert fs.unit_of(cgroups) == "jupyter-ann-singleuser.service"
    assert fs.cgroup_targets(cgroups, mounts) == [
        "/sys/fs/cgroup/system.slice/jupyter-ann-singleuser.service/cgroup.procs"]


def test_a_hierarchy_without_a_mount_is_refused():
    cgroups = fs.parse_cgroups("5:blkio:/system.slice/x.service\n")
    with pytest.raises(fs.Refused, match="no mount for cgroup hierarchy blkio"):
        fs.cgroup_targets(cgroups, {})


def test_parse_limits():
    limits = fs.parse_limits(LIMITS)
    assert limits[resource.RLIMIT_CPU] == (resource.RLIM_INFINITY, resource.RLIM_INFINITY)
    assert limits[resource.RLIMIT_STACK] == (8388608, resource.RLIM_INFINITY)
    assert limits[resource.RLIMIT_NPROC] == (95859, 95859)
    assert limits[resource.RLIMIT_NOFILE] == (1024, 524288)


def test_mount_ids():
    assert fs.mount_ids(MOUNTINFO) == [58, 84, 85, 88, 92, 93, 94]


def test_framing_round_trip_with_descriptors():
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        big = {"env": {f"VAR{i}": "x" * 100 for i in range(1000)}}  # over 64 KiB: several reads
        fs.send_message(left, big, fds=(read_end, write_end, read_end))
        message, fds = fs.recv_message(right, with_fds=True)
        assert message == big
        assert len(fds) == 3
        os.write(fds[1], b"through the passed fd")
        assert os.read(read_end, 100) == b"through the passed fd"
        for fd in fds:
            os.close(fd)
        left.close()
        assert fs.recv_message(right) == (None, [])
    finally:
        for fd in (read_end, write_end):
            os.close(fd)
        right.close()


def test_an_oversized_message_is_refused():
    left, right = socket.socketpair()
    left.sendall((fs.MAX_MESSAGE + 1).to_bytes(4, "big") + b"{}")
    with pytest.raises(ValueError, match="too large"):
        fs.recv_message(right)
    left.close()
    right.close()


def test_root_is_refused_before_anything_is_read():
    if os.getuid() != 0:
        pytest.skip("the unit tests run as root in CI; here the caller is not root")
    with pytest.raises(fs.Refused, match="root"):
        fs.peer_confinement(os.getpid(), 0, fs.DEFAULT_UNITS)


# --------------------------------------------------------------------------
# A real fork server on a temp socket, and real launchers talking to it
# --------------------------------------------------------------------------

LAUNCHER = """
import sys
sys.path.insert(0, {directory!r})
from coursehub_forkserver import launch
launch({socket!r}, "/bin/echo", ["fallback", "ran"])
"""


@pytest.fixture
def fork_server():
    # Not pytest's tmp_path: other users must reach the socket, as on a host.
    directory = tempfile.mkdtemp(prefix="coursehub-forkserver-")
    os.chmod(directory, 0o755)
    shutil.copy(os.path.join(FILES, "coursehub_forkserver.py"), directory)
    path = os.path.join(directory, "server.sock")
    server = subprocess.Popen([sys.executable, os.path.join(FILES, "coursehub_forkserver.py"), "serve",
                               "--socket", path, "--preload"], stderr=subprocess.PIPE, text=True)
    for _ in range(100):
        if os.path.exists(path) and os.stat(path).st_mode & 0o777 == 0o666:
            break
        time.sleep(0.05)
    assert os.path.exists(path), "the fork server did not listen"
    assert os.stat(path).st_mode & 0o777 == 0o666
    yield path, server
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(directory)


# The system's Python, which any user may run (the test's own may live in root's home).
SYSTEM_PYTHON = "/usr/bin/python3"


def run_launcher(socket_path, user=None, no_new_privs=False):
    argv = [SYSTEM_PYTHON, "-I", "-c", LAUNCHER.format(directory=os.path.dirname(socket_path), socket=socket_path)]
    if no_new_privs:
        argv = ["setpriv", "--no-new-privs", *argv]
    if user:
        argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, cwd="/")


def server_log(server):
    server.terminate()
    return server.communicate(timeout=10)[1]


def test_launcher_starts_the_server_directly_without_a_fork_server(tmp_path):
    shutil.copy(os.path.join(FILES, "coursehub_forkserver.py"), tmp_path)
    done = run_launcher(str(tmp_path / "absent.sock"))
    assert done.returncode == 0
    assert done.stdout == "fallback ran\n"
    assert "no fork server at" in done.stderr


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as the fork server and to switch users")
def test_root_peer_is_refused_and_starts_directly(fork_server):
    path, server = fork_server
    done = run_launcher(path)
    assert done.stdout == "fallback ran\n"
    assert "the fork server refused: root, or not the connected user" in done.stderr
    assert "refused pid" in server_log(server)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as the fork server and to switch users")
def test_user_who_may_gain_privileges_is_refused(fork_server):
    path, server = fork_server
    done = run_launcher(path, user=pwd.getpwnam("nobody"))
    assert done.stdout == "fallback ran\n"
    assert "no_new_privs is off" in done.stderr
    assert "started pid" not in server_log(server)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as the fork server and to switch users")
def test_user_outside_a_server_unit_is_refused(fork_server):
    """An ordinary user process (here: not in any jupyter-*-singleuser unit) gets no server."""
    path, server = fork_server
    done = run_launcher(path, user=pwd.getpwnam("nobody"), no_new_privs=True)
    assert done.stdout == "fallback ran\n"
    assert "not a server unit" in done.stderr
    assert "started pid" not in server_log(server)


def test_a_request_without_streams_is_refused(fork_server):
    """Speaking the protocol by hand without the descriptors gets an error, not a server."""
    path, server = fork_server
    if os.getuid() != 0:
        pytest.skip("needs root to act as the fork server")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        fs.send_message(sock, {"argv": [], "env": {}})
        reply, _ = fs.recv_message(sock)
    assert "error" in reply and "pid" not in reply
    assert "started pid" not in server_log(server)


def test_default_preload_names_the_server_modules():
    assert "jupyterhub.singleuser" in fs.DEFAULT_PRELOAD
    assert "jupyterlab.labapp" in fs.DEFAULT_PRELOAD
    assert json.loads(json.dumps(list(fs.DEFAULT_PRELOAD)))  # plain strings, for the unit's command line
