"""Desired state derived from the sample courses: groups, directories, profiles, exports, shares, calendar."""

import json
import os
import stat

import pytest

from course_helpers import base_course, validated_samples
from module_utils import course_model as m


@pytest.fixture(scope="module")
def courses():
    return validated_samples()


def normalised(slug="demo2026", **changes):
    data = base_course()
    data.update(changes)
    courses, problems = m.validate_courses([{"file": slug + ".yml", "key": "course_" + slug, "data": data}])
    assert problems == []
    return courses


def dirs_by_path(courses, settings=None):
    return {d["path"]: d for d in m.desired_dirs(courses, settings)}


def test_groups(courses):
    groups = {g["name"]: g for g in m.desired_groups(courses)}
    assert groups["jupyter-mlbp2026"] == {"name": "jupyter-mlbp2026", "gid": 72026, "members": ["ta1", "teacher1"],
                                          "course": "mlbp2026"}
    assert groups["jupyter-privsec2026"]["members"] == ["teacher2"]
    assert groups["jupyter-privsec2026-students"]["members"] == ["student2"]
    assert "jupyter-mlbp2026-students" not in groups
    assert not any("outsider1" in g["members"] for g in groups.values())


def test_absent_course_produces_nothing_but_purge_lists():
    purged = normalised(state="absent", purge=True)
    assert (m.desired_groups(purged), m.desired_dirs(purged), m.desired_shares(purged)) == ([], [], [])
    assert m.desired_profiles(purged) == {"version": 1, "courses": {}}
    assert m.purged_dirs_by_course(purged) == {
        "demo2026": ["/srv/coursehub/course/demo2026", "/srv/nbgrader/exchange/demo2026"]}
    assert m.purged_groups(purged) == ["jupyter-demo2026", "jupyter-demo2026-students"]
    assert m.purged_dirs(purged) == ["/srv/coursehub/course/demo2026", "/srv/nbgrader/exchange/demo2026"]


def test_public_course_dirs(courses):
    dirs = dirs_by_path(courses)
    files = dirs["/srv/coursehub/course/mlbp2026/files"]
    assert (files["owner"], files["group"], files["mode"], files["git"]) == ("root", "jupyter-mlbp2026", "2770", True)
    assert files["acl"] == ["group:jupyter-mlbp2026:rwx"]
    assert files["default_acl"] == ["user::rwx", "group::rwx", "group:jupyter-mlbp2026:rwx", "mask::rwx",
                                    "other::---"]
    data = dirs["/srv/coursehub/course/mlbp2026/data"]
    assert (data["mode"], data["acl"], data["default_acl"]) == ("2775", [], ["user::rwx", "group::rwx",
                                                                              "other::r-x"])
    modes = {p.rsplit("/", 1)[-1]: d["mode"] for p, d in dirs.items() if p.startswith("/srv/nbgrader/exchange/mlbp")}
    assert modes == {"mlbp2026": "2755", "inbound": "3773", "outbound": "2775", "feedback": "2771"}


def test_private_course_data_is_for_its_students_only(courses):
    dirs = dirs_by_path(courses)
    data = dirs["/srv/coursehub/course/privsec2026/data"]
    assert data["mode"] == "2770"
    assert data["acl"] == ["group:jupyter-privsec2026-students:r-x"]
    assert data["default_acl"] == ["user::rwx", "group::rwx", "group:jupyter-privsec2026-students:r-x",
                                   "mask::rwx", "other::---"]
    inbound = dirs["/srv/nbgrader/exchange/privsec2026/inbound"]
    assert (inbound["mode"], inbound["acl"]) == ("3770", ["group:jupyter-privsec2026-students:-wx"])


def test_private_course_without_students_is_instructors_only():
    dirs = dirs_by_path(normalised(state="private"))
    assert dirs["/srv/coursehub/course/demo2026/data"]["mode"] == "2770"
    assert all(d["acl"] == [] for p, d in dirs.items() if "/files" not in p)


