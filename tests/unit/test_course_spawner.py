"""CourseSpawner (roles/jupyterhub/files/coursehub_spawner.py) through JupyterHub's own
apply_user_options runner: every spawn path hands user_options to it, a course the
user may not start is refused with 403 there, and start() checks again whenever
that step did not run for the options it starts with."""
import asyncio
import json
import logging
import pathlib
import sys

import pytest
from tornado import web

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "module_utils"))  # the hub imports them as top-level modules
sys.path.insert(0, str(ROOT / "roles" / "jupyterhub" / "files"))
import coursehub_spawner  # noqa: E402
from systemdspawner import SystemdSpawner  # noqa: E402
from test_hub_rules import COURSES, SETTINGS  # noqa: E402

GROUPS = {
    "student1": set(),
    "student2": {"jupyter-priv2026-students"},
    "teacher1": {"jupyter-pub2026"},
}


class FakeUser:
    id = 1

    def __init__(self, name):
        self.name = name
        self.url = f"/user/{name}/"


@pytest.fixture
def spawner(tmp_path, monkeypatch, caplog):
    path = tmp_path / "courses.json"
    path.write_text(json.dumps({"version": 1, "courses": COURSES}))
    monkeypatch.setattr(coursehub_spawner, "user_groups", lambda name: GROUPS[name])
    started = []

    async def fake_start(self):
        started.append(self)
        return ("127.0.0.1", 12345)

    monkeypatch.setattr(SystemdSpawner, "start", fake_start)
    coursehub_spawner.CourseSpawner._catalogs.clear()
    caplog.set_level(logging.INFO)

    def make(user):
        made = coursehub_spawner.CourseSpawner(user=FakeUser(user), courses_json=str(path),
                                               course_settings=SETTINGS, mem_limit="2G", cpu_limit=4.0)
        made.started = started
        return made
    return make


def run(coroutine):
    return asyncio.run(coroutine)


async def spawn(spawner, options):
    """What JupyterHub's User.spawn does with the options: apply them, then start."""
    spawner.user_options = options
    await spawner._run_apply_user_options(spawner.user_options)
    return await spawner.start()


# who, user_options as the form, a query link or the REST API hand them over, allowed
CASES = [
    ("student1", {}, True),
    ("student1", {"course": "personal", "mode": "student"}, True),
    ("student1", {"course": "pub2026", "mode": "student"}, True),
    ("student1", {"course": "pub2026"}, True),
    ("student1", {"course": "priv2026"}, False),
    ("student1", {"course": "pub2026", "mode": "instructor"}, False),
    ("student1", {"course": "pub2026:instructor"}, False),
    ("student1", {"course": "old2025"}, False),
    ("student1", {"course": "nosuch2026"}, False),
    ("student1", {"course": "listed2026"}, False),
    ("student2", {"course": "priv2026"}, True),
    ("student2", {"course": "priv2026", "mode": "instructor"}, False),
    ("teacher1", {"course": "pub2026", "mode": "instructor"}, True),
    ("teacher1", {"course": "priv2026", "mode": "instructor"}, False),
]


@pytest.mark.parametrize("who,options,allowed", CASES)
def test_every_spawn_is_checked_before_start(spawner, caplog, who, options, allowed):
    server = spawner(who)
    if allowed:
        run(spawn(server, options))
        assert server.started == [server]
    else:
        with pytest.raises(web.HTTPError) as refused:
            run(spawn(server, options))
        assert refused.value.status_code == 403
        assert server.started == [], "a refused course reached SystemdSpawner.start"
        assert f"coursehub: refused {options.get('course')}" in caplog.text
    assert "unhandled user_options" not in caplog.text


@pytest.mark.parametrize("options", [{"course": ["pub2026"]}, {"course": 7}, {"course": "bad slug!"}])
def test_malformed_options_are_400(spawner, options):
    server = spawner("student1")
    with pytest.raises(web.HTTPError) as refused:
        run(spawn(server, options))
    assert refused.value.status_code == 400 and server.started == []


def test_the_course_sets_the_unit(spawner):
    server = spawner("teacher1")
    run(spawn(server, {"course": "pub2026", "mode": "instructor"}))
    assert (server.mem_limit, server.cpu_limit) == (1024 ** 3, 2.0)
    assert "/srv/coursehub/course/pub2026/files:/course" in server.unit_extra_properties["BindPaths"]
    assert server._course_environment["COURSEHUB_MODE"] == "instructor"
    # A later personal server gets the configured defaults back, not the course's.
    run(spawn(server, {}))
    assert (server.mem_limit, server.cpu_limit) == (2 * 1024 ** 3, 4.0)


def test_start_checks_again_when_apply_user_options_was_replaced(spawner):
    """A site's own apply_user_options replaces ours; start() still refuses."""
    server = spawner("student1")
    server.apply_user_options = lambda spawner, options: None
    with pytest.raises(web.HTTPError) as refused:
        run(spawn(server, {"course": "priv2026"}))
    assert refused.value.status_code == 403 and server.started == []


def test_start_checks_again_when_the_options_changed_after_apply(spawner):
    server = spawner("student1")
    server.user_options = {"course": "pub2026"}
    run(server._run_apply_user_options(server.user_options))
    server.user_options = {"course": "priv2026"}
    with pytest.raises(web.HTTPError):
        run(server.start())
    assert server.started == []


def test_an_application_counts_for_one_start_only(spawner, monkeypatch):
    server = spawner("student2")
    run(spawn(server, {"course": "priv2026"}))
    assert server.started == [server]
    # student2 leaves the course; a start without a new apply step checks again.
    monkeypatch.setitem(GROUPS, "student2", set())
    with pytest.raises(web.HTTPError) as refused:
        run(server.start())
    assert refused.value.status_code == 403 and server.started == [server]
