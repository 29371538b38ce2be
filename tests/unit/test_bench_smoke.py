"""Smoke runs of the benchmarks, or of their parts, that need no instance: a
change that breaks a benchmark fails here, not on the day someone measures.
bench/validate_bench.py runs whole at a tiny size; for bench/courses_bench.py
the generated courses and the naive baseline's loop data are checked; for
bench/peak.py and bench/peak_chart.py a run's records go through peak.py's
own summary and report into the chart.  The runs that need the instance or
Docker are in molecule/default/tests/test_bench_smoke.py.  Smoke runs, not
measurements: no time is asserted."""

import asyncio
import importlib.util
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import yaml

from course_helpers import REPO_ROOT

BENCH = os.path.join(REPO_ROOT, "bench")
SVG = "{http://www.w3.org/2000/svg}"


def load(name):
    """A bench script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("bench_" + name, os.path.join(BENCH, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def peak():
    return load("peak")


@pytest.fixture(scope="module")
def peak_chart():
    return load("peak_chart")


def test_validate_bench_runs():
    done = subprocess.run([sys.executable, os.path.join(BENCH, "validate_bench.py"), "--courses", "8",
                           "--repeat", "2"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("courses: 8, best of 2 runs"), done.stdout
    rows = re.findall(r"^\| (\w+) \| (\d+\.\d+) \| (\d+\.\d+) \|$", done.stdout, re.MULTILINE)
    assert [phase for phase, _, _ in rows] == ["load", "validate", "derive", "total"], done.stdout


def test_courses_bench_generates_valid_courses(tmp_path):
    bench = load("courses_bench")
    course_vars = bench.course_set("bench", 8, 3)
    courses = bench.validated(course_vars, str(tmp_path))
    assert [c["slug"] for c in courses] == sorted(bench.slug("bench", i) for i in range(8))
    private = [c for c in courses if c["state"] == "private"]
    assert len(private) == 2 and all(len(c["students"]) == 3 for c in private)
    users = set(bench.users_for(8, 3))
    named = {name for c in courses for name in c["instructors"] + c["students"]}
    assert named <= users and bench.SPARE in users
    # Phase c swaps an instructor of course 1.
    assert "course_" + bench.slug("bench", 1) in bench.course_set("bench", 2, 1)


def test_courses_bench_gives_the_naive_playbook_every_variable_it_loops_over(tmp_path):
    bench = load("courses_bench")
    data = bench.naive_vars(bench.validated(bench.course_set("naive", 1, 1), str(tmp_path)))
    with open(os.path.join(BENCH, "naive_courses.yml"), encoding="utf-8") as handle:
        playbook = handle.read()
    yaml.safe_load(playbook)
    used = set(re.findall(r"\b(naive_\w+)", playbook.split("\n- name:", 1)[1]))
    assert used and used <= set(data), sorted(used - set(data))
    assert all(data[name] for name in used), [name for name in used if not data[name]]


def records():
    """Three students as peak.py's Student.run records them: two got through, one failed."""
    ok = [{"user": f"peer0{i}", "ok": True, "arrival": float(i - 1), "login_to_ready": 3.0 + i, "submit": 0.2 * i,
           "stop": 1.5, "server_cpu": 4.0 + i, "parts": {"login": 0.2, "spawn": 1.0, "progress": 1.5 + i, "lab": 0.3},
           "submitted": True, "timestamp": f"2026-12-03 17:43:3{i}.0 UTC", "retried_429": i - 1,
           "statuses": {"200": 12, "302": 3, "429": i - 1}} for i in (1, 2)]
    failed = {"user": "peer03", "ok": False, "arrival": 2.0, "failed_step": "ready",
              "reason": "spawn failed: <boom> & more", "retried_429": 0, "statuses": {"200": 3, "302": 2, "503": 1},
              "parts": {"login": 0.2, "spawn": 1.0}}
    return ok + [failed]


def result_of(peak, label):
    """A peak.py result, built as its main() builds one: summary and CPU from peak.py's own code."""
    sampler = peak.CpuSampler("instance", list(peak.CPU_UNITS))
    hub, proxy = peak.CPU_UNITS
    sampler.sources = {hub: "CPUUsageNSec", proxy: "CPUUsageNSec"}
    sampler.samples = [(0.0, {hub: 0, proxy: 0}, 1000, 4000, 0.5), (5.0, {hub: 2 * 10 ** 9, proxy: 10 ** 8}, 2000, 6000,
                                                                     1.5),
                       (9.0, {hub: 3 * 10 ** 9, proxy: 2 * 10 ** 8}, 2500, 7600, 1.2)]
    return {"label": label, "database": "sqlite", "url": "https://hub.localhost:18443", "instance": "instance",
            "course": "mlbp2026", "assignment": "peak1", "students": 3, "rate": 1.0, "date": "2026-12-03T17:43:00",
            "host": {}, "collect_seconds": 0.4,
            "summary": peak.summarise(records(), collected=["peer01", "peer02"], inbound=["peer01", "peer02"]),
            "cpu": sampler.summary(), "records": records()}


