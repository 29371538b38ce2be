"""The sample courses on the instance: groups, directories, modes and ACLs."""
import json
import sys

import pytest
from conftest import PROJECT

sys.path.insert(0, str(PROJECT))
from module_utils import course_files, course_model  # noqa: E402

COURSE_ROOT = "/srv/coursehub/course"
EXCHANGE_ROOT = "/srv/nbgrader/exchange"

# Written out by hand from shared/DESIGN.md, not derived from the model, so a
# bug in the model cannot hide here.
GROUPS = {
    "jupyter-mlbp2026": (72026, {"teacher1", "ta1"}),
    "jupyter-privsec2026": (72027, {"teacher2"}),
    "jupyter-privsec2026-students": (None, {"student2"}),
    "jupyter-deeplearn2026": (None, {"teacher2", "ta1"}),
    "jupyter-oldstats2025": (72025, {"teacher1"}),
}
DIRS = {
    # path: (owner, group, mode, named access ACL, default ACL)
    f"{COURSE_ROOT}/mlbp2026/files": (
        "root", "jupyter-mlbp2026", 0o2770, {"group:jupyter-mlbp2026:rwx"},
        {"user::rwx", "group::rwx", "group:jupyter-mlbp2026:rwx", "mask::rwx", "other::---"},
    ),
    f"{COURSE_ROOT}/mlbp2026/data": (
        "root", "jupyter-mlbp2026", 0o2775, set(), {"user::rwx", "group::rwx", "other::r-x"},
    ),
    f"{COURSE_ROOT}/privsec2026/data": (
        "root", "jupyter-privsec2026", 0o2770, {"group:jupyter-privsec2026-students:r-x"},
        {"user::rwx", "group::rwx", "group:jupyter-privsec2026-students:r-x", "mask::rwx", "other::---"},
    ),
    f"{COURSE_ROOT}/oldstats2025/files": (
        "root", "jupyter-oldstats2025", 0o2550, {"group:jupyter-oldstats2025:r-x"},
        {"user::r-x", "group::r-x", "group:jupyter-oldstats2025:r-x", "mask::r-x", "other::---"},
    ),
    f"{EXCHANGE_ROOT}/mlbp2026/inbound": ("root", "jupyter-mlbp2026", 0o3773, set(), set()),
    f"{EXCHANGE_ROOT}/mlbp2026/outbound": ("root", "jupyter-mlbp2026", 0o2775, set(), set()),
}


def acl(host, path, default=False):
    flag = "-d" if default else ""
    out = host.check_output(f"getfacl -pc {flag} {path}")
    entries = {line.split("#")[0].strip() for line in out.splitlines() if line.strip()}
    # getfacl -d prints default entries with a "default:" prefix; compare without it.
    return {e.removeprefix("default:") for e in entries if e}


def named(entries):
    return {e for e in entries if e.split(":")[1] and not e.startswith("mask")}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_course_group(host, group):
    gid, members = GROUPS[group]
    entry = host.check_output(f"getent group {group}").split(":")
    if gid is not None:
        assert int(entry[2]) == gid, f"{group} has gid {entry[2]}"
    assert set(filter(None, entry[3].split(","))) == members


def test_no_group_for_unlisted(host):
    assert host.run("getent group jupyter-mlbp2026-students").rc == 2, "a public course without a list got a students group"


@pytest.mark.parametrize("path", sorted(DIRS))
def test_directory_exactly(host, path):
    owner, group, mode, access, default = DIRS[path]
    d = host.file(path)
    assert d.is_directory
    assert (d.user, d.group) == (owner, group)
    assert d.mode == mode, f"{path}: {oct(d.mode)} != {oct(mode)}"
    assert named(acl(host, path)) == access
    assert acl(host, path, default=True) == default


def _desired_dirs():
    entries, problems = course_files.load_paths([str(PROJECT / "group_vars" / "courses")])
    courses, problems = course_model.validate_courses(entries)
    assert not problems
    return course_model.desired_dirs(courses)


