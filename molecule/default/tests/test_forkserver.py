"""The fork server (user_env_forkserver, issue 10): course servers come from
it, confined exactly like the unit they run in; whoever is not a server unit
gets nothing from it; and with it stopped, servers still start."""
import json

import pytest
from conftest import HubSession

FORKSERVER = "coursehub-forkserver.service"
SOCKET = "/run/coursehub-forkserver/server.sock"
ENV_PYTHON = "/opt/coursehub/envs/default/bin/python"
STATUS_FIELDS = ("Uid", "Gid", "Groups", "NoNewPrivs", "Seccomp", "CapBnd", "CapEff", "Umask")

# What a process that is not the spawner's launcher gets when it asks the
# socket for a server, speaking the launcher's own protocol.
ASK = r"""
import json, os, socket
from coursehub_forkserver import NAMESPACES, recv_message, send_message
sock = socket.socket(socket.AF_UNIX)
sock.connect(%r)
ns = [os.open("/proc/self/ns/" + n, os.O_RDONLY) for n in NAMESPACES]
try:
    send_message(sock, {"argv": ["jupyterhub-singleuser"], "env": {"PATH": "/usr/bin"}, "cwd": "/"},
                 fds=(0, 1, 2, *ns))
except BrokenPipeError:
    pass
print(json.dumps(recv_message(sock)[0]))
""" % SOCKET


@pytest.fixture
def session(ca_file, password):
    sessions = []

    def _login(username):
        client = HubSession(ca_file)
        assert client.login(username, password).status_code == 302
        client.stop(username)
        sessions.append((client, username))
        return client

    yield _login
    for client, username in sessions:
        client.stop(username)
        client.close()


def unit_processes(host, user):
    unit = f"jupyter-{user}-singleuser.service"
    group = host.check_output(f"systemctl show -p ControlGroup --value {unit}")
    for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        procs = f"{root}{group}/cgroup.procs"
        if host.file(procs).exists:
            return [int(p) for p in host.file(procs).content_string.split()]
    raise AssertionError(f"no cgroup.procs for {unit}")


def status(host, pid):
    fields = {}
    for line in host.file(f"/proc/{pid}/status").content_string.splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.split()
    return fields


def limits(host, pid):
    """{limit: [soft, hard, units]} from /proc/<pid>/limits (its columns are 26 characters wide)."""
    rows = host.file(f"/proc/{pid}/limits").content_string.splitlines()[1:]
    return {row[:26].strip(): row[26:].split() for row in rows if row.strip()}


def in_cgroup(host, pid, hierarchy, group):
    procs = host.file(f"/sys/fs/cgroup/{hierarchy}{group}/cgroup.procs")
    return procs.exists and str(pid) in procs.content_string.split()


def test_forkserver_runs_with_the_environment_preloaded(host):
    assert host.service("coursehub-forkserver").is_running
    assert host.service("coursehub-forkserver").is_enabled
    assert host.file(SOCKET).is_socket
    log = host.check_output(f"journalctl -u {FORKSERVER} -b --no-pager")
    assert "preloaded 15/15 modules" in log, log[-2000:]


def test_course_server_comes_from_the_forkserver_confined_as_its_unit(session, host):
    client = session("student1")
    assert client.spawn("mlbp2026").status_code == 200
    client.wait_for_server("student1")
    unit = "jupyter-student1-singleuser.service"
    launcher = int(host.check_output(f"systemctl show -p MainPID --value {unit}"))
    forkserver = int(host.check_output(f"systemctl show -p MainPID --value {FORKSERVER}"))
    others = [p for p in unit_processes(host, "student1") if p != launcher]
    servers = [p for p in others if status(host, p)["PPid"] == [str(forkserver)]]
    assert len(servers) == 1, f"no server forked by {forkserver} in {unit}: {others}"
    server = servers[0]
    mine, theirs = status(host, server), status(host, launcher)
    for field in STATUS_FIELDS:
        assert mine[field] == theirs[field], f"{field}: server {mine[field]}, unit {theirs[field]}"
    assert mine["Uid"][0] == str(host.user("student1").uid) and mine["CapEff"] == ["0000000000000000"]
    assert mine["NoNewPrivs"] == ["1"] and mine["Seccomp"] == ["2"]
    # In the unit's cgroups (its MemoryMax and CPUQuota), not the fork server's.
    group = host.check_output(f"systemctl show -p ControlGroup --value {unit}")
    for hierarchy in ("memory", "cpu", "pids", "systemd"):
        if host.file(f"/sys/fs/cgroup/{hierarchy}").exists:
            assert in_cgroup(host, server, hierarchy, group), f"server not in the unit's {hierarchy} cgroup"
    # In the unit's mount namespace: the same mounts, by mount ID (unique on the system).
    mounts = [host.file(f"/proc/{pid}/mountinfo").content_string.split("\n") for pid in (server, launcher)]
    assert sorted(line.split(" ")[0] for line in mounts[0] if line) == \
        sorted(line.split(" ")[0] for line in mounts[1] if line)
    assert any(" /coursedata " in line for line in mounts[0])
    host_mounts = host.file("/proc/1/mountinfo").content_string
    assert " /coursedata " not in host_mounts
    # The same resource limits, but for the open-files soft limit, which
    # jupyter_server itself raises at start (ServerApp.min_open_files_limit).
    server_limits, unit_limits = (limits(host, pid) for pid in (server, launcher))
    assert server_limits.pop("Max open files")[1:] == unit_limits.pop("Max open files")[1:]
    assert server_limits == unit_limits and len(unit_limits) >= 15, (server_limits, unit_limits)
    # Inside, it is the course server: its kernel sees the course's environment and groups.
    out, error = client.run_code("student1", "import os; print(os.getuid(), os.environ['COURSEHUB_COURSE'])")
    assert error is None, out
    assert out.split() == [str(host.user("student1").uid), "mlbp2026"]


@pytest.mark.parametrize("command,refusal", [
    (f"runuser -u student1 -- {ENV_PYTHON} -", "the peer may gain privileges (no_new_privs is off)"),
    (f"runuser -u student1 -- setpriv --no-new-privs {ENV_PYTHON} -", "not a server unit ("),
    (f"{ENV_PYTHON} -", "root, or not the connected user"),
], ids=["student", "student with no_new_privs", "root"])
def test_a_process_outside_a_server_unit_gets_no_server(host, command, refusal):
    count = f"journalctl -u {FORKSERVER} --no-pager | grep -c 'started pid' || true"
    before = host.check_output(count)
    answer = json.loads(host.check_output(f"{command} <<'EOF'\n{ASK}\nEOF"))
    assert "pid" not in answer and answer.get("error", "").startswith(refusal), f"{command}: {answer}"
    assert host.check_output(count) == before, "the fork server started something for a refused peer"


def test_servers_start_directly_when_the_forkserver_is_stopped(session, host):
    host.check_output(f"systemctl stop {FORKSERVER}")
    try:
        client = session("student2")
        assert client.spawn("mlbp2026").status_code == 200
        client.wait_for_server("student2")
        unit = "jupyter-student2-singleuser.service"
        main = host.check_output(f"systemctl show -p MainPID --value {unit}")
        assert "jupyterhub-singleuser" in host.file(f"/proc/{main}/cmdline").content_string
        assert "no fork server at" in host.check_output(f"journalctl -u {unit} --no-pager")
        assert client.get(client.url("/user/student2/api/status")).status_code == 200
    finally:
        host.check_output(f"systemctl start {FORKSERVER}")
