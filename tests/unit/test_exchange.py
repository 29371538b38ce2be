"""coursehub_exchange's checks of what a student left in inbound, on real files.

The checks are plain functions of roles/user_env/files/coursehub_exchange.py
(standard library only; nbgrader is not installed here). Tests that chown to
another user need root, as `make test` runs; without root they are skipped,
not passed. The nbgrader classes around the checks are exercised end to end
by molecule/default/tests/test_exchange_attacks.py.
"""
import datetime
import grp
import importlib.util
import json
import os
import pwd
import socket
import stat
import time

import pytest
from module_utils import course_model as m

from conftest import REPO_ROOT

_SPEC = importlib.util.spec_from_file_location(
    "coursehub_exchange", os.path.join(REPO_ROOT, "roles/user_env/files/coursehub_exchange.py"))
ex = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(ex)

# Two real users with different uids: the student, and someone else.
STUDENT, OTHER = pwd.getpwnam("nobody"), pwd.getpwnam("daemon")
ASSIGNMENT = "ps1"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to other users needs root")


def stamp(offset=0.0):
    """nbgrader's timestamp format (Exchange.timestamp_format) for now + offset seconds."""
    when = datetime.datetime.fromtimestamp(time.time() + offset, datetime.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def chown_tree(top, uid):
    for dirname, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            os.chown(os.path.join(dirname, name), uid, -1, follow_symlinks=False)
    os.chown(top, uid, -1)


@pytest.fixture
def inbound(tmp_path):
    path = tmp_path / "inbound"
    path.mkdir()
    os.chmod(path, 0o3773)
    return path


def submit(inbound, student=STUDENT, owner=None, files=None, timestamp=None, suffix="abcdefghijkl"):
    """A submission as nbgrader's submit leaves it: <student>+<assignment>+<time>+<random>/, with
    the notebook and timestamp.txt, owned by `owner` (default: the student)."""
    timestamp = timestamp or stamp()
    name = "%s+%s+%s+%s" % (student.pw_name, ASSIGNMENT, timestamp, suffix)
    top = inbound / name
    top.mkdir()
    for rel, content in ({"ps1.ipynb": "{}", "timestamp.txt": timestamp} if files is None else files).items():
        (top / rel).parent.mkdir(parents=True, exist_ok=True)
        (top / rel).write_text(content)
    chown_tree(top, (owner or student).pw_uid)
    return name


def reasons(refusals):
    return [r.reason for r in refusals]


# --- names ------------------------------------------------------------------

@pytest.mark.parametrize("name,fields", [
    ("student1+ps1+2026-01-05 12:00:00.000001 UTC+Ab_9-x",
     {"student": "student1", "assignment": "ps1", "timestamp": "2026-01-05 12:00:00.000001 UTC", "random": "Ab_9-x"}),
    ("student1+ps1+2026-01-05 12:00:00 UTC",
     {"student": "student1", "assignment": "ps1", "timestamp": "2026-01-05 12:00:00 UTC", "random": None}),
    ("student1+ps1", None),
    ("student1+ps1+t+r+extra", None),  # nbgrader's rsplit would make "student1+ps1" the student
    ("+ps1+t+r", None),
    ("student1++t", None),
])
def test_submission_names(name, fields):
    assert ex.parse_submission_name(name) == fields


def test_names_in_logs_cannot_forge_lines():
    assert ex.printable("a\nb\tc\x1b[31m") == "a\\nb\\tc\\x1b[31m"
    assert ex.printable("student1+ps1+2026") == "student1+ps1+2026"


# --- what is refused ----------------------------------------------------------

@needs_root
def test_a_submission_as_nbgrader_makes_it_passes(inbound):
    name = submit(inbound, files={"ps1.ipynb": "{}", "timestamp.txt": "", "data/x.csv": "1,2\n"})
    (inbound / name / "timestamp.txt").write_text(ex.parse_submission_name(name)["timestamp"])
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == []
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid, time.time(), 600) == []


def _symlink_to_solution(top, tmp_path):
    solution = tmp_path / "source_ps1.ipynb"
    solution.write_text("SOLUTION")
    os.remove(top / "ps1.ipynb")
    os.symlink(solution, top / "ps1.ipynb")


def _dangling_symlink(top, tmp_path):
    os.remove(top / "ps1.ipynb")
    os.symlink(tmp_path / "nowhere", top / "ps1.ipynb")


