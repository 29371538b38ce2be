"""Students attacking the nbgrader exchange by hand, and the instructor's collect
that must not fall for it (coursehub_exchange.ExchangeCollect / ExchangeList).

Each attack is made by the student in a kernel of their own course server, with
plain os calls (not through nbgrader): a submission whose notebook is a
symbolic link to the solution in /course/source (which the student cannot read,
but the instructor's collect could), a dangling link, a FIFO, a hard link, and a
submission filed under another student's name. The instructor collects through
formgrader and lists inbound with `nbgrader list --inbound`, from their own
server. Root on the instance only looks, and cleans up; in one place it stands
in for an earlier membership (see test_5).

Self-contained: its own assignment, released by hand (no gradebook entry), so
test_nbgrader.py's cycle is not disturbed. The tests share one sequence and run
in file order.
"""
import json
import time

import pytest
from conftest import HubSession
from hubclient import Server

COURSE, PRIVATE = "mlbp2026", "privsec2026"
ASSIGNMENT = "xattack"
RUN = str(int(time.time()))
FILES = f"/srv/coursehub/course/{COURSE}/files"
PRIVATE_FILES = f"/srv/coursehub/course/{PRIVATE}/files"
EXCHANGE = "/srv/nbgrader/exchange"
INBOUND = f"{EXCHANGE}/{COURSE}/inbound"
SOLUTION = f"SOLUTION-{RUN}"
REPORT = "collect-refusals.log"


def notebook(text):
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {},
                       "cells": [{"cell_type": "markdown", "metadata": {}, "source": text}]})


# What student1 runs in their kernel to file submissions by hand: each top
# directory 0750 (so the instructor can read it), timestamp.txt as nbgrader
# writes it, and one planted entry: a link to the solution (which the student
# cannot read, the instructor's collect could), a dangling link, a FIFO, a hard
# link, one named an hour back, one under student2's name, and one whose name
# holds no time. Prints {kind: inbound name}.
PLANT = r"""
import datetime, json, os
inbound, assignment = %(inbound)r, %(assignment)r
notebook = assignment + ".ipynb"
def stamp(seconds):
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return when.strftime("%%Y-%%m-%%d %%H:%%M:%%S.%%f UTC")
def write(path, text):
    with open(path, "w") as fh:
        fh.write(text)
    os.chmod(path, 0o640)
def plant(student, seconds, kind, make):
    ts = stamp(seconds)
    top = "%%s/%%s+%%s+%%s+%%s" %% (inbound, student, assignment, ts, kind)
    os.mkdir(top)
    os.chmod(top, 0o750)
    write(top + "/timestamp.txt", ts)
    make(top + "/" + notebook)
    return os.path.basename(top)
def hard_link(path):
    write(path, %(linked)r)
    os.link(path, os.path.dirname(path) + "/again.ipynb")
names = {
    "symlink": plant("student1", 30, "symlink", lambda p: os.symlink(%(solution)r, p)),
    "dangling": plant("student1", 40, "dangling", lambda p: os.symlink("/nonexistent/x.ipynb", p)),
    "fifo": plant("student1", 50, "fifo", lambda p: os.mkfifo(p, 0o640)),
    "hardlink": plant("student1", 60, "hardlink", hard_link),
    "backdated": plant("student1", -3600, "backdated", lambda p: write(p, %(linked)r)),
    "impersonation": plant("student2", 70, "impersonation", lambda p: write(p, %(fake)r)),
}
# A name nbgrader's own collect cannot parse (it stopped everyone's collection).
os.mkdir(inbound + "/student1+" + assignment + "+not-a-time+badname", 0o750)
names["badname"] = "student1+" + assignment + "+not-a-time+badname"
print(json.dumps(names))
"""


