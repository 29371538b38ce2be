"""What a student's own server can reach of other users and of root, tried from
inside it (their kernel), as an attacker would:

- no process running as root accepts requests from users' servers, but the
  system's own (systemd, journald) and the hub, which authenticates every
  request with a token; there is no fork server;
- every server is its unit's main process, started by systemd as the user;
- every server has a session keyring of its own;
- a personal server (no course) sees no course's exchange.
"""
import json

import pytest
from conftest import HubSession

# Root processes a server may talk to: systemd and its journal (their sockets
# are the system's own, with polkit and credentials deciding), and the hub
# (its API answers servers, with a token each). Anything else running as root
# and listening is a finding.
ROOT_LISTENERS = {"systemd", "systemd-journal", "systemd-udevd", "systemd-logind", "systemd-userdbd", "jupyterhub"}

# Run in a student's kernel: every unix socket path the kernel can see, tried
# with connect(); for each that accepts, the peer's uid and command (SO_PEERCRED).
PROBE_SOCKETS = r"""
import json, os, socket, struct
seen, found = set(), []
with open("/proc/net/unix") as handle:
    next(handle)
    for line in handle:
        fields = line.split()
        if len(fields) >= 8 and fields[7].startswith("/") and fields[7] not in seen:
            seen.add(fields[7])
for path in sorted(seen):
    for kind in (socket.SOCK_STREAM, socket.SOCK_SEQPACKET):
        sock = socket.socket(socket.AF_UNIX, kind)
        sock.settimeout(2)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            continue
        pid, uid, gid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
        try:
            comm = open("/proc/%d/comm" % pid).read().strip()
        except OSError:
            comm = "?"
        found.append({"path": path, "pid": pid, "uid": uid, "comm": comm})
        sock.close()
        break
print("SOCKETS " + json.dumps({"seen": len(seen), "accepted": found}))
"""

# keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, create=0): the serial of this process's session keyring.
SESSION_KEYRING = r"""
import ctypes, platform
number = {"x86_64": 250, "aarch64": 219, "ppc64le": 130, "s390x": 280}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
serial = libc.syscall(ctypes.c_long(number), ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0))
print("KEYRING", serial if serial >= 0 else "errno %d" % ctypes.get_errno())
"""


@pytest.fixture(scope="module")
def servers(ca_file, password):
    """student1 and student2 in mlbp2026, teacher1 (the hub admin) in instructor mode, outsider1 personal."""
    started = {}
    for user, choice in (("student1", "mlbp2026"), ("student2", "mlbp2026"), ("teacher1", "mlbp2026:instructor"),
                         ("outsider1", "personal")):
        started[user] = HubSession(ca_file).start_course(user, password, choice)
    yield started
    for user, session in started.items():
        session.stop(user)
        session.close()


def run(servers, user, code):
    out, error = servers[user].run_code(user, code, timeout=120)
    assert error is None, f"{user}: {error}\n{out}"
    return out


def test_no_root_process_but_the_systems_and_the_hubs_accepts_a_students_connection(servers):
    out = run(servers, "student1", PROBE_SOCKETS)
    result = json.loads(out.split("SOCKETS ", 1)[1])
    print("sockets a student's kernel sees:", result["seen"], "accepted:",
          json.dumps([(s["path"], s["uid"], s["comm"]) for s in result["accepted"]]))
    assert result["seen"] > 0, "the probe saw no socket at all: it cannot have tested anything"
    root = [s for s in result["accepted"] if s["uid"] == 0]
    assert all(s["comm"] in ROOT_LISTENERS for s in root), root
    assert not any("forkserver" in s["path"] for s in result["accepted"]), result["accepted"]


def test_no_root_listener_of_ours_on_the_host(host):
    """From root's side: every listening socket's process; none of ours runs as root but the hub."""
    listeners = host.check_output("ss -Hlpn -A inet,unix")
    assert host.run("systemctl cat coursehub-forkserver.service").rc != 0, "the fork server's unit is still there"
    assert "forkserver" not in listeners
    for line in listeners.splitlines():
        for pid in [int(p.split("=")[1]) for p in line.split("users:")[-1].split(",") if p.startswith("pid=")]:
            uid = int(host.file(f"/proc/{pid}/status").content_string.split("Uid:")[1].split()[0])
            comm = host.file(f"/proc/{pid}/comm").content_string.strip()
            assert uid != 0 or comm in ROOT_LISTENERS, line