def test_archived_course_is_read_only_but_kept(courses):
    dirs = dirs_by_path(courses)
    assert dirs["/srv/coursehub/course/oldstats2025/files"]["mode"] == "2550"
    assert dirs["/srv/coursehub/course/oldstats2025/data"]["mode"] == "2555"
    for path, entry in dirs.items():
        if entry["course"] == "oldstats2025":
            assert int(entry["mode"], 8) & 0o222 == 0, path
            assert not any("w" in acl.rsplit(":", 1)[1] for acl in entry["acl"] + entry["default_acl"]), path


def test_no_world_writable_dir_without_sticky_bit_and_inbound_unlistable(courses):
    for entry in m.desired_dirs(courses):
        mode = int(entry["mode"], 8)
        assert not (mode & 0o002 and not mode & 0o1000), entry["path"]
        if entry["kind"] == "exchange_inbound":
            assert mode & 0o004 == 0, entry["path"]


def test_every_dir_is_below_a_root(courses):
    settings = m.DEFAULT_SETTINGS
    roots = [settings[k] for k in ("course_root", "exchange_root", "shareddata_root")]
    for entry in m.desired_dirs(courses):
        assert any(entry["path"] == r or entry["path"].startswith(r + "/") for r in roots), entry["path"]
        assert ".." not in entry["path"].split("/")


def test_shareddata_dir_has_a_readme(courses):
    mnist = dirs_by_path(courses)["/srv/coursehub/shareddata/mnist"]
    assert (mnist["owner"], mnist["group"], mnist["mode"], mnist["course"]) == ("root", "root", "0755", None)
    assert "deeplearn2026" in mnist["readme"] and "/mnt/jupyter/shareddata/mnist" in mnist["readme"]


def test_settings_move_every_path(courses):
    settings = {"course_root": "/data/course", "exchange_root": "/data/exchange",
                "shareddata_root": "/data/shared", "group_prefix": "hub-"}
    dirs = dirs_by_path(courses, settings)
    assert all(p.startswith("/data/") for p in dirs)
    assert dirs["/data/course/mlbp2026/files"]["group"] == "hub-mlbp2026"


def test_profiles(courses):
    profiles = m.desired_profiles(courses)
    assert profiles["version"] == 1
    assert sorted(profiles["courses"]) == ["deeplearn2026", "mlbp2026", "oldstats2025", "privsec2026"]
    private = profiles["courses"]["privsec2026"]
    assert (private["private"], private["allow_non_students"], private["students_group"]) == (
        True, False, "jupyter-privsec2026-students")
    deep = profiles["courses"]["deeplearn2026"]
    assert deep["resources"] == {"memory": "4G", "memory_bytes": 4 << 30, "cpus": 2.0}
    assert {"source": "/srv/coursehub/shareddata/mnist", "target": "/mnt/jupyter/shareddata/mnist",
            "read_only": True} in deep["mounts"]["student"]
    assert deep["nbgrader"] == {"course_id": "deeplearn2026", "course_root": "/course", "exchange_root": None}
    student_targets = [mount["target"] for mount in profiles["courses"]["mlbp2026"]["mounts"]["student"]]
    assert student_targets == ["/coursedata", "/srv/nbgrader/exchange/mlbp2026"]
    archived = profiles["courses"]["oldstats2025"]
    assert archived["state"] == "archived"
    assert all(mount["read_only"] for mode in archived["mounts"].values() for mount in mode)


def test_profiles_are_byte_stable(courses):
    first = json.dumps(m.desired_profiles(courses), sort_keys=True)
    assert json.dumps(m.desired_profiles(list(reversed(courses))), sort_keys=True) == first


def run_config(text, course_mount):
    """Execute a generated Python config as traitlets would, with /course moved to course_mount."""
    from traitlets.config import Config
    config = Config()
    exec(compile(text.replace('"/course"', json.dumps(course_mount)), "<config>", "exec"),
         {"get_config": lambda: config})
    return config


