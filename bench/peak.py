#!/usr/bin/env python3
"""Deadline-peak load test: N students arrive at a set rate, each
logs in, starts the course, fetches and submits an assignment, and stops.

    python3 bench/peak.py --instance coursehub-molecule [--url https://hub.localhost:18443] [--students 60]
        [--rate 1.0] [--course mlbp2026] [--assignment peak1] [--label sqlite] [--json OUT]
        [--password-file .cache/molecule-password] [--instructor teacher1]

It is a benchmark, not a test.  Everything goes over HTTPS to the port the
instance publishes on 127.0.0.1, verified against the instance's own
certificate, with no proxy from the environment; ``docker exec`` is used only
for the setup, for the CPU counters and to look at what was collected.

Setup (not timed):
  - accounts peer01..peerNN are created in the instance when missing (one
    ``docker exec``: useradd -m, chpasswd, home 0700; a public course needs no
    group), and the copies a previous run fetched into their homes are removed
    (nbgrader refuses to fetch over them);
  - the instructor starts the course in instructor mode and, when the
    assignment is not released yet, writes, generates and releases it through
    the formgrader API (as molecule/default/tests/test_nbgrader.py does).  A
    server the instructor already runs in that mode is used and left running;
    one in another mode stops the bench (pick another --instructor): someone
    may be using it.

Timed phase: student i arrives at i / rate seconds and, with its own cookies
and connections, as a browser would:
  1. GET /hub/login, POST /hub/login (302);
  2. GET /hub/spawn, POST the spawn form (its action URL) with the course (302);
  3. GET /hub/api/users/<u>/server/progress (the event stream the spawn-pending
     page reads) until the ready event, which says where the server is
     (<server>: /user/<u>/, or https://<u>.<hub host>/user/<u>/ with
     subdomain_host), then GET <server>lab through the OAuth redirects and
     GET <server>api/status (200): login-to-ready is from the first GET to here;
  4. GET <server>assignments?course_id=..., POST assignments/fetch, GET and
     PUT the notebook with an answer through the contents API, POST
     assignments/submit (the submit latency is this call);
  5. DELETE /hub/api/users/<u>/server, then GET /hub/api/user until it is gone.
A 429 is counted and retried after its Retry-After; any other status >= 400,
a timeout or a refused step fails that student, with the step and reason.

After: the instructor collects through the formgrader API, and root looks at
<course files>/submitted/<peer>/<assignment>: a submission counts as collected
when its notebook carries the answer of this run.  CPU-seconds of the hub, the
proxy (and PostgreSQL, if any) come from systemd's CPUUsageNSec (where CPU
accounting is off, from the times of the processes in the unit's cgroup),
sampled through the run; the host's CPU and load from /proc.  The run is only
as quiet as the host: the table shows how busy it was.

Prints a table, writes --json (bench/peak_chart.py draws it), and exits 1
when an acceptance target is missed: 0 failed submissions, 0 5xx, p95
login-to-ready <= 10 s, collected = submitted.

Smoke runs (2 students, so that it keeps working; not measurements):
molecule/default/tests/test_bench_smoke.py, tests/unit/test_bench_smoke.py.
"""

import argparse
import asyncio
import collections
import datetime
import html
import itertools
import json
import math
import os
import platform
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

import aiohttp
import aiohttp.abc
from yarl import URL

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "molecule", "shared"))

from hubclient import BASE_URL, HubSession  # noqa: E402 - needs the path above

DEFAULT_URL = BASE_URL  # the default scenario's hub, or $COURSEHUB_URL
# Where the roles put things inside the instance (their defaults).
CERT = "/etc/coursehub/tls/cert.pem"
HUB_CONFIG = "/etc/jupyterhub/jupyterhub_config.py"
COURSE_FILES = "/srv/coursehub/course/{course}/files"
EXCHANGE = "/srv/nbgrader/exchange/{course}"
# Units whose CPU is sampled; PostgreSQL's cluster units are added when present.
CPU_UNITS = ("jupyterhub.service", "configurable-http-proxy.service")
# Acceptance targets (docs/performance.md, deadline peak).
TARGET_P95_READY = 10.0
REQUEST_TIMEOUT = 120     # one ordinary request
SPAWN_TIMEOUT = 600       # the progress stream, and stopping
MAX_429_RETRIES = 20
SAMPLE_EVERY = 5.0        # seconds between CPU samples

