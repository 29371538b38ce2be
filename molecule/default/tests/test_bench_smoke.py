"""Smoke runs of the benchmarks that need the instance or Docker, at their
smallest sizes: bench/peak.py (and bench/peak_chart.py on its JSON),
bench/server_start.py, bench/hub_start.py and bench/courses_bench.py. A change that breaks a
benchmark then fails here, not on the day someone measures. These are smoke
runs, not measurements: no time is asserted, only that each benchmark runs
through and reports what its readers (the chart, docs/performance.md) need.
The benchmarks without an instance are run in tests/unit/test_bench_smoke.py.

peak.py leaves its traces for the next run to reuse (peer accounts, the
released assignment, submissions); here they are removed afterwards, so the
other tests find the instance as converged.
"""
import importlib.util
import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest
from conftest import BASE_URL, INSTANCE, PASSWORD_FILE, PROJECT, HubSession

COURSE = "mlbp2026"            # public, with an exchange: the peers may start it
INSTRUCTOR = "teacher1"        # an instructor of COURSE and an admin of the hub (deletes the peers)
ASSIGNMENT = "peaksmoke"       # of this test alone
PEERS = ["peer01", "peer02"]   # the accounts peak.py makes for --students 2
COURSE_FILES = f"/srv/coursehub/course/{COURSE}/files"
EXCHANGE = f"/srv/nbgrader/exchange/{COURSE}"
GRADEBOOK_COPY = "/root/bench-smoke-gradebook.db"
# What bench/peak_chart.py reads from a peak.py result.
CHART_FIELDS = ("label", "students", "rate", "records", "summary.login_to_ready.p95", "summary.login_to_ready.max",
                "summary.submit.p95", "summary.stop.p50", "summary.server_cpu.n", "summary.submitted",
                "summary.collected", "summary.lost", "summary.failed", "summary.retried_429",
                "summary.errors_by_status", "summary.acceptance", "cpu.units", "cpu.host.busy_pct", "cpu.host.cpus",
                "cpu.host.load1_max")
RECORD_FIELDS = ("user", "ok", "arrival", "login_to_ready", "submit")


def run(argv, timeout):
    """Run a benchmark from the repository; prints its output and wall time (for the report, not asserted)."""
    started = time.monotonic()
    done = subprocess.run(argv, cwd=PROJECT, capture_output=True, text=True, timeout=timeout, check=False)
    print(f"\n$ {' '.join(str(a) for a in argv)}\n{done.stdout}{done.stderr[-3000:]}"
          f"[{time.monotonic() - started:.0f} s, rc {done.returncode}]")
    return done


def field(result, dotted):
    for key in dotted.split("."):
        assert isinstance(result, dict) and key in result, f"the peak.py result has no {dotted}"
        result = result[key]
    return result


@pytest.fixture(scope="module")
def peak(host, ca_file, password, tmp_path_factory):
    """bench/peak.py with 2 students at 1/s; yields (the finished process, its JSON path). Afterwards
    the peers, the assignment and its submissions are removed and the gradebook is put back."""
    session = HubSession(ca_file)
    assert session.login(INSTRUCTOR, password).status_code == 302
    # peak.py refuses an instructor whose server runs in another mode (someone may be using it).
    session.stop(INSTRUCTOR)
    saved = host.run(f"rm -f {GRADEBOOK_COPY} && "
                     f"if test -e {COURSE_FILES}/gradebook.db; then cp -a {COURSE_FILES}/gradebook.db {GRADEBOOK_COPY}; fi")
    assert saved.rc == 0, saved.stderr
    out = tmp_path_factory.mktemp("peak") / "peak.json"
    done = run([sys.executable, "bench/peak.py", "--instance", INSTANCE, "--url", BASE_URL,
                "--password-file", PASSWORD_FILE, "--students", str(len(PEERS)), "--rate", "1",
                "--course", COURSE, "--assignment", ASSIGNMENT, "--instructor", INSTRUCTOR, "--label", "smoke",
                "--json", str(out)], timeout=900)
    yield done, out
    # Deleting a hub user stops their server first; then the account can go.
    for peer in PEERS:
        response = session.delete(session.url(f"/hub/api/users/{peer}"), headers=session.xsrf_headers())
        assert response.status_code in (204, 404), f"DELETE {peer}: {response.status_code}"
    session.close()
    for peer in PEERS:
        host.run(f"id -u {peer} && userdel -r {peer}")
    restore = (f"mv {GRADEBOOK_COPY} {COURSE_FILES}/gradebook.db" if host.file(GRADEBOOK_COPY).exists
               else f"rm -f {COURSE_FILES}/gradebook.db")
    cleaned = host.run(
        f"rm -rf {COURSE_FILES}/source/{ASSIGNMENT} {COURSE_FILES}/release/{ASSIGNMENT} "
        f"{EXCHANGE}/outbound/{ASSIGNMENT} {EXCHANGE}/inbound/peer*+{ASSIGNMENT}+* "
        + " ".join(f"{COURSE_FILES}/submitted/{peer}" for peer in PEERS)
        + f" && rmdir --ignore-fail-on-non-empty {COURSE_FILES}/source {COURSE_FILES}/release "
        f"{COURSE_FILES}/submitted && {restore}")
    assert cleaned.rc == 0, cleaned.stderr
    assert not any(host.user(peer).exists for peer in PEERS), "a peer account is left"