@pytest.fixture(scope="module")
def seq(ca_file, password, host):
    """Who plays which part, their running servers, and what the steps learnt."""
    state = {"servers": {}, "sessions": []}

    def server(user, choice):
        session = HubSession(ca_file)
        state["sessions"].append(session)
        session.start_course(user, password, choice)
        course = choice.split(":")[0]
        state["servers"][user] = Server(session, user, course, ASSIGNMENT)
        return state["servers"][user]

    state["start"] = server
    yield state
    for srv in state["servers"].values():
        srv.session.stop(srv.user)
    for session in state["sessions"]:
        session.close()
    host.run(f"rm -rf {FILES}/source/{ASSIGNMENT} {FILES}/submitted/*/{ASSIGNMENT} "
             f"{PRIVATE_FILES}/submitted/*/{ASSIGNMENT} "
             f"{EXCHANGE}/{COURSE}/outbound/{ASSIGNMENT} {INBOUND}/*+{ASSIGNMENT}+* "
             f"{EXCHANGE}/{PRIVATE}/outbound/{ASSIGNMENT} {EXCHANGE}/{PRIVATE}/inbound/*+{ASSIGNMENT}+* "
             f"/home/student[12]/{COURSE}/{ASSIGNMENT} /home/student2/{PRIVATE}/{ASSIGNMENT} "
             f"/home/student[12]/.local/share/jupyter/nbgrader_cache/*/*+{ASSIGNMENT}+*")
    # This test's lines in the refusal reports; then what it made, if that is empty now.
    for report in (f"{FILES}/{REPORT}", f"{PRIVATE_FILES}/{REPORT}"):
        host.run(f"test -f {report} && sed -i '/\tassignment {ASSIGNMENT}\t/d' {report} && "
                 f"find {report} -empty -delete")
    host.run(f"rmdir {FILES}/submitted/* {PRIVATE_FILES}/submitted/* {FILES}/submitted {PRIVATE_FILES}/submitted "
             f"/home/student[12]/{COURSE} /home/student2/{PRIVATE}")


