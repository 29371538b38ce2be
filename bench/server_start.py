#!/usr/bin/env python3
"""What one course server costs to start, by the server extensions it loads.

Runs inside an instance (``docker exec -i <instance> python3 - < bench/server_start.py``,
or with arguments: ``... python3 - --user peer01 --repeat 3``). For each variant it
starts the course server's own ``jupyter-lab`` as the user, with the course's
student config on JUPYTER_CONFIG_PATH (what the hub gives a student of the
course), and measures:

- start: wall and CPU seconds (the whole process tree, from /proc) until
  /api/status answers;
- lab: the first /lab page;
- stop: SIGTERM until the process is gone.

The variants switch server extensions off on the command line, so that the
figures show what each costs. Nothing on the instance changes; the servers
listen on 127.0.0.1 only and are stopped at the end.

This isolates the server from the hub: jupyterhub-singleuser is the same
server with the hub's auth extension, and the hub adds its own work (spawn,
OAuth, proxy routes), which bench/peak.py measures end to end.

molecule/default/tests/test_bench_smoke.py runs it with --repeat 1, so that it
keeps working (a smoke run, not a measurement).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ENV = "/opt/coursehub/envs/default"
CONFIG = "/etc/coursehub/nbgrader/{course}/student"
TOKEN = "bench-server-start"
TICKS = os.sysconf("SC_CLK_TCK")

# name: (Node.js hidden, server extensions switched off). Server units cannot
# reach Node.js (jupyterhub_course_settings.hidden_paths); the bench hides it
# the same way for the server's process alone, in a private mount namespace.
NODE = "/usr/bin/node"
VARIANTS = {
    "Node.js visible (before)": (False, []),
    "as configured (Node.js hidden)": (True, []),
    "also without jupyter_lsp": (True, ["jupyter_lsp"]),
    "also without jupyter_lsp and terminals": (True, ["jupyter_lsp", "jupyter_server_terminals"]),
    "also without nbgrader": (True, ["jupyter_lsp", "jupyter_server_terminals",
                                     "nbgrader.server_extensions.assignment_list",
                                     "nbgrader.server_extensions.validate_assignment"]),
}


def tree_cpu(pid):
    """User and system seconds of pid and its living descendants, plus their reaped children."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append((int(entry), fields))
    total, todo = 0, [pid]
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        total += sum(int(f) for f in fields[11:15])
    except OSError:
        return None
    while todo:
        for child, fields in children.get(todo.pop(), []):
            total += sum(int(f) for f in fields[11:15])
            todo.append(child)
    return total / TICKS


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url, timeout=5):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
        response.read()
        return response.status


def run(user, course, hide_node, disabled):
    port = free_port()
    argv = ["runuser", "-u", user, "--", "env", f"HOME=/home/{user}",
            f"JUPYTER_CONFIG_PATH={CONFIG.format(course=course)}", f"PATH={ENV}/bin:/usr/bin:/bin",
            f"{ENV}/bin/jupyter-lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir=/home/{user}"]
    # A dict trait: each key=value on the command line merges over the config files.
    argv += [f"--ServerApp.jpserver_extensions={name}=False" for name in disabled]
    if hide_node:
        # Not executable, not a regular file: JupyterLab's which("node") finds nothing.
        argv = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
                f'mount --bind /dev/null {NODE} && exec "$0" "$@"'] + argv
    began = time.monotonic()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    result = {}
    try:
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited: {process.stderr.read()[-2000:]}")
            try:
                if get(base + "/api/status", timeout=2) == 200:
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() - began > 120:
                raise SystemExit("the server did not answer in 120 s")
            time.sleep(0.05)
        result["start_wall"] = time.monotonic() - began
        result["start_cpu"] = tree_cpu(process.pid)
        mark = time.monotonic()
        get(base + "/lab", timeout=60)
        result["lab_wall"] = time.monotonic() - mark
        result["lab_cpu"] = tree_cpu(process.pid) - result["start_cpu"]
    finally:
        mark = time.monotonic()
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        result["stop_wall"] = time.monotonic() - mark
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--user", default="peer01", help="an existing account with a home")
    parser.add_argument("--course", default="mlbp2026")
    parser.add_argument("--repeat", type=int, default=3, help="runs per variant; the table shows the median")
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, user {args.user}, course {args.course}, median of {args.repeat}")
    print("| variant | start wall s | start CPU s | /lab wall s | /lab CPU s | stop wall s |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = {}
    for name, (hide_node, disabled) in VARIANTS.items():
        runs = [run(args.user, args.course, hide_node, disabled) for _ in range(args.repeat)]
        row = {key: sorted(r[key] for r in runs)[len(runs) // 2] for key in runs[0]}
        rows[name] = row
        print(f"| {name} | {row['start_wall']:.2f} | {row['start_cpu']:.2f} | {row['lab_wall']:.2f} | "
              f"{row['lab_cpu']:.2f} | {row['stop_wall']:.2f} |", flush=True)
    json.dump(rows, sys.stderr)
    print(file=sys.stderr)


if __name__ == "__main__":
    main()
