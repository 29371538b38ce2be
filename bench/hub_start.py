#!/usr/bin/env python3
"""What a course server costs to start through the hub, as a student starts it.

    python3 bench/hub_start.py --instance coursehub-demo --url https://127.0.0.1:8443 \
        --password-file .demo/password [--course mlbp2026] student1 student2 student3

For each user in turn (one at a time, so the figures are not contention): log
in over HTTPS, stop a server they may have, start the course through the spawn
form, open /lab (the OAuth redirects) until /api/status answers, then read the
CPU-seconds of everything in the server's systemd unit (``CPUUsageNSec``, or
the processes of its cgroup where accounting is off: bench/peak.py's counter),
and stop the server. This is jupyterhub-singleuser as the spawner runs it, in
its unit with its hidden paths and the course's config, unlike
bench/server_start.py, which starts the course's jupyter-lab by hand to compare
server extensions. Prints one line per user and the median; --json writes them.
"""
import argparse
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))
sys.path.insert(0, os.path.join(REPO, "bench"))

from hubclient import HubSession  # noqa: E402 - needs the path above
from peak import CPU_SCRIPT, is_loopback_url  # noqa: E402


def unit_cpu(instance, unit):
    shown = json.loads(subprocess.check_output(["docker", "exec", instance, "python3", "-c", CPU_SCRIPT, unit]))
    return shown[unit][0] / 1e9 if shown.get(unit) else None


def start(args, ca_file, password, user):
    session = HubSession(ca_file, args.url)
    try:
        assert session.login(user, password).status_code == 302, f"{user} could not log in"
        session.stop(user)
        began = time.monotonic()
        response = session.spawn(args.course)
        assert response.status_code == 200, f"{user} could not start {args.course}: {response.status_code}"
        session.wait_for_server(user, timeout=args.timeout)
        ready = time.monotonic() - began
        cpu = unit_cpu(args.instance, f"jupyter-{user}-singleuser.service")
        session.stop(user)
        return {"user": user, "spawn_to_ready": round(ready, 2), "cpu_at_ready": cpu and round(cpu, 2)}
    finally:
        session.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("users", nargs="+", help="existing accounts that may start the course")
    parser.add_argument("--instance", default="coursehub-molecule")
    parser.add_argument("--url", default="https://127.0.0.1:18443")
    parser.add_argument("--password-file", default=os.path.join(REPO, ".cache", "molecule-password"))
    parser.add_argument("--course", default="mlbp2026")
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args()
    if not is_loopback_url(args.url):
        parser.error("--url must be https on the loopback (https://127.0.0.1:PORT or https://<name>.localhost:PORT)")
    with open(args.password_file, encoding="utf-8") as handle:
        password = handle.read().split()[0]
    cert = subprocess.check_output(["docker", "exec", args.instance, "cat", "/etc/coursehub/tls/cert.pem"])
    with tempfile.NamedTemporaryFile("wb", suffix=".pem") as ca_file:
        ca_file.write(cert)
        ca_file.flush()
        ssl.create_default_context(cafile=ca_file.name)  # a bad certificate fails here, not mid-run
        rows = []
        for user in args.users:
            row = start(args, ca_file.name, password, user)
            rows.append(row)
            print(f"{user}: spawn to ready {row['spawn_to_ready']:.1f} s, server unit CPU at ready "
                  f"{row['cpu_at_ready']} CPU-s", flush=True)
    cpus = sorted(r["cpu_at_ready"] for r in rows if r["cpu_at_ready"] is not None)
    median = cpus[len(cpus) // 2] if cpus else None
    print(f"median of {len(cpus)}: {median} CPU-s at ready")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump({"course": args.course, "instance": args.instance, "starts": rows,
                       "median_cpu_at_ready": median}, handle, indent=1)


if __name__ == "__main__":
    main()