def test_course_configs_per_mode(courses, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    files = m.desired_course_configs(courses)
    base = "/etc/coursehub/nbgrader/mlbp2026/"
    student, instructor = files[base + "student/nbgrader_config.py"], files[base + "instructor/nbgrader_config.py"]
    for text in (student, instructor):
        config = run_config(text, str(tmp_path / "absent"))
        assert config.CourseDirectory.course_id == "mlbp2026" and config.CourseDirectory.groupshared is True
        assert config.Exchange.path_includes_course is True and config.Autograde.create_student is True
        assert config.ExchangeFactory.submit == "coursehub_exchange.ExchangeSubmit"
        assert config.ExchangeFactory.release_feedback == "coursehub_exchange.ExchangeReleaseFeedback"
    assert "gradebook" not in student and "kernel_name" not in student
    # Autograde runs student code in the sandbox kernel, which has no network: ipc sockets.
    config = run_config(instructor, str(tmp_path / "absent"))
    assert config.Execute.kernel_name == "python3-sandbox" and config.KernelManager.transport == "ipc"
    sockets = tmp_path / "home/.cache/coursehub-grading"
    assert config.KernelManager.ip == str(sockets / "ipc") and stat.S_IMODE(sockets.stat().st_mode) == 0o700
    without = m.desired_course_configs(courses, {"grading_kernel": ""})[base + "instructor/nbgrader_config.py"]
    assert "kernel_name" not in without
    # Only instructor mode is rooted at "/" (formgrader needs /course under the root).
    assert base + "student/jupyter_server_config.py" not in files
    server = run_config(files[base + "instructor/jupyter_server_config.py"], "/course")
    assert server.ServerApp.root_dir == "/"
    assert server.ContentsManager.preferred_dir == os.path.expanduser("~").lstrip("/")


def test_instructor_config_makes_the_gradebook_group_writable(courses, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    text = m.desired_course_configs(courses)["/etc/coursehub/nbgrader/mlbp2026/instructor/nbgrader_config.py"]
    old_umask = os.umask(0o022)
    try:
        run_config(text, str(tmp_path))
        gradebook = tmp_path / "gradebook.db"
        assert stat.S_IMODE(gradebook.stat().st_mode) == 0o660
        gradebook.chmod(0o644)  # as SQLite would have made it
        gradebook.write_bytes(b"SQLite format 3\0")
        run_config(text, str(tmp_path))
        assert stat.S_IMODE(gradebook.stat().st_mode) == 0o660 and gradebook.read_bytes().startswith(b"SQLite")
    finally:
        os.umask(old_umask)
    # Somewhere the user cannot write (a student's server has no /course): nothing happens.
    run_config(text, str(tmp_path / "absent"))
    assert not (tmp_path / "absent").exists()


def test_archived_courses_get_no_course_config(courses):
    assert not any("/oldstats2025/" in path for path in m.desired_course_configs(courses))


def test_exports_and_shares(courses):
    exports = {e["what"]: (e["path"], e["access"]) for e in m.desired_exports(courses, homes=True)}
    assert exports == {"homes": ("/home", "rw"), "courses": ("/srv/coursehub/course", "rw"),
                       "exchange": ("/srv/nbgrader/exchange", "rw"), "shareddata": ("/srv/coursehub/shareddata", "ro")}
    shares = {s["course"]: s for s in m.desired_shares(courses)}
    assert shares["mlbp2026"]["valid_groups"] == ["jupyter-mlbp2026"]
    assert shares["mlbp2026"]["path"] == "/srv/coursehub/course/mlbp2026/files"
    assert shares["oldstats2025"]["read_only"] is True


def test_calendar_is_sorted(courses):
    events = m.calendar_events(courses)
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    assert {"course": "mlbp2026", "date": "2026-10-02 16:00", "kind": "deadline", "what": "Round 1"} in events