SOURCE_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        {"cell_type": "markdown", "source": "Write `square(x)` before the deadline.",
         "metadata": {"nbgrader": {"grade": False, "solution": False, "locked": True, "grade_id": "intro",
                                   "schema_version": 3}}},
        {"cell_type": "code", "execution_count": None, "outputs": [],
         "source": "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION\n",
         "metadata": {"nbgrader": {"grade": False, "solution": True, "locked": False, "grade_id": "square",
                                   "schema_version": 3}}},
        {"cell_type": "code", "execution_count": None, "outputs": [], "source": "assert square(2) == 4\n",
         "metadata": {"nbgrader": {"grade": True, "solution": False, "locked": True, "points": 1,
                                   "grade_id": "test_square", "schema_version": 3}}},
    ],
}


class LocalhostResolver(aiohttp.abc.AbstractResolver):
    """aiohttp's default resolver, except that names under .localhost are 127.0.0.1, as RFC 6761
    reserves them to be and as hubclient resolves them for requests: the hub at
    https://hub.localhost:PORT and, with subdomain_host, each user's server at
    https://<user>.hub.localhost:PORT.  So this does not depend on the resolver aiohttp picks:
    aiodns's c-ares knows .localhost from 1.23 on, glibc's getaddrinfo (aiohttp's threaded resolver,
    without aiodns) not unless nss-myhostname is set up.  Other names go to the default resolver."""

    def __init__(self):
        self.resolver = aiohttp.DefaultResolver()

    async def resolve(self, host, port=0, family=socket.AF_INET):
        if host.rstrip(".").lower().endswith(".localhost"):
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                     "flags": socket.AI_NUMERICHOST | socket.AI_NUMERICSERV}]
        return await self.resolver.resolve(host, port, family)

    async def close(self):
        await self.resolver.close()


class StepFailed(Exception):
    """A student's step went wrong: which step, and why."""

    def __init__(self, step, reason):
        super().__init__(f"{step}: {reason}")
        self.step, self.reason = step, reason


# --------------------------------------------------------------------------
# The instance, through docker exec
# --------------------------------------------------------------------------

def docker_exec(instance, argv, stdin=None, check=True):
    done = subprocess.run(["docker", "exec", "-i", instance, *argv], input=stdin, text=True, capture_output=True,
                          check=False)
    if check and done.returncode != 0:
        raise SystemExit(f"docker exec {instance} {' '.join(argv)[:120]}: rc {done.returncode}\n"
                         f"{(done.stderr or done.stdout)[-2000:]}")
    return done.stdout


# Creates the missing accounts, sets every password (stdin: user:password
# lines), closes the homes, removes last run's fetched copies, and names the
# peers whose server unit is still up (an aborted run).
ACCOUNTS_SCRIPT = r"""
set -eu
course=$1 assignment=$2
shift 2
for u in "$@"; do
    id -u "$u" >/dev/null 2>&1 || useradd -m -s /bin/bash "$u"
    chmod 0700 "/home/$u"
    rm -rf "/home/$u/$course/$assignment"
done
chpasswd
for u in "$@"; do
    if systemctl is-active -q "jupyter-$u-singleuser"; then echo "RUNNING $u"; fi
done
"""

# Reads what was collected and what is in the exchange: which peers' latest
# copies carry this run's answer.  Root only looks.
COLLECTED_SCRIPT = r"""
import json, os, sys
files, exchange, assignment, marker, users = json.loads(sys.stdin.read())
def has_marker(path, user):
    try:
        with open(path, encoding="utf-8") as handle:
            return ("%s-%s" % (marker, user)) in handle.read()
    except OSError:
        return False
collected = [u for u in users
             if has_marker("%s/submitted/%s/%s/%s.ipynb" % (files, u, assignment, assignment), u)]
inbound = set()
wanted = set(users)
for name in os.listdir(exchange + "/inbound"):
    parts = name.split("+")
    if len(parts) >= 3 and parts[0] in wanted and parts[1] == assignment:
        if has_marker("%s/inbound/%s/%s.ipynb" % (exchange, name, assignment), parts[0]):
            inbound.add(parts[0])
print(json.dumps({"collected": collected, "inbound": sorted(inbound)}))
"""


def is_loopback_url(address):
    """An https URL with a port on the loopback: 127.0.0.1, localhost or a name under .localhost
    (hubclient and this bench resolve those to 127.0.0.1: a hub with subdomain_host)."""
    url = urllib.parse.urlsplit(address)
    return bool(url.scheme == "https" and url.port and url.hostname
                and (url.hostname in ("127.0.0.1", "localhost") or url.hostname.endswith(".localhost")))