def _fifo(top, tmp_path):
    os.remove(top / "ps1.ipynb")
    os.mkfifo(top / "ps1.ipynb")


def _socket(top, tmp_path):
    cwd = os.getcwd()
    os.chdir(top)  # a relative name: the path may be longer than sun_path
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("s.sock")
        sock.close()
    finally:
        os.chdir(cwd)


def _device(top, tmp_path):
    try:
        os.mknod(top / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("no CAP_MKNOD here")


def _hard_link_out(top, tmp_path):
    os.link(top / "ps1.ipynb", tmp_path / "elsewhere")


def _symlinked_dir(top, tmp_path):
    os.symlink(tmp_path, top / "sub")


@needs_root
@pytest.mark.parametrize("plant,entry,reason", [
    (_symlink_to_solution, "ps1.ipynb", "is a symbolic link"),
    (_dangling_symlink, "ps1.ipynb", "is a symbolic link"),
    (_symlinked_dir, "sub", "is a symbolic link"),
    (_fifo, "ps1.ipynb", "is a FIFO"),
    (_socket, "s.sock", "is a socket"),
    (_device, "null", "is a character device"),
    (_hard_link_out, "ps1.ipynb", "is a hard link (2 links)"),
])
def test_links_and_special_files_are_refused(inbound, tmp_path, plant, entry, reason):
    name = submit(inbound)
    plant(inbound / name, tmp_path)
    chown_tree(inbound / name, STUDENT.pw_uid)
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == [ex.Refusal(name + "/" + entry, reason)]


@needs_root
def test_a_top_entry_that_is_a_link_or_a_file_is_refused(inbound, tmp_path):
    real = submit(inbound, suffix="real")
    link = "%s+%s+%s+link" % (STUDENT.pw_name, ASSIGNMENT, stamp())
    os.symlink(inbound / real, inbound / link)
    os.chown(inbound / link, STUDENT.pw_uid, -1, follow_symlinks=False)
    assert reasons(ex.check_submission(str(inbound), link, STUDENT.pw_uid)) == ["is a symbolic link"]
    plain = "%s+%s+%s+file" % (STUDENT.pw_name, ASSIGNMENT, stamp())
    (inbound / plain).write_text("x")
    os.chown(inbound / plain, STUDENT.pw_uid, -1)
    assert reasons(ex.check_submission(str(inbound), plain, STUDENT.pw_uid)) == ["is not a directory"]
    assert ex.check_submission(str(inbound), "absent+ps1+x", STUDENT.pw_uid)[0].reason.startswith("cannot be read")


@needs_root
def test_a_submission_under_another_students_name_is_refused(inbound):
    # OTHER made it, under STUDENT's name: the kernel set its owner, and nobody but root can change it.
    name = submit(inbound, student=STUDENT, owner=OTHER)
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == [ex.Refusal(name, "belongs to daemon")]
    # ...or OTHER slipped one file into it (while it was open): refused as a whole.
    name = submit(inbound, suffix="mixed")
    os.chown(inbound / name / "ps1.ipynb", OTHER.pw_uid, -1)
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == [
        ex.Refusal(name + "/ps1.ipynb", "belongs to daemon")]


@needs_root
def test_timestamp_file_must_match_the_name(inbound):
    name = submit(inbound, files={"ps1.ipynb": "{}", "timestamp.txt": "2020-01-01 00:00:00.000000 UTC"})
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == [
        ex.Refusal(name + "/timestamp.txt", "does not hold the timestamp of the name")]
    name = submit(inbound, files={"ps1.ipynb": "{}"}, suffix="none")
    assert reasons(ex.check_submission(str(inbound), name, STUDENT.pw_uid)) == ["is missing"]


@needs_root
def test_a_back_dated_or_later_changed_submission_is_refused(inbound):
    # Made now, named an hour ago: every ctime is now, which no user can set back.
    name = submit(inbound, timestamp=stamp(-3600))
    refusals = ex.check_submission(str(inbound), name, STUDENT.pw_uid, time.time() - 3600, 600)
    assert [r.entry for r in refusals] == [name] and refusals[0].reason.startswith("was changed at")
    # Honest and in time: passes; the same with the check off.
    name = submit(inbound, suffix="ontime")
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid, time.time(), 600) == []
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid, time.time() - 3600, 0) == []