def collected(host, files, student):
    """The collected notebook of a student as root sees it, or None."""
    f = host.file(f"{files}/submitted/{student}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    return f.content_string if f.exists else None


def release_by_hand(instructor, course, text):
    """Release the assignment as files in outbound (no nbgrader generate: no gradebook entry)."""
    instructor.python(
        "import os\n"
        f"out = '{EXCHANGE}/{course}/outbound/{ASSIGNMENT}'\n"
        "os.makedirs(out)\n"
        "os.chmod(out, 0o2775)\n"
        f"open(out + '/{ASSIGNMENT}.ipynb', 'w').write({notebook(text)!r})\n"
        f"os.chmod(out + '/{ASSIGNMENT}.ipynb', 0o644)\n"
    )


def submit(student, marker):
    """Fetch, answer and submit through the Assignments tab's endpoints, as a student does."""
    assert student.assignments(action="fetch").get("success"), student.user
    student.python(f"open('{student.course}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb', 'w')"
                   f".write({notebook(marker + ' ' + RUN)!r})")
    submitted = student.assignments(action="submit")
    assert submitted.get("success"), submitted


def test_1_instructor_writes_a_solution_and_releases_by_hand(seq):
    t = seq["start"]("teacher1", f"{COURSE}:instructor")
    t.python(
        "import os\n"
        f"os.makedirs('/course/source/{ASSIGNMENT}', exist_ok=True)\n"
        f"open('/course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb', 'w').write({notebook(SOLUTION)!r})\n"
    )
    release_by_hand(t, COURSE, "Released " + RUN)


def test_2_students_submit_honestly_and_the_instructor_collects(seq, host):
    for student, marker in (("student1", "S1-HONEST"), ("student2", "S2-GENUINE")):
        submit(seq["start"](student, COURSE), marker)
    log = seq["servers"]["teacher1"].formgrader(f"assignment/{ASSIGNMENT}/collect").get("log", "")
    assert "S1-HONEST" in (collected(host, FILES, "student1") or ""), log
    assert "S2-GENUINE" in (collected(host, FILES, "student2") or ""), log
    assert "refused" not in log, log


def test_3_student1_plants_links_special_files_and_a_submission_as_student2(seq):
    s1 = seq["servers"]["student1"]
    # The solution is out of the student's own reach...
    assert s1.outcome(f"open('/course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb').read()") in (
        "FileNotFoundError", "PermissionError")
    # ...but a link to it in their submission would be followed by the instructor's collect.
    out = s1.python(PLANT % {"inbound": INBOUND, "assignment": ASSIGNMENT,
                             "solution": f"/course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb",
                             "linked": notebook("S1-LINKED " + RUN), "fake": notebook("IMPERSONATED " + RUN)})
    seq["planted"] = json.loads(out.strip().splitlines()[-1])
    assert set(seq["planted"]) == {"symlink", "dangling", "fifo", "hardlink", "backdated", "impersonation",
                                   "badname"}


def test_3b_submit_refuses_another_students_name(seq, host):
    s1 = seq["servers"]["student1"]
    out = s1.python(
        "import subprocess\n"
        f"r = subprocess.run(['nbgrader', 'submit', '{ASSIGNMENT}', '--student=student2'],"
        " capture_output=True, text=True, timeout=120)\n"
        "print(r.returncode); print(r.stdout + r.stderr)")
    rc, log = out.split("\n", 1)
    assert rc != "0" and "You can submit only as yourself (student1)" in log, out
    # In inbound, student1's only entry under student2's name is the planted one.
    owned = host.run(f"find {INBOUND} -maxdepth 1 -name 'student2+{ASSIGNMENT}+*' -user student1 -printf '%f\\n'")
    assert owned.stdout.split("\n")[:-1] == [seq["planted"]["impersonation"]], owned.stdout


def test_4_list_inbound_survives_and_skips_the_planted_entries(seq):
    t = seq["servers"]["teacher1"]
    started = time.monotonic()
    out = t.python(
        "import subprocess\n"
        f"r = subprocess.run(['nbgrader', 'list', '--inbound', '--assignment', '{ASSIGNMENT}'],"
        " capture_output=True, text=True, timeout=120)\n"
        "print(r.returncode); print(r.stdout + r.stderr)"
    )
    rc, log = out.split("\n", 1)
    assert rc == "0", log
    assert time.monotonic() - started < 60, "list --inbound hung"
    listed = [line for line in log.splitlines() if f" {ASSIGNMENT} " in line and "INFO" in line]
    assert len([line for line in listed if " student1 " in line]) == 1, log
    assert len([line for line in listed if " student2 " in line]) == 1, log
    for kind, name in seq["planted"].items():
        assert f"skipped {name}" in log, f"{kind} not reported as skipped:\n{log}"


def test_5_collect_refuses_each_planted_entry_and_keeps_the_real_work(seq, host):
    t = seq["servers"]["teacher1"]
    result = t.formgrader(f"assignment/{ASSIGNMENT}/collect")  # update=True, as formgrader's button does
    log = result.get("log", "")
    reasons = {"symlink": "is a symbolic link", "dangling": "is a symbolic link", "fifo": "is a FIFO",
               "hardlink": "is a hard link (2 links)", "backdated": "was changed at",
               "impersonation": "belongs to student1", "badname": "has no valid timestamp in its name"}
    for kind, name in seq["planted"].items():
        student = "student2" if kind == "impersonation" else "student1"
        lines = [line for line in log.splitlines()
                 if f"refused a submission of {student} for {ASSIGNMENT}: {name}" in line]
        assert len(lines) == 1 and reasons[kind] in lines[0], f"{kind}: no refusal in the collect log:\n{log}"
    assert "S1-HONEST" in collected(host, FILES, "student1")
    assert "S2-GENUINE" in collected(host, FILES, "student2")
    # Collected afresh, the real submissions are chosen: the refused ones are dropped before
    # nbgrader's pick of the latest, so the later planted ones hide nothing.
    t.python(f"import shutil, glob\nfor p in glob.glob('/course/submitted/*/{ASSIGNMENT}'): shutil.rmtree(p)")
    t.formgrader(f"assignment/{ASSIGNMENT}/collect")
    assert "S1-HONEST" in collected(host, FILES, "student1")
    assert "S2-GENUINE" in collected(host, FILES, "student2")
    found = host.run(f"grep -rl -e {SOLUTION} -e IMPERSONATED -e S1-LINKED {FILES}/submitted").stdout
    assert found == "", f"collected what was planted: {found}"


def test_5b_the_instructor_finds_the_refusals_in_the_course_directory(seq, host):
    report = host.file(f"{FILES}/{REPORT}")
    assert report.exists and report.group == f"jupyter-{COURSE}" and report.mode == 0o660, \
        (report.exists and (report.group, oct(report.mode)))
    # The instructor reads it in their own server (other course members could too; students cannot).
    text = seq["servers"]["teacher1"].python(f"print(open('/course/{REPORT}').read())")
    for name in seq["planted"].values():
        assert name in text, f"{name} not in /course/{REPORT}"
    assert "collect by teacher1" in text
    s1 = seq["servers"]["student1"]
    assert s1.outcome(f"open('/course/{REPORT}').read()") in ("FileNotFoundError", "PermissionError")


def test_6_an_outsider_cannot_submit_to_a_private_course(seq, host):
    # From their own server, outsider1 does not even see the private course's exchange...
    o = seq["start"]("outsider1", COURSE)
    assert o.outcome(f"__import__('os').listdir('{EXCHANGE}')") == repr([COURSE])
    assert o.outcome(f"__import__('os').mkdir('{EXCHANGE}/{PRIVATE}/inbound/outsider1+{ASSIGNMENT}+x+y')") == \
        "FileNotFoundError"
    # ...and behind that mount, the directory itself admits the course's students only (the private
    # course's "other" bits moved to a named ACL entry for its students group).
    acl = host.run(f"getfacl -p {EXCHANGE}/{PRIVATE}/inbound").stdout
    assert "other::---" in acl and f"group:jupyter-{PRIVATE}-students:-wx" in acl, acl
    denied = host.run(f"runuser -u outsider1 -- mkdir '{EXCHANGE}/{PRIVATE}/inbound/outsider1+{ASSIGNMENT}+x+y'")
    assert denied.rc != 0 and "Permission denied" in denied.stderr, (denied.rc, denied.stderr)


def test_6b_collect_in_a_private_course_refuses_a_non_member(seq, host):
    """A submission of someone outside the course (here made by root for outsider1, as one left
    from an earlier membership would be) is refused; the member's own is collected."""
    t2 = seq["start"]("teacher2", f"{PRIVATE}:instructor")
    release_by_hand(t2, PRIVATE, "Private " + RUN)
    seq["servers"].pop("student2").session.stop("student2")
    s2 = seq["start"]("student2", PRIVATE)
    submit(s2, "S2-PRIVATE")
    stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime())
    top = f"{EXCHANGE}/{PRIVATE}/inbound/outsider1+{ASSIGNMENT}+{stamp}+earlier"
    made = host.run(f"mkdir '{top}' && printf %s '{stamp}' > '{top}/timestamp.txt' && "
                    f"echo '{{}}' > '{top}/{ASSIGNMENT}.ipynb' && chown -R outsider1 '{top}' && chmod -R g+rX '{top}'")
    assert made.rc == 0, made.stderr
    log = t2.formgrader(f"assignment/{ASSIGNMENT}/collect").get("log", "")
    assert f"outsider1 is not in jupyter-{PRIVATE} or jupyter-{PRIVATE}-students" in log, log
    assert "S2-PRIVATE" in (collected(host, PRIVATE_FILES, "student2") or ""), log
    assert collected(host, PRIVATE_FILES, "outsider1") is None