# CPU of each unit: systemd's CPUUsageNSec, or where CPU accounting is off (a
# container on a cgroup v1 host: "[not set]") the user and system time, own and
# of reaped children, of the processes in the unit's cgroup.
CPU_SCRIPT = r"""
import json, os, subprocess, sys
shown = subprocess.run(["systemctl", "show", "-p", "Id", "-p", "CPUUsageNSec", "-p", "ControlGroup"] + sys.argv[1:],
                       capture_output=True, text=True).stdout
result = {}
for block in shown.strip().split("\n\n"):
    props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
    if props.get("CPUUsageNSec", "").isdigit():
        result[props["Id"]] = [int(props["CPUUsageNSec"]), "CPUUsageNSec"]
        continue
    pids, group = [], props.get("ControlGroup")
    for root in ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"):
        if group and os.path.exists(root + group + "/cgroup.procs"):
            with open(root + group + "/cgroup.procs") as handle:
                pids = handle.read().split()
            break
    ticks = 0
    for pid in pids:
        try:
            with open("/proc/%s/stat" % pid) as handle:
                ticks += sum(int(f) for f in handle.read().rsplit(")", 1)[1].split()[11:15])
        except OSError:
            pass
    result[props["Id"]] = [ticks * 10 ** 9 // os.sysconf("SC_CLK_TCK"), "processes"] if pids else None
print(json.dumps(result))
"""


def cpu_units(instance):
    """The units to sample: the hub, the proxy and any PostgreSQL cluster."""
    listed = docker_exec(instance, ["systemctl", "list-units", "--plain", "--no-legend", "--type=service",
                                    "postgresql@*"], check=False)
    return list(CPU_UNITS) + [line.split()[0] for line in listed.splitlines() if line.strip()]


def hub_database(instance):
    config = docker_exec(instance, ["cat", HUB_CONFIG], check=False)
    match = re.search(r'^c\.JupyterHub\.db_url\s*=\s*"(\w+)', config, re.MULTILINE)
    return match.group(1).split("+")[0] if match else "unknown"


async def read_cpu(instance, units):
    """{unit: CPU nanoseconds or None}, read with one docker exec."""
    process = await asyncio.create_subprocess_exec(
        "docker", "exec", instance, "python3", "-c", CPU_SCRIPT, *units,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await process.communicate()
    try:
        return json.loads(out)
    except ValueError:
        return {}


def host_cpu():
    """(busy, total) jiffies of the whole host from /proc/stat, and the 1-minute load."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(v) for v in handle.readline().split()[1:]]
    with open("/proc/loadavg", encoding="ascii") as handle:
        load = float(handle.read().split()[0])
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields), load


class CpuSampler:
    """Samples the units' CPU counters and the host every few seconds while the students run."""

    def __init__(self, instance, units):
        self.instance, self.units = instance, units
        self.samples = []   # (seconds since start, {unit: ns}, host busy, host total, load1)
        self.sources = {}   # unit: where its figure comes from
        self.origin = None

    async def sample(self):
        cpu = {}
        for unit, value in (await read_cpu(self.instance, self.units)).items():
            if value:
                cpu[unit], self.sources[unit] = value
        busy, total, load = host_cpu()
        self.samples.append((round(time.monotonic() - self.origin, 2), cpu, busy, total, load))

    async def run(self, stop):
        self.origin = time.monotonic()
        await self.sample()
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=SAMPLE_EVERY)
            except TimeoutError:
                await self.sample()
        await self.sample()

    def summary(self):
        first, last = self.samples[0], self.samples[-1]
        wall = last[0] - first[0]
        units = {}
        for unit in self.units:
            if first[1].get(unit) is None or last[1].get(unit) is None:
                continue
            seconds = (last[1][unit] - first[1][unit]) / 1e9
            peak = 0.0
            for before, after in itertools.pairwise(self.samples):
                if before[1].get(unit) is not None and after[1].get(unit) is not None and after[0] > before[0]:
                    peak = max(peak, (after[1][unit] - before[1][unit]) / 1e9 / (after[0] - before[0]))
            units[unit] = {"cpu_seconds": round(seconds, 2), "avg_pct_of_core": round(100 * seconds / wall, 1),
                           "peak_pct_of_core": round(100 * peak, 1), "source": self.sources.get(unit)}
        busy = (last[2] - first[2]) / max(last[3] - first[3], 1)
        return {"wall_seconds": round(wall, 1), "units": units,
                "host": {"cpus": os.cpu_count(), "busy_pct": round(100 * busy, 1),
                         "load1_max": max(s[4] for s in self.samples)},
                "timeline": [{"t": s[0], "cpu_ns": s[1], "load1": s[4]} for s in self.samples]}