@needs_root
def test_too_deep_a_tree_is_refused(inbound):
    deep = "/".join(["d"] * ex.MAX_DEPTH)
    name = submit(inbound, files={"ps1.ipynb": "{}", "timestamp.txt": "", deep + "/f": "x"})
    (inbound / name / "timestamp.txt").write_text(ex.parse_submission_name(name)["timestamp"])
    refusals = ex.check_submission(str(inbound), name, STUDENT.pw_uid)
    assert reasons(refusals) == ["is nested deeper than %d directories" % ex.MAX_DEPTH]


# --- the copy: checks again, from the descriptors it reads ----------------------

@needs_root
def test_copy_of_a_good_submission(inbound, tmp_path):
    name = submit(inbound, files={"ps1.ipynb": "{}", "timestamp.txt": "", "big.bin": "x" * 3000,
                                  ".ipynb_checkpoints/ps1-checkpoint.ipynb": "{}", "sub/notes.md": "n"})
    (inbound / name / "timestamp.txt").write_text(ex.parse_submission_name(name)["timestamp"])
    os.chmod(inbound / name / "ps1.ipynb", 0o640)
    dest = tmp_path / "submitted"
    warnings = []
    assert ex.copy_submission(str(inbound), name, str(dest), STUDENT.pw_uid, time.time(), 600,
                              exclude=[".ipynb_checkpoints"], max_file_size_kb=2, warn=warnings.append) == []
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*"))
    assert copied == ["ps1.ipynb", "sub", "sub/notes.md", "timestamp.txt"], copied
    assert (dest / "ps1.ipynb").read_text() == "{}" and len(warnings) == 1 and "big.bin" in warnings[0]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o2770 and stat.S_IMODE((dest / "sub").stat().st_mode) == 0o2770
    assert stat.S_IMODE((dest / "ps1.ipynb").stat().st_mode) == 0o660
    assert (dest / "ps1.ipynb").stat().st_uid == os.geteuid()


@needs_root
def test_copy_refuses_by_itself_what_changed_after_the_check(inbound, tmp_path):
    """The student owns the directory and may swap an entry between check and copy: the copy
    judges each file again by fstat of the descriptor it reads, and never follows a link."""
    name = submit(inbound)
    assert ex.check_submission(str(inbound), name, STUDENT.pw_uid) == []
    _symlink_to_solution(inbound / name, tmp_path)  # swapped after the check
    dest = tmp_path / "submitted"
    refusals = ex.copy_submission(str(inbound), name, str(dest), STUDENT.pw_uid)
    assert refusals == [ex.Refusal(name + "/ps1.ipynb", "is a symbolic link")]
    assert not dest.exists(), "a refused copy is removed"


@needs_root
def test_copy_verifies_each_file_after_reading_it(inbound, tmp_path, monkeypatch):
    """A file that gains a link while it is read (copy, then verify) is refused."""
    name = submit(inbound)
    real_read = os.read

    def read_then_link(fd, n):
        data = real_read(fd, n)
        target = inbound / name / "ps1.ipynb"
        if data and os.fstat(fd).st_ino == target.stat().st_ino and not (tmp_path / "later").exists():
            os.link(target, tmp_path / "later")
        return data
    monkeypatch.setattr(ex.os, "read", read_then_link)
    dest = tmp_path / "submitted"
    assert ex.copy_submission(str(inbound), name, str(dest), STUDENT.pw_uid) == [
        ex.Refusal(name + "/ps1.ipynb", "is a hard link (2 links)")]
    assert not dest.exists()


@needs_root
def test_copy_refuses_a_submission_over_the_size_limit(inbound, tmp_path):
    name = submit(inbound, files={"ps1.ipynb": "x" * 1500, "timestamp.txt": "", "b": "x" * 1500})
    refusals = ex.copy_submission(str(inbound), name, str(tmp_path / "d"), STUDENT.pw_uid, max_dir_size_kb=2)
    assert reasons(refusals) == ["is larger than 2 kB in all"] and not (tmp_path / "d").exists()


# --- who may submit ----------------------------------------------------------------

