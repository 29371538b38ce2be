"""Files that name students are for the hub only. courses.json lists every
course's instructors and listed students, private courses' included: a student,
from a kernel in their own server, cannot open it (nor the hub's database,
which lists every user and their servers)."""
import json

import pytest
from conftest import HubSession

COURSES_JSON = "/etc/jupyterhub/courses.json"
PROBE = r"""
import json
for path in %s:
    try:
        open(path, "rb").read(1)
        print(json.dumps([path, "read"]))
    except OSError as exc:
        print(json.dumps([path, type(exc).__name__]))
"""
# path -> what opening it from a student's kernel must raise
EXPECTED = {
    COURSES_JSON: "PermissionError",
    "/var/lib/jupyterhub/jupyterhub.sqlite": "PermissionError",
}


def test_courses_json_is_root_only(host):
    f = host.file(COURSES_JSON)
    assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
    # ... and it still names the private course's students, which is why.
    assert json.loads(f.content_string)["courses"]["privsec2026"]["students"] == ["student2"]


@pytest.fixture(scope="module")
def student_kernel(ca_file, password):
    session = HubSession(ca_file).start_course("student1", password, "mlbp2026")
    yield session
    session.stop("student1")
    session.close()


def test_a_student_cannot_read_who_is_on_which_course(student_kernel):
    out, error = student_kernel.run_code("student1", PROBE % json.dumps(sorted(EXPECTED)))
    assert error is None, out
    got = dict(json.loads(line) for line in out.splitlines())
    assert got == EXPECTED
