"""50 students submit at once (issue 9): every submission must be collected.

The instructor releases and collects through the hub, in their own server, as
formgrader does. The 50 students fetch, answer, and then submit at the same
moment, each in a process that has become that student, with their course
configuration, running nbgrader's own command line (the same exchange code
their server's Assignments tab runs; molecule/resilience/files/rush_submit.py).
50 servers would measure the host's memory rather than the exchange. bench/peak.py drives the
whole path through the hub at a deadline's arrival rate.
"""
import json
import subprocess

import pytest
from conftest import BASE_URL, INSTANCE, PROJECT, HubSession, record
from hubclient import Server, nbgrader_cell

COURSE = "mlbp2026"
ASSIGNMENT = "rush1"
STUDENTS = [f"rush{n:02d}" for n in range(1, 51)]
FILES = f"/srv/coursehub/course/{COURSE}/files"
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        nbgrader_cell("code", "answer = None\n", grade=False, solution=True, locked=False, grade_id="answer"),
    ],
}
RUSH = PROJECT / "molecule" / "resilience" / "files" / "rush_submit.py"
PYTHON = "/opt/coursehub/envs/default/bin/python"


@pytest.fixture(scope="module")
def instructor(host, ca_file, password):
    host.check_output("for u in " + " ".join(STUDENTS) + "; do id -u $u >/dev/null 2>&1 || "
                      "useradd -m -s /bin/bash $u; chmod 0700 /home/$u; done")
    session = HubSession(ca_file, BASE_URL)
    assert session.login("teacher1", password).status_code == 302
    session.stop("teacher1")
    assert session.spawn(f"{COURSE}:instructor").status_code == 200
    session.wait_for_server("teacher1")
    yield Server(session, "teacher1", COURSE, ASSIGNMENT)
    session.stop("teacher1")
    session.close()
    host.run(f"rm -rf {FILES}/source/{ASSIGNMENT} {FILES}/release/{ASSIGNMENT} {FILES}/submitted "
             f"/srv/nbgrader/exchange/{COURSE}/outbound/{ASSIGNMENT} /srv/nbgrader/exchange/{COURSE}/inbound/rush* "
             f"/home/rush*/{COURSE} /tmp/rush-logs")


def test_fifty_students_submit_at_once_and_all_are_collected(host, instructor):
    instructor.mkdir("course/source")
    instructor.mkdir(f"course/source/{ASSIGNMENT}")
    instructor.put_file(f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", NOTEBOOK, kind="notebook")
    instructor.formgrader(f"assignment/{ASSIGNMENT}/assign")
    instructor.formgrader(f"assignment/{ASSIGNMENT}/release")

    subprocess.run(["docker", "cp", str(RUSH), f"{INSTANCE}:/root/rush_submit.py"], check=True)
    rush = host.run(f"{PYTHON} /root/rush_submit.py {COURSE} {ASSIGNMENT} " + " ".join(STUDENTS))
    assert rush.rc == 0, rush.stderr[-3000:]
    results = json.loads(rush.stdout.strip().splitlines()[-1])
    failed = sorted(user for user in STUDENTS if results["fetch"].get(user) != 0 or results["submit"].get(user) != 0)
    logs = host.run("tail -n 5 " + " ".join(f"/tmp/rush-logs/{user}.*.log" for user in failed[:3])).stdout
    inbound = host.check_output(f"ls -1 /srv/nbgrader/exchange/{COURSE}/inbound | grep -c '+{ASSIGNMENT}+' || true")

    instructor.formgrader(f"assignment/{ASSIGNMENT}/collect")
    collected = host.check_output(f"ls -1 {FILES}/submitted 2>/dev/null | grep '^rush' || true").split()
    # Each collected notebook holds its own student's answer.
    mixed_up = [user for user in collected
                if f"ANSWER-{user}" not in host.file(f"{FILES}/submitted/{user}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
                .content_string]
    record("50 students submit at once", students=len(STUDENTS), waiting_at_gate=results["waiting_at_gate"],
           submitted=len(STUDENTS) - len(failed), failed=len(failed), in_exchange=int(inbound),
           collected=len(collected), mixed_up=len(mixed_up), submit_seconds=results["submit_seconds"])
    assert results["waiting_at_gate"] == len(STUDENTS), "not every student reached the simultaneous submit"
    assert not failed, f"fetch or submit failed for {failed}:\n{logs}"
    assert int(inbound) == len(STUDENTS)
    assert sorted(collected) == STUDENTS, f"not collected: {sorted(set(STUDENTS) - set(collected))}"
    assert not mixed_up, mixed_up
