"""nbgrader end to end through the hub (issue 6): release, fetch, submit,
collect, autograde, feedback and grades, with two instructors and two students.

Every step is done by the user concerned, in that user's own course server,
over HTTPS through the hub: the nbgrader REST endpoints the lab extensions
call (formgrader API, assignment list), the Jupyter contents API, or a kernel
of that server. Root on the instance only looks (to learn a file name that a
negative check then tries to open as a student).

The tests run in file order and share one cycle; each step asserts what it
needs from the steps before.
"""
import csv
import io
import json
import time

import pytest
from conftest import HubSession
from hubclient import Server, nbgrader_cell

COURSE = "mlbp2026"
PRIVATE = "privsec2026"
ASSIGNMENT = "ps1"
COURSE_FILES = f"/srv/coursehub/course/{COURSE}/files"
INBOUND = f"/srv/nbgrader/exchange/{COURSE}/inbound"
FEEDBACK = f"/srv/nbgrader/exchange/{COURSE}/feedback"
RUN = str(int(time.time()))  # makes each run's commits real changes
# Student 3's answer is right, and attacks the grader: each attempt must fail
# inside the grading sandbox while the notebook is still graded.
MALICIOUS = r"""
import json, os, socket, time
results = {}
def attempt(name, action):
    try:
        action()
        results[name] = "ALLOWED"
    except BaseException as exc:
        results[name] = "denied " + type(exc).__name__
def fork_bomb():
    children = []
    try:
        for _ in range(100000):
            pid = os.fork()
            if pid == 0:
                time.sleep(60)
                os._exit(0)
            children.append(pid)
    finally:
        for pid in children:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
attempt("read_solution", lambda: open("/course/source/ps1/ps1.ipynb").read())
attempt("read_gradebook", lambda: open("/course/gradebook.db", "rb").read())
attempt("read_other_submission", lambda: os.listdir("/course/submitted/student1/ps1"))
attempt("read_exchange", lambda: os.listdir("/srv/nbgrader/exchange/mlbp2026/inbound"))
attempt("read_shadow", lambda: open("/etc/shadow").read())
attempt("network", lambda: socket.create_connection(("127.0.0.1", 443), timeout=3))
attempt("write_course", lambda: open("/course/HACKED", "w").write("x"))
attempt("write_system", lambda: open("/opt/coursehub/HACKED", "w").write("x"))
attempt("write_home", lambda: open(os.path.expanduser("~teacher1") + "/HACKED", "w").write("x"))
attempt("fork_bomb", fork_bomb)
attempt("memory", lambda: bytearray(6 * 1024 ** 3))
attempt("hub_token", lambda: os.environ["JUPYTERHUB_API_TOKEN"])
attempt("jpy_token", lambda: os.environ["JPY_API_TOKEN"])
def unix(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(3)
    sock.connect(path)
attempt("dbus", lambda: unix("/run/dbus/system_bus_socket"))
attempt("journal", lambda: unix("/run/systemd/journal/stdout"))
attempt("hub_api", lambda: socket.create_connection(("127.0.0.1", 8081), timeout=3))
attempt("proxy_api", lambda: socket.create_connection(("127.0.0.1", 8001), timeout=3))
def token_in_proc():
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/environ" % pid, "rb") as handle:
                    if b"JUPYTERHUB_API_TOKEN" in handle.read():
                        return
            except OSError:
                pass
    raise PermissionError("no process in sight holds the token")
attempt("proc_token", token_in_proc)
# The graded notebook, where nbgrader will write it as the grader after the kernel is gone:
# replaced with a link, the grader would write through it.
import glob
for notebook in glob.glob("*.ipynb"):
    os.rename(notebook, notebook + ".moved")
    os.symlink("/course/HACKED-LINK-" + notebook, notebook)
print("SANDBOX-PROBES " + json.dumps(results, sort_keys=True))
print("SANDBOX-ENV " + json.dumps(sorted(os.environ)))
import ctypes, platform
_keyctl = {"x86_64": 250, "aarch64": 219, "ppc64le": 130, "s390x": 280}[platform.machine()]
_serial = ctypes.CDLL(None).syscall(ctypes.c_long(_keyctl), ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0))
print("SANDBOX-KEYRING %d" % _serial)

def square(x):
    return x * x
"""
CORRECT = "def square(x):\n    return x * x  # S1-RIGHT-ANSWER\n"
WRONG = "def square(x):\n    return x + 1  # S2-WRONG-ANSWER\n"