def test_peak_runs_through_with_two_students(peak, host):
    """Every student logs in, starts, fetches, submits and stops, and every submission is collected.
    The one timing target (p95 login to ready) is not held to here: a smoke run on a busy host may miss
    it, and then peak.py must exit 1, as it does for any missed target."""
    done, out = peak
    assert done.returncode in (0, 1) and out.exists(), (
        f"peak.py failed (rc {done.returncode}) before its results\n{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    result = json.loads(out.read_text())
    for dotted in CHART_FIELDS:
        field(result, dotted)
    assert [r["user"] for r in result["records"]] == PEERS
    for record in result["records"]:
        missing = [key for key in RECORD_FIELDS if key not in record]
        assert record["ok"] and not missing, f"{record['user']}: {record.get('reason')} {missing}"
    summary = result["summary"]
    assert summary["submitted"] == summary["collected"] == len(PEERS), summary
    acceptance = summary["acceptance"]
    timing = [name for name in acceptance if name.startswith("p95 login-to-ready")]
    assert len(timing) == 1, f"peak.py's targets are now {list(acceptance)}: update this test"
    missed = [name for name, ok in acceptance.items() if not ok and name not in timing]
    assert not missed, f"missed: {missed}\n{done.stdout[-1500:]}"
    assert done.returncode == (0 if all(acceptance.values()) else 1), "peak.py's exit code disagrees with its targets"
    # The hub's and the proxy's CPU were sampled.
    assert {"jupyterhub.service", "configurable-http-proxy.service"} <= set(result["cpu"]["units"])
    # peak.py made the peers' accounts, closed their homes, and left no server running.
    for peer in PEERS:
        assert host.user(peer).exists and oct(host.file(f"/home/{peer}").mode) == "0o700"
        assert host.run(f"systemctl is-active -q jupyter-{peer}-singleuser").rc != 0, f"{peer}'s server runs"
    assert host.run(f"systemctl is-active -q jupyter-{INSTRUCTOR}-singleuser").rc != 0, \
        "peak.py left the instructor's server it started running"


def test_peak_chart_draws_the_result(peak, tmp_path):
    _, out = peak
    svg = tmp_path / "peak.svg"
    done = run([sys.executable, "bench/peak_chart.py", "--json", str(out), "--out", str(svg)], timeout=60)
    assert done.returncode == 0, done.stderr
    assert svg.exists() and svg.stat().st_size > 2000, "no chart, or an empty one"
    root = ET.parse(svg).getroot()
    # A dot per student in each panel (login to ready, submit).
    dots = [c for c in root.iter("{http://www.w3.org/2000/svg}circle") if c.find("{*}title") is not None]
    assert len(dots) == 2 * len(PEERS), len(dots)
    assert "| login to ready p50 / p95 / max (s) |" in done.stdout


def test_server_start_measures_each_variant(peak, host):
    """server_start.py as its docstring runs it, once per variant, as a peer peak.py made."""
    spec = importlib.util.spec_from_file_location("server_start", PROJECT / "bench" / "server_start.py")
    server_start = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(server_start)
    started = time.monotonic()
    with open(PROJECT / "bench" / "server_start.py", encoding="utf-8") as script:
        done = subprocess.run(["docker", "exec", "-i", INSTANCE, "python3", "-", "--user", PEERS[0],
                               "--course", COURSE, "--repeat", "1"], stdin=script, capture_output=True, text=True,
                              timeout=600, check=False)
    print(f"\nserver_start.py --repeat 1:\n{done.stdout}[{time.monotonic() - started:.0f} s, rc {done.returncode}]")
    assert done.returncode == 0, done.stderr[-3000:]
    table = [line.split("|")[1:-1] for line in done.stdout.splitlines() if line.startswith("| ")]
    header, rows = table[0], table[1:]
    assert len(header) == 6 and [row[0].strip() for row in rows] == list(server_start.VARIANTS)
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    assert list(figures) == list(server_start.VARIANTS)
    for name, row in figures.items():
        assert row["start_cpu"] > 0 and row["start_wall"] > 0 and row["lab_wall"] > 0, f"{name}: {row}"
        assert row["lab_cpu"] >= 0 and row["stop_wall"] >= 0, f"{name}: {row}"
    # Nothing is left listening: every server was stopped.
    assert host.run(f"pgrep -u {PEERS[0]} -f jupyter-lab").rc == 1, "a jupyter-lab of server_start.py runs on"


def test_courses_bench_runs_at_its_smallest_size(tmp_path):
    """courses_bench.py in its own throwaway container (Docker and coursehub-base:bookworm, which this
    scenario needs anyway), with the fewest courses and students that still run every phase."""
    out = tmp_path / "courses.json"
    done = run([sys.executable, "bench/courses_bench.py", "--n", "2", "--naive-n", "1", "--students", "1",
                "--count-n", "5", "--output", str(out)], timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    phases = {row["phase"].split(".")[0] for row in result["rows"]}
    assert phases == {"a", "b", "c", "d", "e", "f"}, phases
    # What the modules must do whatever the machine: an unchanged rerun changes nothing and starts no
    # account or ACL tool; the task count does not grow with the courses.
    assert result["rerun"]["changed"] == 0 and result["rerun"]["commands"] == 0, result["rerun"]
    assert result["task_count"]["4"] == result["task_count"]["5"], result["task_count"]
    assert result["naive"]["rerun"]["changed"] == 0, "the naive baseline is not idempotent"


def test_hub_start_measures_a_start_through_the_hub(tmp_path):
    out = tmp_path / "hub_start.json"
    done = run([sys.executable, "bench/hub_start.py", "--instance", INSTANCE, "--url", BASE_URL,
                "--password-file", PASSWORD_FILE, "--course", COURSE, "--json", str(out), "outsider1"], timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    (row,) = result["starts"]
    assert row["user"] == "outsider1" and row["spawn_to_ready"] > 0 and row["cpu_at_ready"] > 0, row
    assert result["median_cpu_at_ready"] == row["cpu_at_ready"]
