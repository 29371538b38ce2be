"""Per-course spawning through the real hub (issue 5): who is offered what,
server-side refusal, and what a course server gets inside."""
import json
import re
import subprocess
import time

import pytest
from conftest import PROJECT, HubSession

EXTRA_COURSE = "extra2026"


@pytest.fixture
def login(ca_file, password):
    sessions = []

    def _login(username):
        session = HubSession(ca_file)
        response = session.login(username, password)
        assert response.status_code == 302, f"{username} could not log in"
        session.stop(username)  # start from no server, whatever an earlier test left
        sessions.append(session)
        return session

    yield _login
    for session in sessions:
        session.close()


@pytest.mark.parametrize(
    "user,expected",
    [
        ("student1", {"personal", "mlbp2026", "deeplearn2026"}),
        ("outsider1", {"personal", "mlbp2026", "deeplearn2026"}),
        ("student2", {"personal", "mlbp2026", "deeplearn2026", "privsec2026"}),
        ("teacher1", {"personal", "mlbp2026", "mlbp2026:instructor", "deeplearn2026"}),
        ("teacher2", {"personal", "mlbp2026", "deeplearn2026", "deeplearn2026:instructor",
                      "privsec2026", "privsec2026:instructor"}),
    ],
)
def test_who_is_offered_what(login, user, expected):
    assert set(login(user).offered()) == expected


def unit_exists(host, user):
    return host.run(f"systemctl status jupyter-{user}-singleuser.service").rc != 4


@pytest.mark.parametrize(
    "user,choice",
    [("outsider1", "privsec2026"), ("student1", "mlbp2026:instructor"), ("student1", "oldstats2025"),
     ("student1", "nosuch2026")],
)
def test_forged_form_post_is_refused(login, host, user, choice):
    session = login(user)
    response = session.spawn(choice)
    assert response.status_code == 403, f"{user} started {choice}: {response.status_code}"
    assert not unit_exists(host, user), f"a unit exists for {user}"
    assert host.run(f"journalctl -u jupyterhub --since -2min | grep -q 'refused {choice} for {user}'").rc == 0


def test_forged_api_request_is_refused(login, host):
    session = login("outsider1")
    session.get(session.url("/hub/home"))
    xsrf = session.cookies.get("_xsrf", path="/hub/") or ""
    response = session.post(session.url("/hub/api/users/outsider1/server"),
                            json={"course": "privsec2026"}, headers={"X-XSRFToken": xsrf})
    assert response.status_code == 403, response.status_code
    assert not unit_exists(host, "outsider1")


def test_query_link_starts_the_course(login, host):
    session = login("student3")
    session.get(session.url("/hub/spawn?course=mlbp2026"))
    try:
        session.wait_for_server("student3")
        environ = unit_environ(host, "student3")
        assert environ["COURSEHUB_COURSE"] == "mlbp2026"
    finally:
        session.stop("student3")


def unit_pid(host, user):
    return host.check_output(f"systemctl show -p MainPID --value jupyter-{user}-singleuser.service").strip()


def unit_environ(host, user):
    raw = host.check_output(f"tr '\\0' '\\n' < /proc/{unit_pid(host, user)}/environ")
    return dict(line.split("=", 1) for line in raw.splitlines() if "=" in line)


STUDENT_PROBE = r"""
import os
def can_write(path):
    try:
        with open(path, "w") as f:
            f.write("x")
        os.unlink(path)
        return True
    except OSError:
        return False
print("course", os.path.ismount("/course") or bool(os.path.exists("/course") and os.listdir("/course")))
print("coursedata_read", os.path.isdir("/coursedata"))
print("coursedata_write", can_write("/coursedata/probe"))
print("shared_read", open("/mnt/jupyter/shareddata/mnist/README.md").read().startswith("Dataset"))
print("shared_write", can_write("/mnt/jupyter/shareddata/mnist/probe"))
print("course", os.environ.get("COURSEHUB_COURSE"), os.environ.get("COURSEHUB"))
print("exchanges", sorted(os.listdir("/srv/nbgrader/exchange")))
"""