SOURCE_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        nbgrader_cell("markdown", f"Write `square(x)`. (run {RUN})", grade=False, solution=False, locked=True, grade_id="intro"),
        nbgrader_cell("code", "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION\n",
                      grade=False, solution=True, locked=False, grade_id="square"),
        nbgrader_cell("code", "assert square(2) == 4\n### BEGIN HIDDEN TESTS\nassert square(3) == 9\n"
                      "### END HIDDEN TESTS\n",
                      grade=True, solution=False, locked=True, points=1, grade_id="test_square"),
    ],
}


@pytest.fixture(scope="module")
def cycle(ca_file, password, host):
    """Shared state of the cycle: who plays which part, their servers, timings."""
    members = host.group(f"jupyter-{COURSE}").members
    assert "teacher1" in members and len(members) >= 2, members
    state = {"A": "teacher1", "B": sorted(m for m in members if m != "teacher1")[0],
             "S1": "student1", "S2": "student2", "S3": "student3", "servers": {}, "sessions": [], "times": {}}
    state["t0"] = time.monotonic()

    def server(role, choice):
        user = state[role]
        session = HubSession(ca_file)
        state["sessions"].append(session)
        session.start_course(user, password, choice)
        state["servers"][role] = Server(session, user, COURSE, ASSIGNMENT)
        return state["servers"][role]

    state["start"] = server
    yield state
    for role, srv in state["servers"].items():
        srv.session.stop(srv.user)
    for session in state["sessions"]:
        session.close()
    # Leave the instance as the other tests expect it: no ps1 anywhere.
    host.run(f"rm -rf {COURSE_FILES}/source/{ASSIGNMENT} {COURSE_FILES}/release/{ASSIGNMENT} "
             f"{COURSE_FILES}/submitted {COURSE_FILES}/autograded {COURSE_FILES}/feedback "
             f"{COURSE_FILES}/gradebook.db /srv/nbgrader/exchange/*/outbound/{ASSIGNMENT} "
             f"{INBOUND}/* {FEEDBACK}/* /home/student[123]/{COURSE} /home/student[123]/.local/share/jupyter")


def step_time(cycle, name, started):
    cycle["times"][name] = round(time.monotonic() - started, 1)