def test_peak_summarises_and_reports_a_run(peak, capsys):
    result = result_of(peak, "sqlite")
    summary = result["summary"]
    assert (summary["students"], summary["ok"], summary["failed"]) == (3, 2, 1)
    assert (summary["submitted"], summary["collected"], summary["lost"], summary["retried_429"]) == (2, 2, 0, 1)
    assert summary["errors_by_status"] == {"503": 1}
    assert summary["login_to_ready"] == {"n": 2, "p50": 4.0, "p95": 5.0, "max": 5.0}
    assert summary["acceptance"] == {"0 failed submissions": False, "0 5xx": False,
                                     "p95 login-to-ready <= 10 s": True, "collected = submitted": True}
    assert result["cpu"]["units"]["jupyterhub.service"]["cpu_seconds"] == 3.0
    json.dumps(result)  # what --json writes
    peak.print_report(result)
    out = capsys.readouterr().out
    assert "| login to ready | 4.00 s | 5.00 s | 5.00 s | 2 |" in out
    assert "failed x1  ready: spawn failed" in out and "target 0 5xx" in out


def test_peak_chart_draws_peak_results(peak, peak_chart, tmp_path, capsys):
    paths = []
    for label in ("sqlite", "postgresql"):
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(result_of(peak, label)))
        paths += ["--json", str(path)]
    svg = tmp_path / "peak.svg"
    assert peak_chart.main(paths + ["--out", str(svg)]) == 0
    root = ET.parse(svg).getroot()
    # Two runs, two panels, a dot per student that got that far; one failed student per run.
    dots = [c for c in root.iter(SVG + "circle") if c.find(SVG + "title") is not None]
    assert len(dots) == 2 * 2 * 2
    assert len([t for t in root.iter(SVG + "text") if t.get("class") == "failed"]) == 2
    assert len([p for p in root.iter(SVG + "line") if p.get("class") == "p95"]) == 2 * 2
    table = capsys.readouterr().out
    assert "| | sqlite | postgresql |" in table
    assert "| failed students | 1 | 1 |" in table


@pytest.mark.parametrize("url,ok", [
    ("https://127.0.0.1:18443", True),
    ("https://hub.localhost:18443", True),
    ("https://localhost:8443/", True),
    ("http://127.0.0.1:18443", False),
    ("https://hub.localhost", False),
    ("https://hub.example.org:443", False),
    ("https://localhost.example.org:443", False),
])
def test_peak_takes_only_loopback_urls(peak, url, ok):
    argv = ["--instance", "x", "--url", url]
    if ok:
        assert peak.parse_args(argv).url == url.rstrip("/")
    else:
        with pytest.raises(SystemExit):
            peak.parse_args(argv)


def test_peak_resolves_localhost_names_to_loopback(peak):
    """Names under .localhost are 127.0.0.1 without asking anyone; other names go to aiohttp's resolver."""
    asked = []

    class Default:
        async def resolve(self, host, port, family):
            asked.append(host)
            return []

        async def close(self):
            asked.append("closed")

    async def resolve(names):
        resolver = peak.LocalhostResolver()
        await resolver.resolver.close()
        resolver.resolver = Default()
        try:
            return [await resolver.resolve(name, 443) for name in names]
        finally:
            await resolver.close()

    names = ["peer01.hub.localhost", "HUB.LOCALHOST.", "hub.localhost.example.org", "localhost", "127.0.0.1"]
    found = asyncio.run(resolve(names))
    assert [[r["host"] for r in rs] for rs in found[:2]] == [["127.0.0.1"], ["127.0.0.1"]]
    assert found[0][0]["port"] == 443 and found[0][0]["hostname"] == "peer01.hub.localhost"
    assert asked == names[2:] + ["closed"]


def test_peak_reaches_a_server_on_a_localhost_name(peak):
    """A user's server on a host of its own (peer01.hub.localhost) is reached on 127.0.0.1."""
    async def fetch():
        async def answer(reader, writer):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            connector = peak.aiohttp.TCPConnector(resolver=peak.LocalhostResolver())
            async with peak.aiohttp.ClientSession(connector=connector, trust_env=False) as session:
                async with session.get(f"http://peer01.hub.localhost:{port}/user/peer01/api/status") as response:
                    return response.status, await response.text()
    assert asyncio.run(fetch()) == (200, "ok")