@pytest.fixture(scope="module")
def student_server(ca_file, password):
    session = HubSession(ca_file).start_course("student1", password, "deeplearn2026")
    yield session
    session.stop("student1")
    session.close()


def test_student_server_inside(student_server):
    out, error = student_server.run_code("student1", STUDENT_PROBE)
    assert error is None, out
    lines = out.splitlines()
    assert "course False" in lines, out
    assert "coursedata_read True" in lines and "coursedata_write False" in lines, out
    assert "shared_read True" in lines and "shared_write False" in lines, out
    assert "course deeplearn2026 1" in lines, out
    assert "exchanges []" in lines, out  # deeplearn2026 has no exchange, and sees no other course's


def test_student_server_has_no_formgrader(student_server):
    """Grading belongs to instructors: the formgrader extension is not loaded,
    while the students' assignment list is."""
    assert student_server.get(student_server.server_url("student1", "formgrader")).status_code == 404
    assignments = student_server.get(student_server.server_url("student1", "assignments?course_id=deeplearn2026"))
    assert assignments.status_code == 200, assignments.status_code
    page = student_server.get(student_server.server_url("student1", "lab"))
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                                  page.text, re.S).group(1))
    assert "@jupyter/nbgrader:formgrader" in config["disabledExtensions"], config["disabledExtensions"]


def test_student_server_limits(student_server, host):
    unit = "jupyter-student1-singleuser"
    assert host.check_output(f"systemctl show -p MemoryMax --value {unit}").strip() == str(4 * 1024**3)
    assert host.check_output(f"systemctl show -p CPUQuotaPerSecUSec --value {unit}").strip() == "2s"
    assert unit_environ(host, "student1")["COURSEHUB_COURSE"] == "deeplearn2026"


INSTRUCTOR_PROBE = r"""
import grp, os, stat
with open("/course/probe-by-server.txt", "w") as f:
    f.write("hello")
st = os.stat("/course/probe-by-server.txt")
print("group", grp.getgrgid(st.st_gid).gr_name)
print("group_rw", bool(st.st_mode & stat.S_IRGRP and st.st_mode & stat.S_IWGRP))
print("other", oct(st.st_mode & 0o7))
os.unlink("/course/probe-by-server.txt")
print("exchanges", sorted(os.listdir("/srv/nbgrader/exchange")))
print("config", os.environ.get("JUPYTER_CONFIG_PATH"))
"""


def test_instructor_server_writes_course_for_the_group(login, host):
    session = login("teacher1")
    assert session.spawn("mlbp2026:instructor").status_code == 200
    try:
        session.wait_for_server("teacher1")
        out, error = session.run_code("teacher1", INSTRUCTOR_PROBE)
        assert error is None, out
        lines = out.splitlines()
        assert "group jupyter-mlbp2026" in lines and "group_rw True" in lines and "other 0o0" in lines, out
        assert "exchanges ['mlbp2026']" in lines, out
        assert "config /etc/coursehub/nbgrader/mlbp2026/instructor" in lines, out
        # Formgrader is loaded for instructors (students get 404, see above).
        formgrader = session.get(session.server_url("teacher1", "formgrader"))
        assert formgrader.status_code == 200 and "<title>nbgrader formgrade</title>" in formgrader.text
    finally:
        session.stop("teacher1")


def test_new_course_appears_without_hub_restart(login, host, tmp_path, instance_inventory):
    hub_pid = host.check_output("systemctl show -p MainPID --value jupyterhub").strip()
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({f"course_{EXTRA_COURSE}": {
        "name": "Extra course", "owner": "teacher1", "instructors": ["teacher1"],
        "start": "2026-09-01", "end": "2026-12-18",
    }}))
    play = ["ansible-playbook", "-i", instance_inventory, str(PROJECT / "playbooks" / "courses.yml")]
    try:
        run = subprocess.run(play + ["-e", f"@{extra}"], cwd=PROJECT, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:]
        time.sleep(1)
        assert EXTRA_COURSE in login("student3").offered()
        assert host.check_output("systemctl show -p MainPID --value jupyterhub").strip() == hub_pid
    finally:
        subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=600)