def test_student_uid_and_membership():
    assert ex.student_uid("nobody") == (STUDENT.pw_uid, None)
    assert ex.student_uid("no-such-user-here") == (None, "there is no user no-such-user-here")
    root_group = grp.getgrgid(0).gr_name
    assert ex.student_uid("root", [root_group]) == (0, None)
    assert ex.student_uid("nobody", ["no-such-group", root_group]) == (
        STUDENT.pw_uid, "nobody is not in no-such-group or %s" % root_group)


def test_choose_prefers_nbgraders_pick_and_keeps_the_rest_to_fall_back_on():
    t = [datetime.datetime(2026, 1, d) for d in (1, 2, 3)]
    records = [{"timestamp": x} for x in t]
    assert [r["timestamp"] for r in ex.choose(records)] == t[::-1]
    assert [r["timestamp"] for r in ex.choose(records, t[1], before_duedate=True)] == [t[1], t[0], t[2]]
    assert [r["timestamp"] for r in ex.choose(records, t[1], before_duedate=False)] == t[::-1]
    assert ex.epoch(datetime.datetime(1970, 1, 1, 0, 1)) == 60.0


def test_refusal_report_is_appended_group_only_and_never_through_a_link(tmp_path):
    report = tmp_path / "collect-refusals.log"
    ex.append_report(str(report), ["one"])
    ex.append_report(str(report), ["two", "three"])
    assert report.read_text() == "one\ntwo\nthree\n" and stat.S_IMODE(report.stat().st_mode) == 0o660
    os.symlink(tmp_path / "elsewhere", tmp_path / "link.log")
    with pytest.raises(OSError):
        ex.append_report(str(tmp_path / "link.log"), ["x"])
    assert not (tmp_path / "elsewhere").exists()


# --- the course model: who can reach inbound, and what the config selects ---------------

def _course(slug, **extra):
    base = {"name": "T", "owner": "teacher2", "instructors": ["teacher2"], "start": "2026-10-01",
            "end": "2026-12-11"}
    courses, problems = m.courses_from_vars({"course_" + slug: dict(base, **extra)})
    assert not problems, problems
    return courses


def test_a_private_courses_inbound_is_writable_by_its_students_only():
    courses = _course("privsec2026", state="private", students=["student2"])
    inbound = next(d for d in m.desired_dirs(courses) if d["path"].endswith("/privsec2026/inbound"))
    # "other" had -wx (3773); a private course moves it to the students group: outsiders get nothing.
    assert inbound["mode"] == "3770" and inbound["acl"] == ["group:jupyter-privsec2026-students:-wx"], inbound
    public = _course("mlbp2026")
    inbound = next(d for d in m.desired_dirs(public) if d["path"].endswith("/mlbp2026/inbound"))
    assert inbound["mode"] == "3773" and inbound["acl"] == [], inbound


def _run_config(text):
    from traitlets.config import Config
    config = Config()
    exec(compile(text, "<config>", "exec"), {"get_config": lambda: config})
    return config


@pytest.mark.parametrize("mode", ["student", "instructor"])
def test_configs_select_the_checked_collect_and_list(mode, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    private = _course("privsec2026", state="private", students=["student2"])
    config = _run_config(m.desired_course_configs(private)[
        "/etc/coursehub/nbgrader/privsec2026/%s/nbgrader_config.py" % mode].replace('"/course"', '"/nonexistent"'))
    assert config.ExchangeFactory.collect == "coursehub_exchange.ExchangeCollect"
    assert config.ExchangeFactory.list == "coursehub_exchange.ExchangeList"
    assert config.CoursehubExchange.allowed_groups == ["jupyter-privsec2026", "jupyter-privsec2026-students"]
    assert config.CoursehubExchange.refusal_report == "/course/collect-refusals.log"
    # Private without a student list: instructors only. Public: anyone, so no group list.
    alone = m.desired_course_configs(_course("privsec2026", state="private"))
    assert json.dumps(["jupyter-privsec2026"]) in alone["/etc/coursehub/nbgrader/privsec2026/%s/nbgrader_config.py"
                                                       % mode]
    public = m.desired_course_configs(_course("mlbp2026"))["/etc/coursehub/nbgrader/mlbp2026/%s/nbgrader_config.py"
                                                           % mode]
    assert "allowed_groups" not in public and "ExchangeCollect" in public
    assert m.COLLECT_REFUSALS in m.DEFAULT_SETTINGS["course_gitignore"]