# --------------------------------------------------------------------------
# One student, as a browser
# --------------------------------------------------------------------------

class Student:
    """A student with their own cookies and connections, walking through the deadline."""

    def __init__(self, name, args, ssl_context, password, marker):
        self.name, self.args, self.password, self.marker = name, args, password, marker
        self.ssl_context = ssl_context
        self.statuses = collections.Counter()   # every final status seen, and 'timeout' / 'connection'
        self.retried_429 = 0
        self.record = {"user": name, "ok": False}
        self.session = None
        self.server = None  # the server's URL, from the hub's ready event
        self.last_lap = time.monotonic()

    def url(self, path):
        """A path on the hub, or a full URL (the user's server on a host of its own) as it is."""
        return path if path.startswith("https://") else self.args.url + path

    def lap(self, name, since=None):
        """Time of one part of login-to-ready, from the end of the previous part."""
        now = time.monotonic()
        self.record.setdefault("parts", {})[name] = round(now - (since or self.last_lap), 3)
        self.last_lap = now

    def xsrf(self, prefix):
        morsel = self.session.cookie_jar.filter_cookies(URL(self.url(prefix))).get("_xsrf")
        return morsel.value if morsel else ""

    async def call(self, step, method, path, ok=(200,), xsrf=None, page=False, **kwargs):
        """One request; 429 is retried after its Retry-After.  Returns (status, text, response).

        Like a browser, it says whether it loads a page or calls an API (Sec-Fetch-Mode): the hub checks
        the _xsrf token of API calls, and warns in its log about requests that say neither."""
        headers = {"Sec-Fetch-Mode": "navigate" if page else "cors", "Sec-Fetch-Site": "same-origin",
                   **kwargs.pop("headers", {})}
        if xsrf is not None:
            headers["X-XSRFToken"] = self.xsrf(xsrf)
        backoff = 1.0
        for _ in range(MAX_429_RETRIES + 1):
            try:
                async with self.session.request(method, self.url(path), headers=headers, **kwargs) as response:
                    text = await response.text(errors="replace")
            except TimeoutError:
                self.statuses["timeout"] += 1
                raise StepFailed(step, f"{method} {path}: timeout") from None
            except aiohttp.ClientError as exc:
                self.statuses["connection"] += 1
                raise StepFailed(step, f"{method} {path}: {type(exc).__name__} {exc}") from None
            self.statuses[response.status] += 1
            if response.status == 429:
                self.retried_429 += 1
                retry_after = response.headers.get("Retry-After", "")
                await asyncio.sleep(float(retry_after) if retry_after.isdigit() else backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if response.status not in ok:
                raise StepFailed(step, f"{method} {path}: {response.status} {text[:160]!r}")
            return response.status, text, response
        raise StepFailed(step, f"{method} {path}: still 429 after {MAX_429_RETRIES} retries")

    async def nbgrader(self, step, action):
        """POST one of the Assignments list's actions; nbgrader answers 200 with success true or false."""
        base = self.server
        _, text, _ = await self.call(step, "POST", f"{base}assignments/{action}", xsrf=base,
                                     data={"course_id": self.args.course, "assignment_id": self.args.assignment})
        result = json.loads(text)
        if not result.get("success"):
            raise StepFailed(step, f"nbgrader {action}: {str(result.get('value') or result)[:200]}")
        return result

    async def run(self, arrival):
        self.session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),  # cookies of 127.0.0.1, an IP address
            connector=aiohttp.TCPConnector(ssl=self.ssl_context, resolver=LocalhostResolver()),
            timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT), trust_env=False)
        self.record["arrival"] = round(arrival, 2)
        step = "login"
        try:
            started = time.monotonic()
            await self.login()
            self.lap("login", started)
            step = "spawn"
            await self.spawn()
            self.lap("spawn")
            step = "ready"
            await self.wait_ready()
            self.record["login_to_ready"] = round(time.monotonic() - started, 3)
            step = "fetch"
            await self.fetch_and_answer()
            step = "submit"
            began = time.monotonic()
            submitted = await self.nbgrader(step, "submit")
            self.record["submit"] = round(time.monotonic() - began, 3)
            stamps = [sub.get("timestamp") for a in submitted.get("value", [])
                      if a.get("assignment_id") == self.args.assignment and a.get("status") == "submitted"
                      for sub in a.get("submissions", [])]
            if not stamps:
                raise StepFailed(step, "the submit answer lists no submission")
            self.record.update(submitted=True, timestamp=max(stamps))
            step = "stop"
            began = time.monotonic()
            await self.stop()
            self.record["stop"] = round(time.monotonic() - began, 3)
            self.record["ok"] = True
        except StepFailed as exc:
            self.record.update(failed_step=exc.step, reason=exc.reason)
            await self.stop_quietly()
        except Exception as exc:  # noqa: BLE001 - a bench reports a crash of one student and goes on
            self.record.update(failed_step=step, reason=f"{type(exc).__name__}: {exc}")
            await self.stop_quietly()
        finally:
            await self.session.close()
        self.record["retried_429"] = self.retried_429
        self.record["statuses"] = {str(k): v for k, v in sorted(self.statuses.items(), key=str)}
        return self.record

    async def login(self):
        _, text, _ = await self.call("login", "GET", "/hub/login", page=True)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', text)
        if not xsrf:
            raise StepFailed("login", "the login form carries no _xsrf field")
        await self.call("login", "POST", "/hub/login?next=%2Fhub%2Fspawn", ok=(302,), page=True, allow_redirects=False,
                        data={"username": self.name, "password": self.password, "_xsrf": xsrf.group(1)})

    async def spawn(self):
        _, text, _ = await self.call("spawn", "GET", "/hub/spawn", page=True)
        action = re.search(r'<form[^>]*action="([^"]+)"', text)
        if not action:
            raise StepFailed("spawn", "no spawn form (a server already running?)")
        if f'value="{self.args.course}"' not in text:
            raise StepFailed("spawn", f"the spawn form does not offer {self.args.course}")
        await self.call("spawn", "POST", html.unescape(action.group(1)), ok=(302,), page=True, allow_redirects=False,
                        data={"course": self.args.course})

    async def wait_ready(self):
        """The spawn-pending page's event stream until ready, then the lab through OAuth and the status API."""
        path = f"/hub/api/users/{self.name}/server/progress"
        try:
            async with self.session.get(self.url(path), params={"_xsrf": self.xsrf("/hub/")},
                                        headers={"Accept": "text/event-stream", "Sec-Fetch-Mode": "cors",
                                                 "Sec-Fetch-Site": "same-origin"},
                                        timeout=aiohttp.ClientTimeout(total=SPAWN_TIMEOUT)) as response:
                self.statuses[response.status] += 1
                if response.status != 200:
                    raise StepFailed("ready", f"GET {path}: {response.status}")
                async for line in response.content:
                    if not line.startswith(b"data:"):
                        continue
                    event = json.loads(line[5:])
                    if event.get("failed"):
                        raise StepFailed("ready", f"spawn failed: {event.get('message', '')[:200]}")
                    if event.get("ready"):
                        self.server = str(URL(self.args.url).join(URL(event["url"])))
                        break
                else:
                    raise StepFailed("ready", "the progress stream ended without a ready event")
        except TimeoutError:
            self.statuses["timeout"] += 1
            raise StepFailed("ready", f"not ready after {SPAWN_TIMEOUT} s") from None
        except aiohttp.ClientError as exc:
            self.statuses["connection"] += 1
            raise StepFailed("ready", f"GET {path}: {type(exc).__name__} {exc}") from None
        self.lap("progress")
        # The lab page walks the OAuth redirects and sets the server's cookies.
        await self.call("ready", "GET", self.server + "lab", page=True)
        await self.call("ready", "GET", self.server + "api/status", xsrf=self.server)
        self.lap("lab")

    async def fetch_and_answer(self):
        base = self.server
        _, text, _ = await self.call("fetch", "GET", base + "assignments", xsrf=base,
                                     params={"course_id": self.args.course})
        listed = [a for a in json.loads(text).get("value", []) if a.get("assignment_id") == self.args.assignment]
        if not listed:
            raise StepFailed("fetch", f"{self.args.assignment} is not in the assignment list")
        await self.nbgrader("fetch", "fetch")
        path = f"api/contents/{self.args.course}/{self.args.assignment}/{self.args.assignment}.ipynb"
        _, text, _ = await self.call("fetch", "GET", base + path, xsrf=base, params={"content": "1"})
        notebook = json.loads(text)["content"]
        answer = f"def square(x):\n    return x * x  # {self.marker}-{self.name}\n"
        cells = [c for c in notebook["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
        if cells:
            cells[0]["source"] = answer
        else:
            notebook["cells"].append({"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                                      "source": answer})
        await self.call("fetch", "PUT", base + path, ok=(200, 201), xsrf=base,
                        json={"type": "notebook", "format": "json", "content": notebook})

    async def stop(self):
        # What this student's server cost the host, from its start to now.
        unit = f"jupyter-{self.name}-singleuser.service"
        used = (await read_cpu(self.args.instance, [unit])).get(unit)
        if used:
            self.record["server_cpu"] = round(used[0] / 1e9, 2)
        await self.call("stop", "DELETE", f"/hub/api/users/{self.name}/server", ok=(202, 204), xsrf="/hub/")
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while time.monotonic() < deadline:
            _, text, _ = await self.call("stop", "GET", "/hub/api/user", xsrf="/hub/")
            if not json.loads(text).get("servers"):
                return
            await asyncio.sleep(1)
        raise StepFailed("stop", f"the server did not stop in {SPAWN_TIMEOUT} s")

    async def stop_quietly(self):
        """After a failure: stop the server if one is there, without counting its statuses."""
        try:
            xsrf = self.xsrf("/hub/")
            async with self.session.delete(self.url(f"/hub/api/users/{self.name}/server"),
                                           headers={"X-XSRFToken": xsrf, "Sec-Fetch-Mode": "cors"}):
                pass
        except (TimeoutError, aiohttp.ClientError):
            pass


# --------------------------------------------------------------------------
# The instructor: release before, collect after (sync, through hubclient)
# --------------------------------------------------------------------------

class Instructor:
    """The instructor's course server in instructor mode, as in test_nbgrader; started only if not running."""

    def __init__(self, args, ca_file, password):
        self.args, self.user = args, args.instructor
        self.session = HubSession(ca_file, base_url=args.url)
        self.started = False
        response = self.session.login(self.user, password)
        if response.status_code != 302:
            raise SystemExit(f"{self.user} cannot log in: {response.status_code}")
        choice = f"{args.course}:instructor"
        servers = self.session.get(self.session.url("/hub/api/user")).json().get("servers") or {}
        running = servers.get("")
        if running:
            # Someone (maybe a person) is using this account: reuse the server if it fits, never stop it.
            options = running.get("user_options") or {}
            if (options.get("course"), options.get("mode")) != (args.course, "instructor"):
                raise SystemExit(f"{self.user} has a server running with {options or 'unknown options'}, not "
                                 f"{choice}: choose another --instructor")
        else:
            response = self.session.spawn(choice)
            if response.status_code != 200:
                raise SystemExit(f"{self.user} could not start {choice}: {response.status_code}")
            self.started = True
        self.session.wait_for_server(self.user, timeout=300)

    def request(self, method, path, **kwargs):
        return self.session.request(method, self.session.server_url(self.user, path),
                                    headers={"X-XSRFToken": self.session.server_xsrf(self.user)},
                                    timeout=600, **kwargs)

    def formgrader(self, path):
        response = self.request("POST", "formgrader/api/" + path)
        result = response.json() if response.status_code == 200 else {}
        if not result.get("success"):
            # The end of nbgrader's log says what went wrong (its start is the server's own chatter).
            raise SystemExit(f"formgrader {path}: {response.status_code} "
                             f"{(result.get('log') or response.text)[-2000:]}\n{result.get('error') or ''}")
        return result

    def released(self):
        response = self.request("GET", "formgrader/api/assignments")
        if response.status_code != 200:
            raise SystemExit(f"{self.user}'s server has no formgrader: {response.status_code} (not an instructor?)")
        return any(a["name"] == self.args.assignment and a["status"] == "released" for a in response.json())

    def release(self):
        """Write, generate and release the assignment, unless it is out already.  Returns whether it released."""
        if self.released():
            return False
        name = self.args.assignment
        for path, model in (("course/source", {"type": "directory"}), (f"course/source/{name}", {"type": "directory"}),
                            (f"course/source/{name}/{name}.ipynb",
                             {"type": "notebook", "format": "json", "content": SOURCE_NOTEBOOK})):
            response = self.request("PUT", "api/contents/" + path, json=model)
            if response.status_code not in (200, 201):
                raise SystemExit(f"PUT {path}: {response.status_code} {response.text[:300]}")
        self.formgrader(f"assignment/{name}/assign")
        self.formgrader(f"assignment/{name}/release")
        return True

    def collect(self):
        started = time.monotonic()
        self.formgrader(f"assignment/{self.args.assignment}/collect")
        return time.monotonic() - started

    def close(self):
        if self.started:
            self.session.stop(self.user)
        self.session.close()


# --------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------

async def arrive(args, users, password, ssl_context, marker, units):
    """Start student i at i / rate seconds; sample CPU meanwhile.  Returns (records, cpu summary)."""
    sampler, stop = CpuSampler(args.instance, units), asyncio.Event()
    sampling = asyncio.create_task(sampler.run(stop))
    while sampler.origin is None:
        await asyncio.sleep(0)
    origin, tasks = time.monotonic(), []
    for i, name in enumerate(users):
        delay = origin + i / args.rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        student = Student(name, args, ssl_context, password, marker)
        tasks.append(asyncio.create_task(student.run(time.monotonic() - origin)))
    records = await asyncio.gather(*tasks)
    stop.set()
    await sampling
    return list(records), sampler.summary()


def percentile(values, q):
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100.0 * len(ordered)) - 1)]


def stats(values):
    return {"n": len(values), "p50": percentile(values, 50), "p95": percentile(values, 95),
            "max": max(values) if values else None}


def summarise(records, collected, inbound):
    statuses, reasons = collections.Counter(), collections.Counter()
    for record in records:
        statuses.update(record["statuses"])
        if not record["ok"]:
            reasons[f"{record['failed_step']}: {record['reason'][:100]}"] += 1
    errors = {k: v for k, v in statuses.items() if not k.isdigit() or (int(k) >= 400 and k != "429")}
    submitted = [r["user"] for r in records if r.get("submitted")]
    summary = {
        "students": len(records),
        "ok": sum(r["ok"] for r in records),
        "failed": sum(not r["ok"] for r in records),
        "login_to_ready": stats([r["login_to_ready"] for r in records if "login_to_ready" in r]),
        "submit": stats([r["submit"] for r in records if "submit" in r]),
        "stop": stats([r["stop"] for r in records if "stop" in r]),
        "server_cpu": stats([r["server_cpu"] for r in records if "server_cpu" in r]),
        "parts": {part: stats([r["parts"][part] for r in records if part in r.get("parts", {})])
                  for part in ("login", "spawn", "progress", "lab")},
        "retried_429": sum(r["retried_429"] for r in records),
        "errors_by_status": dict(sorted(errors.items())),
        "statuses": dict(sorted(statuses.items())),
        "failures": dict(reasons.most_common()),
        "submitted": len(submitted),
        "in_exchange": len(set(submitted) & set(inbound)),
        "collected": len(set(submitted) & set(collected)),
    }
    summary["lost"] = summary["submitted"] - summary["collected"]
    summary["failed_submissions"] = summary["students"] - summary["submitted"]
    five = sum(v for k, v in errors.items() if k.isdigit() and k.startswith("5"))
    p95 = summary["login_to_ready"]["p95"]
    summary["acceptance"] = {
        "0 failed submissions": summary["failed_submissions"] == 0,
        "0 5xx": five == 0,
        f"p95 login-to-ready <= {TARGET_P95_READY:g} s": p95 is not None and p95 <= TARGET_P95_READY,
        "collected = submitted": summary["lost"] == 0 and summary["submitted"] > 0,
    }
    return summary


def fmt(value, unit="s"):
    return "-" if value is None else f"{value:.2f} {unit}"


def print_report(result):
    s, cpu = result["summary"], result["cpu"]
    print()
    print(f"| {result['label']} | p50 | p95 | max | n |")
    print("|---|---:|---:|---:|---:|")
    for key, title in (("login_to_ready", "login to ready"), ("submit", "submit"), ("stop", "stop")):
        row = s[key]
        print(f"| {title} | {fmt(row['p50'])} | {fmt(row['p95'])} | {fmt(row['max'])} | {row['n']} |")
    row = s["server_cpu"]
    print(f"each server's CPU, start to stop (p50 / p95 / max): {fmt(row['p50'], 'CPU-s')} / "
          f"{fmt(row['p95'], 'CPU-s')} / {fmt(row['max'], 'CPU-s')}")
    print("login to ready, by part (p50 / p95): " + ", ".join(
        f"{part} {fmt(row['p50'])} / {fmt(row['p95'])}" for part, row in s["parts"].items()))
    print()
    print(f"students {s['students']} at {result['rate']:g}/s: ok {s['ok']}, failed {s['failed']}")
    print(f"submitted {s['submitted']}, in the exchange {s['in_exchange']}, collected {s['collected']}, "
          f"lost {s['lost']}")
    print(f"429 retried {s['retried_429']}; errors by status: "
          f"{', '.join(f'{k}: {v}' for k, v in s['errors_by_status'].items()) or 'none'}")
    for reason, count in s["failures"].items():
        print(f"  failed x{count}  {reason}")
    for unit, row in cpu["units"].items():
        print(f"{unit}: {row['cpu_seconds']:.1f} CPU-s over {cpu['wall_seconds']:.0f} s, "
              f"avg {row['avg_pct_of_core']:.0f}% of a core, peak {row['peak_pct_of_core']:.0f}% ({SAMPLE_EVERY:g} s)")
    host = cpu["host"]
    print(f"host: {host['cpus']} CPUs {host['busy_pct']:.0f}% busy, max load1 {host['load1_max']:.2f}; "
          f"collect {result['collect_seconds']:.1f} s")
    print()
    for name, ok in s["acceptance"].items():
        print(f"target {name:32s} {'met' if ok else 'NOT MET'}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instance", required=True, help="docker container of the instance (setup, CPU, collect)")
    parser.add_argument("--url", default=DEFAULT_URL, help="the hub through the published loopback port")
    parser.add_argument("--students", type=int, default=60, help="simulated students (peer01..)")
    parser.add_argument("--rate", type=float, default=1.0, help="arrivals per second")
    parser.add_argument("--course", default="mlbp2026", help="a course the peers may start (public)")
    parser.add_argument("--assignment", default="peak1", help="released by the instructor if not out yet")
    parser.add_argument("--instructor", default="teacher1", help="an instructor of the course")
    parser.add_argument("--label", help="name of this run in the table and chart (default: the hub's database)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--password-file", default=os.path.join(REPO, ".cache", "molecule-password"),
                        help="the accounts' password (first word); the peers get it too")
    args = parser.parse_args(argv)
    if not is_loopback_url(args.url):
        parser.error("--url must be https on the loopback (https://127.0.0.1:PORT or https://<name>.localhost:PORT)")
    if args.students < 1 or args.rate <= 0:
        parser.error("--students and --rate must be positive")
    args.url = args.url.rstrip("/")
    return args


def main(argv=None):
    args = parse_args(argv)
    with open(args.password_file, encoding="utf-8") as handle:
        password = handle.read().split()[0]
    width = max(2, len(str(args.students)))
    users = [f"peer{i:0{width}d}" for i in range(1, args.students + 1)]
    database = hub_database(args.instance)
    args.label = args.label or database
    with tempfile.TemporaryDirectory(prefix="peak-") as tmp:
        ca_file = os.path.join(tmp, "cert.pem")
        with open(ca_file, "w", encoding="ascii") as handle:
            handle.write(docker_exec(args.instance, ["cat", CERT]))
        ssl_context = ssl.create_default_context(cafile=ca_file)

        print(f"setup: {len(users)} peer accounts in {args.instance} (hub database: {database})", flush=True)
        started = time.monotonic()
        stdin = "".join(f"{u}:{password}\n" for u in users)
        running = [line.split()[1] for line in docker_exec(
            args.instance, ["bash", "-c", ACCOUNTS_SCRIPT, "accounts", args.course, args.assignment] + users,
            stdin=stdin).splitlines() if line.startswith("RUNNING ")]
        for name in running:  # left over from an aborted run: the peers' own servers
            leftover = HubSession(ca_file, base_url=args.url)
            if leftover.login(name, password).status_code == 302:
                leftover.stop(name)
            leftover.close()
        print(f"  accounts ready in {time.monotonic() - started:.1f} s"
              f"{f'; stopped {len(running)} leftover servers' if running else ''}", flush=True)
        instructor = Instructor(args, ca_file, password)
        try:
            fresh = instructor.release()
            print(f"  {args.instructor}: {args.assignment} {'released now' if fresh else 'was released already'}",
                  flush=True)
            units = cpu_units(args.instance)
            marker = f"PEAK-{int(time.time())}"
            print(f"timed: {len(users)} students at {args.rate:g}/s", flush=True)
            began = time.monotonic()
            records, cpu = asyncio.run(arrive(args, users, password, ssl_context, marker, units))
            print(f"  done in {time.monotonic() - began:.0f} s; collecting as {args.instructor}", flush=True)
            collect_seconds = instructor.collect()
        finally:
            instructor.close()
        seen = json.loads(docker_exec(args.instance, ["python3", "-c", COLLECTED_SCRIPT], stdin=json.dumps(
            [COURSE_FILES.format(course=args.course), EXCHANGE.format(course=args.course), args.assignment,
             marker, users])))

    result = {
        "label": args.label, "database": database, "url": args.url, "instance": args.instance,
        "course": args.course, "assignment": args.assignment, "students": args.students, "rate": args.rate,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "collect_seconds": round(collect_seconds, 2),
        "summary": summarise(records, seen["collected"], seen["inbound"]),
        "cpu": cpu,
        "records": records,
    }
    print_report(result)
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(result, handle, indent=1)
        print(f"\nresults: {args.json}")
    return 0 if all(result["summary"]["acceptance"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