def test_1_instructor_a_writes_commits_generates_and_releases(cycle, host):
    started = time.monotonic()
    a = cycle["start"]("A", f"{COURSE}:instructor")
    # An instructor-mode server is rooted at "/" so formgrader can reach /course.
    status = a.request("GET", "formgrader/api/status")
    assert status.status_code == 200 and status.json().get("status") is True, status.text[:300]
    a.mkdir("course/source")
    a.mkdir(f"course/source/{ASSIGNMENT}")
    a.put_file(f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", SOURCE_NOTEBOOK, kind="notebook")
    a.python(
        "import subprocess\n"
        "git = ['git', '-C', '/course', '-c', 'user.name=Teacher One', '-c', 'user.email=teacher1@uni.example']\n"
        f"subprocess.run(git + ['add', 'source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb'], check=True)\n"
        f"subprocess.run(git + ['commit', '-q', '-m', 'Add {ASSIGNMENT}'], check=True)\n"
    )
    a.formgrader(f"assignment/{ASSIGNMENT}/assign")
    a.formgrader(f"assignment/{ASSIGNMENT}/release")
    listed = a.request("GET", "formgrader/api/assignments").json()
    ps1 = [x for x in listed if x["name"] == ASSIGNMENT]
    assert ps1 and ps1[0]["status"] == "released", listed
    released = host.file(f"/srv/nbgrader/exchange/{COURSE}/outbound/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    assert released.exists and "BEGIN SOLUTION" not in released.content_string
    assert "square(3)" not in released.content_string, "the hidden test was released"
    step_time(cycle, "release", started)


def answer(server, code):
    path = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    response = server.get_file(path)
    assert response.status_code == 200, f"{server.user} has no fetched {path}: {response.status_code}"
    notebook = response.json()["content"]
    cells = [c for c in notebook["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == "square"]
    assert len(cells) == 1
    cells[0]["source"] = code
    server.put_file(path, notebook, kind="notebook")


def test_2_students_fetch_and_submit(cycle):
    started = time.monotonic()
    for role, code in (("S1", CORRECT), ("S2", WRONG), ("S3", MALICIOUS)):
        s = cycle["start"](role, COURSE)
        listed = s.assignments()
        assert [a["assignment_id"] for a in listed["value"] if a["status"] == "released"] == [ASSIGNMENT], listed
        fetched = s.assignments(action="fetch")
        assert fetched.get("success"), fetched
        answer(s, code)
        # Validate, as the lab's Validate button does: the visible test passes for S1 only.
        # (Not S3: validating runs the attacks in S3's own server, as S3; the sandbox is for grading.)
        if role != "S3":
            validated = s.nbgrader("assignments/validate", path=f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
            assert validated["success"], validated
            assert bool(validated["value"].get("failed")) == (role == "S2"), validated["value"]
        submitted = s.assignments(action="submit")
        assert submitted.get("success"), submitted
        mine = [a for a in submitted["value"] if a["status"] == "submitted"]
        assert mine and mine[0]["submissions"], submitted
    step_time(cycle, "fetch_and_submit", started)


def test_2b_submissions_are_closed_to_other_students(cycle, host):
    names = host.run(f"ls -1 {INBOUND}").stdout.splitlines()
    assert {n.split("+")[0] for n in names} == {cycle["S1"], cycle["S2"], cycle["S3"]}, names
    for name in names:
        student, assignment, _timestamp, suffix = name.split("+")
        assert assignment == ASSIGNMENT and len(suffix) >= 12, f"no random suffix on {name}"
        top = host.file(f"{INBOUND}/{name}")
        assert top.user == student and top.group == f"jupyter-{COURSE}" and top.mode & 0o007 == 0, \
            f"{name}: {top.user}:{top.group} {oct(top.mode)}"
        notebook = host.file(f"{INBOUND}/{name}/{ASSIGNMENT}.ipynb")
        assert notebook.mode & 0o007 == 0, oct(notebook.mode)
    # Nothing in the exchange is world-writable without the sticky bit (nbgrader's own
    # submit makes each submission 0777; coursehub's exchange closes it).
    loose = host.run("find /srv/nbgrader/exchange -perm -0002 ! -perm -1000 -printf '%m %u %p\\n'").stdout
    assert loose == "", loose
    cycle["s2_submission"] = next(f"{INBOUND}/{n}/{ASSIGNMENT}.ipynb" for n in names if n.startswith(cycle["S2"]))


def test_3_instructor_b_collects_autogrades_and_returns_feedback(cycle, host):
    started = time.monotonic()
    b = cycle["start"]("B", f"{COURSE}:instructor")
    b.formgrader(f"assignment/{ASSIGNMENT}/collect")
    for student in (cycle["S1"], cycle["S2"], cycle["S3"]):
        b.formgrader(f"submission/{ASSIGNMENT}/{student}/autograde")
    b.formgrader(f"assignment/{ASSIGNMENT}/generate_feedback")
    b.formgrader(f"assignment/{ASSIGNMENT}/release_feedback")
    # B's work lands in files A made, in A's gradebook: the course group shares them.
    gradebook = host.file(f"{COURSE_FILES}/gradebook.db")
    assert gradebook.group == f"jupyter-{COURSE}" and gradebook.mode & 0o060 == 0o060
    released = host.run(f"ls -1 {FEEDBACK}").stdout.splitlines()
    assert len(released) == 3, released
    for name in released:
        feedback = host.file(f"{FEEDBACK}/{name}")
        assert feedback.mode & 0o007 == 0, f"{name} is {oct(feedback.mode)}"
    cycle["feedback_files"] = [f"{FEEDBACK}/{name}" for name in released]
    step_time(cycle, "collect_grade_feedback", started)


def test_4_each_student_fetches_only_their_own_feedback(cycle, host):
    started = time.monotonic()
    for role in ("S1", "S2"):
        s = cycle["servers"][role]
        result = s.assignments(action="fetch_feedback")
        assert result.get("success", True), result
        mine = [a for a in result["value"] if a["status"] == "submitted"][0]
        assert any(sub.get("has_local_feedback") for sub in mine["submissions"]), mine
        text = s.python(
            "import glob\n"
            f"paths = glob.glob('{COURSE}/{ASSIGNMENT}/feedback/*/{ASSIGNMENT}.html')\n"
            "print(len(paths)); print(open(paths[0]).read())"
        )
        count, html = text.split("\n", 1)
        assert count == "1", text[:200]
        own, other = ("S1-RIGHT-ANSWER", "S2-WRONG-ANSWER")[::1 if role == "S1" else -1]
        assert own in html, f"{role}'s feedback lacks their answer"
        assert other not in html, f"{role}'s feedback shows the other student's answer"
    # S2's feedback file, opened by S1 with its exact name: refused.
    s2_feedback = [p for p in cycle["feedback_files"]
                   if cycle["S2"] in host.run(f"getfacl -p {p}").stdout]
    assert len(s2_feedback) == 1, cycle["feedback_files"]
    cycle["s2_feedback"] = s2_feedback[0]
    step_time(cycle, "fetch_feedback", started)


def test_5_exported_grades(cycle):
    b = cycle["servers"]["B"]
    out = b.python(
        "import subprocess, tempfile, os\n"
        "path = os.path.join(tempfile.mkdtemp(), 'grades.csv')\n"
        "subprocess.run(['nbgrader', 'export', '--to', path], check=True, capture_output=True)\n"
        "print(open(path).read())"
    )
    rows = {row["student_id"]: row for row in csv.DictReader(io.StringIO(out))}
    s1, s2 = rows[cycle["S1"]], rows[cycle["S2"]]
    assert (float(s1["score"]), float(s1["max_score"])) == (1.0, 1.0), s1
    assert (float(s2["score"]), float(s2["max_score"])) == (0.0, 1.0), s2
    # The same through formgrader's REST API, per cell.
    notebooks = b.request("GET", f"formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}").json()
    scores = {n["student"]: (n["score"], n["max_score"]) for n in notebooks}
    assert scores == {cycle["S1"]: (1.0, 1.0), cycle["S2"]: (0.0, 1.0), cycle["S3"]: (1.0, 1.0)}, scores
    cycle["times"]["cycle_total"] = round(time.monotonic() - cycle["t0"], 1)
    print("nbgrader cycle timings (s):", json.dumps(cycle["times"]))


def test_5b_the_grading_sandbox_stopped_every_attack(cycle, host):
    """Student 3's attacks ran inside the sandbox during autograde: all failed, and it scored 1/1 above."""
    graded = json.loads(host.file(f"{COURSE_FILES}/autograded/{cycle['S3']}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
                        .content_string)
    texts = ["".join(out.get("text", "")) for cell in graded["cells"] for out in cell.get("outputs", [])]
    line = next(t for t in texts if "SANDBOX-PROBES" in t)
    results = json.loads(line.split("SANDBOX-PROBES ", 1)[1].split("\n")[0])
    print("grading sandbox probes:", json.dumps(results, sort_keys=True))
    assert len(results) == 18 and all(v.startswith("denied") for v in results.values()), results
    # The link it planted was in the sandbox's scratch copy: the grader wrote a regular file.
    graded_dir = f"{COURSE_FILES}/autograded/{cycle['S3']}/{ASSIGNMENT}"
    assert host.file(f"{graded_dir}/{ASSIGNMENT}.ipynb").is_file
    assert not host.file(f"{graded_dir}/{ASSIGNMENT}.ipynb").is_symlink
    assert host.run(f"ls {COURSE_FILES} | grep -c HACKED-LINK").stdout.strip() == "0"
    # The kernel's environment is the allow-list and nothing else (no token of the grader's server).
    environment = json.loads(next(t for t in texts if "SANDBOX-ENV" in t).split("SANDBOX-ENV ", 1)[1].split("\n")[0])
    print("grading sandbox environment:", environment)
    allowed = {"PATH", "LANG", "HOME", "TMPDIR", "PWD"} | {  # PWD: bubblewrap's --chdir
        # what ipykernel sets in its own process once it runs (its display and pager defaults)
        "CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "PAGER", "GIT_PAGER", "MPLBACKEND", "TERM",
        "JPY_SESSION_NAME", "PYDEVD_USE_FRAME_EVAL"}
    assert {"PATH", "HOME"} <= set(environment) and not set(environment) - allowed, set(environment) - allowed
    assert not any("TOKEN" in name or "JUPYTERHUB" in name for name in environment), environment
    # Its session keyring is its own, not the grading instructor's server's.
    sandbox_keyring = next(t for t in texts if "SANDBOX-KEYRING" in t).split("SANDBOX-KEYRING ", 1)[1].split()[0]
    grader = cycle["servers"]["B"]
    server_keyring = grader.python(
        "import ctypes, platform\n"
        "n = {'x86_64': 250, 'aarch64': 219, 'ppc64le': 130, 's390x': 280}[platform.machine()]\n"
        "print(ctypes.CDLL(None).syscall(ctypes.c_long(n), ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0)))")
    assert int(sandbox_keyring) > 0 and int(sandbox_keyring) != int(server_keyring.strip()), \
        (sandbox_keyring, server_keyring)
    assert not host.file(f"{COURSE_FILES}/HACKED").exists and not host.file("/opt/coursehub/HACKED").exists
    assert not host.file("/home/teacher1/HACKED").exists


@pytest.mark.parametrize(
    "what,code,refused",
    [
        ("S1 lists inbound", f"__import__('os').listdir('{INBOUND}')", "PermissionError"),
        ("S1 lists feedback", f"__import__('os').listdir('{FEEDBACK}')", "PermissionError"),
        ("S1 reads S2's submission", "open({s2_submission!r}).read()", "PermissionError"),
        ("S1 reads S2's feedback", "open({s2_feedback!r}).read()", "PermissionError"),
        ("S1 reads the course files", f"__import__('os').listdir('{COURSE_FILES}')", "PermissionError"),
        # (an empty mount point may exist on the host: /course is bound only for instructors)
        ("S1 sees nothing at /course", "__import__('os').listdir('/course')", ("FileNotFoundError", "[]")),
        ("S1 sees no other course's exchange", f"__import__('os').listdir('/srv/nbgrader/exchange/{PRIVATE}')",
         "FileNotFoundError"),
    ],
)
def test_6_student_negative_checks(cycle, what, code, refused):
    s1 = cycle["servers"]["S1"]
    result = s1.outcome(code.format(**cycle))
    assert result in ((refused,) if isinstance(refused, str) else refused), f"{what}: got {result}"


def test_6_student_cannot_reach_course_files_or_grading_over_http(cycle):
    s1 = cycle["servers"]["S1"]
    response = s1.get_file(f"../../{COURSE_FILES.lstrip('/')}/gradebook.db")
    assert response.status_code in (403, 404), response.status_code
    # No formgrader in a student's server: its API is not there to call.
    for path in ("formgrader/api/assignments", f"formgrader/api/assignment/{ASSIGNMENT}/collect"):
        response = s1.request("POST" if path.endswith("collect") else "GET", path)
        assert response.status_code == 404, (path, response.status_code)


def test_6_student_cannot_fetch_from_a_private_course_they_are_not_in(cycle, host, ca_file, password):
    # Something really is released there, by the private course's own instructor.
    teacher = sorted(host.group(f"jupyter-{PRIVATE}").members)[0]
    session = HubSession(ca_file)
    cycle["sessions"].append(session)
    assert session.login(teacher, password).status_code == 302
    session.stop(teacher)
    assert session.spawn(f"{PRIVATE}:instructor").status_code == 200
    session.wait_for_server(teacher)
    t = Server(session, teacher, PRIVATE, ASSIGNMENT)
    cycle["servers"]["T"] = t
    t.mkdir("course/source")
    t.mkdir(f"course/source/{ASSIGNMENT}")
    t.put_file(f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", SOURCE_NOTEBOOK, kind="notebook")
    t.formgrader(f"assignment/{ASSIGNMENT}/assign")
    t.formgrader(f"assignment/{ASSIGNMENT}/release")
    assert host.file(f"/srv/nbgrader/exchange/{PRIVATE}/outbound/{ASSIGNMENT}/{ASSIGNMENT}.ipynb").exists
    # From S1's course server the private exchange does not exist...
    s1 = cycle["servers"]["S1"]
    listed = s1.assignments(course=PRIVATE)
    assert not listed.get("value"), listed
    fetched = s1.assignments(course=PRIVATE, action="fetch")
    assert not fetched.get("success", True) or not [
        a for a in fetched.get("value", []) if a.get("status") == "fetched"], fetched
    # ...and the hub will not start that course for S1 (a forged form, once S1's server is stopped).
    s1.session.stop(s1.user)
    forged = s1.session.spawn(PRIVATE)
    assert forged.status_code == 403, forged.status_code
    host.run(f"rm -rf /srv/coursehub/course/{PRIVATE}/files/source/{ASSIGNMENT} "
             f"/srv/coursehub/course/{PRIVATE}/files/release /srv/coursehub/course/{PRIVATE}/files/gradebook.db")


def test_6_instructor_a_cannot_open_another_courses_files(cycle):
    a = cycle["servers"]["A"]
    other = f"/srv/coursehub/course/{PRIVATE}/files"
    assert a.outcome(f"__import__('os').listdir('{other}')") == "PermissionError"
    # The contents API refuses too: 403, or 500 where jupyter_server 2.21's hidden-file check
    # meets the EACCES first (its log shows the PermissionError); never a listing.
    response = a.get_file(other.lstrip("/"))
    assert response.status_code in (403, 500) and "content" not in response.json(), response.text[:300]


def test_7_both_instructors_commit_to_the_course_repository(cycle, host):
    b = cycle["servers"]["B"]
    b.put_file(f"course/source/{ASSIGNMENT}/NOTES.md", f"Graded in run {RUN}.\n")
    b.python(
        "import subprocess\n"
        f"git = ['git', '-C', '/course', '-c', 'user.name={cycle['B']}', '-c', 'user.email={cycle['B']}@uni.example']\n"
        f"subprocess.run(git + ['add', 'source/{ASSIGNMENT}/NOTES.md'], check=True)\n"
        "subprocess.run(git + ['commit', '-q', '-m', 'Grading notes'], check=True)\n"
    )
    log = host.run(f"git -C {COURSE_FILES} log --format=%an").stdout.split("\n")
    assert log[:2] == [cycle["B"], "Teacher One"], log
    assert host.run(f"git -C {COURSE_FILES} fsck --no-progress").rc == 0
    # A can still write objects B created (core.sharedRepository=group).
    a = cycle["servers"]["A"]
    a.python(
        "import subprocess\n"
        "git = ['git', '-C', '/course', '-c', 'user.name=Teacher One', '-c', 'user.email=teacher1@uni.example']\n"
        "subprocess.run(git + ['commit', '-q', '--allow-empty', '-m', 'Reviewed'], check=True)\n"
        "subprocess.run(git + ['gc', '-q'], check=True)\n"
    )