@pytest.mark.parametrize("user", ["student1", "student2", "teacher1", "outsider1"])
def test_each_server_is_its_units_main_process_run_by_systemd_as_the_user(servers, host, user):
    unit = f"jupyter-{user}-singleuser.service"
    main_pid = int(host.check_output(f"systemctl show -p MainPID --value {unit}"))
    assert main_pid > 0, f"{unit} has no main process"
    cmdline = host.file(f"/proc/{main_pid}/cmdline").content_string.replace("\0", " ")
    assert "jupyterhub-singleuser" in cmdline, cmdline
    status = host.file(f"/proc/{main_pid}/status").content_string
    uid = int(status.split("Uid:")[1].split()[0])
    assert uid == int(host.check_output(f"id -u {user}")), f"{unit} runs as uid {uid}"
    assert int(status.split("PPid:")[1].split()[0]) == 1, "the server is not systemd's own child"
    # The kernel the test talks to is the server's child, in the same unit.
    kernel = json.loads(run(servers, user, "import json, os\n"
                                           "print(json.dumps([os.getppid(), open('/proc/self/cgroup').read()]))"))
    assert kernel[0] == main_pid, f"the kernel's parent is {kernel[0]}, not the unit's main process {main_pid}"
    assert f"/{unit}" in kernel[1], kernel[1]


def test_every_server_has_its_own_session_keyring(servers):
    serials = {user: run(servers, user, SESSION_KEYRING).split("KEYRING", 1)[1].strip() for user in servers}
    print("session keyrings:", serials)
    assert all(s.lstrip("-").isdigit() and int(s) > 0 for s in serials.values()), serials
    assert len(set(serials.values())) == len(serials), f"servers share a session keyring: {serials}"


@pytest.mark.parametrize("path,expected", [
    ("/srv/nbgrader/exchange", "[]"),
    ("/srv/nbgrader/exchange/mlbp2026", "FileNotFoundError"),
    ("/srv/nbgrader/exchange/privsec2026/inbound", "FileNotFoundError"),
])
def test_a_personal_server_sees_no_exchange(servers, path, expected):
    out = run(servers, "outsider1", f"import os\ntry:\n    print(sorted(os.listdir({path!r})))\n"
                                    "except OSError as exc:\n    print(type(exc).__name__)")
    assert out.strip() == expected, f"outsider1 lists {path}: {out.strip()}"


# Run in a student's kernel: how many TCP sockets each uid listens on (IPv4 and IPv6).
LISTENERS_BY_UID = r"""
import collections, json
count = collections.Counter()
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    with open(table) as handle:
        next(handle)
        for line in handle:
            fields = line.split()
            if fields[3] == "0A":  # LISTEN
                count[int(fields[7])] += 1
print("LISTENERS " + json.dumps(count))
"""


def test_another_users_kernel_has_no_tcp_port_a_student_could_subscribe_to(servers, host):
    """A kernel's IOPub socket publishes its output to whoever subscribes, unsigned: on the
    shared loopback a student could read the instructor's kernel output. Kernels use unix
    sockets in their user's 0700 runtime directory instead. What a user still has on TCP is
    the server's HTTP port (the proxy's way in, behind the hub's auth) and a running kernel's
    IOPub pipe, a PULL socket that only takes output from the kernel's own subprocesses and
    drops any message without the kernel's random pipe id."""
    teacher = servers["teacher1"]
    base = teacher.server_url("teacher1", "api/kernels")
    teacher.get(teacher.server_url("teacher1", "lab"))
    headers = {"X-XSRFToken": teacher.server_xsrf("teacher1")}
    kernel = teacher.post(base, json={}, headers=headers)
    assert kernel.status_code == 201, kernel.text[:200]
    try:
        uid = int(host.check_output("id -u teacher1"))
        out = run(servers, "student1", LISTENERS_BY_UID)
        listeners = {int(k): v for k, v in json.loads(out.split("LISTENERS ", 1)[1]).items()}
        print("TCP listeners by uid, seen from student1's kernel:", listeners)
        # The five kernel channels on TCP would make it 7.
        assert listeners.get(uid) == 2, f"teacher1 listens on {listeners.get(uid)} TCP sockets with a kernel running"
        connection = json.loads(host.check_output(
            f"cat /home/teacher1/.local/share/jupyter/runtime/kernel-{kernel.json()['id']}.json"))
        assert connection["transport"] == "ipc", connection
        assert connection["ip"].startswith("/home/teacher1/.local/share/jupyter/runtime/kernel-sockets/"), connection
        assert host.file("/home/teacher1/.local/share/jupyter/runtime/kernel-sockets").mode == 0o700
    finally:
        teacher.delete(f"{base}/{kernel.json()['id']}", headers=headers)