@pytest.mark.parametrize("want", _desired_dirs(), ids=lambda d: d["path"])
def test_every_directory_matches_the_model(host, want):
    d = host.file(want["path"])
    assert d.is_directory
    assert (d.user, d.group, d.mode) == (want["owner"], want["group"], int(want["mode"], 8))
    assert named(acl(host, want["path"])) == set(want["acl"])
    assert acl(host, want["path"], default=True) == set(want["default_acl"])


def test_course_files_is_a_shared_git_repo(host):
    repo = f"{COURSE_ROOT}/mlbp2026/files"
    assert host.check_output(f"git -C {repo} config core.sharedRepository") in ("group", "1", "true")
    ignore = host.file(f"{repo}/.gitignore").content_string.split()
    for entry in ("gradebook.db", "release/", "submitted/", "feedback/", ".ipynb_checkpoints", "autograded/"):
        assert entry in ignore


def test_instructor_files_are_group_writable(host):
    base = f"{COURSE_ROOT}/mlbp2026/files"
    host.check_output(f"runuser -u ta1 -- sh -c 'umask 077; mkdir -p {base}/probe-dir && touch {base}/probe-file'")
    try:
        newdir, newfile = host.file(f"{base}/probe-dir"), host.file(f"{base}/probe-file")
        assert newdir.group == newfile.group == "jupyter-mlbp2026"
        assert "group:jupyter-mlbp2026:rwx" in acl(host, f"{base}/probe-dir")
        assert any(e.startswith("group:jupyter-mlbp2026:rw") for e in acl(host, f"{base}/probe-file"))
        # The other instructor can change what the first one made.
        host.check_output(f"runuser -u teacher1 -- sh -c 'echo x >> {base}/probe-file && touch {base}/probe-dir/y'")
    finally:
        host.run(f"rm -rf {base}/probe-dir {base}/probe-file")


@pytest.mark.parametrize(
    "user,command",
    [
        ("outsider1", f"ls {COURSE_ROOT}/mlbp2026/files"),
        ("student1", f"ls {COURSE_ROOT}/mlbp2026/files"),
        ("outsider1", f"touch {COURSE_ROOT}/mlbp2026/data/x"),
        ("student1", f"ls {COURSE_ROOT}/privsec2026/data"),
        ("teacher1", f"ls {COURSE_ROOT}/privsec2026/files"),
        ("student1", f"ls {EXCHANGE_ROOT}/mlbp2026/inbound"),
        ("teacher1", f"touch {COURSE_ROOT}/oldstats2025/files/x"),
    ],
)
def test_access_refused(host, user, command):
    result = host.run(f"runuser -u {user} -- {command}")
    assert result.rc != 0 and "Permission denied" in result.stderr, f"{user} could: {command}"


@pytest.mark.parametrize(
    "user,command",
    [
        ("student1", f"ls {COURSE_ROOT}/mlbp2026/data"),
        ("student2", f"ls {COURSE_ROOT}/privsec2026/data"),
        ("teacher2", f"ls {COURSE_ROOT}/privsec2026/files"),
    ],
)
def test_access_allowed(host, user, command):
    assert host.run(f"runuser -u {user} -- {command}").rc == 0, f"{user} could not: {command}"


def test_courses_json(host):
    f = host.file("/etc/jupyterhub/courses.json")
    # It names every course's students (private ones too): only the hub, root, reads it.
    assert (f.user, f.group, f.mode) == ("root", "root", 0o600)
    data = json.loads(f.content_string)
    assert set(data["courses"]) == {"mlbp2026", "privsec2026", "deeplearn2026", "oldstats2025"}
    assert data["courses"]["privsec2026"]["private"] is True
    assert data["courses"]["deeplearn2026"]["resources"]["memory"] == "4G"
