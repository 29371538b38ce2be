"""The courses play runs the same tasks, and makes the same module calls, for 4 courses as for 400.

A real ``ansible-playbook --check`` run of playbooks/courses.yml against
localhost (``-c local``), once for 4 and once for 400 generated course files,
read through the ansible.posix.json callback.  A loop over courses (or an
include per course) would show up as more task results or more loop items.

Why it is safe on the machine running the tests:
* ``--check``: the course modules only report what they would do, and the
  apt task neither updates the cache nor installs in check mode;
* every host path of the course model points into the test's temp dir
  (``courses_settings``), so even the reads touch nothing of the machine's;
* ``courses_missing_users=warn``: the generated users do not exist here.

The playbook is copied next to a temporary inventory whose
``group_vars/courses`` holds the generated files, so the repository's sample
courses (playbooks/group_vars -> ../group_vars) are not loaded; the test checks
that courses.json would list exactly the generated slugs.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
SYSTEM_PYTHON = "/usr/bin/python3"


def ansible_playbook():
    for candidate in (os.path.join(VENV_BIN, "ansible-playbook"), shutil.which("ansible-playbook")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def system_python_has_apt():
    """The role's apt task needs python3-apt on the host, also in check mode."""
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import apt"], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def test_prerequisites():
    """Fail loudly rather than skip: `make setup` installs both."""
    assert ansible_playbook() is not None, "ansible-playbook is not installed (make setup)"
    assert system_python_has_apt(), "the role's apt task needs python3-apt on this host (make setup)"


def course(i):
    """A valid course; every fourth one private with a short student list, every tenth with a dataset."""
    body = {
        "name": "Generated course %d" % i,
        "state": "private" if i % 4 == 0 else "public",
        "owner": "tinst%d" % i,
        "instructors": ["tinst%d" % i, "tta%d" % i],
        "gid": 90000 + i,
        "shareddata": ["tdata"] if i % 10 == 0 else [],
        "start": "2026-09-01",
        "end": "2026-12-18",
    }
    if i % 4 == 0:
        body["students"] = ["tstud%d" % (i + s) for s in range(10)]
    return body


def slug(i):
    return "tc%04d2026" % i


def workspace(root, count):
    """A playbook copy and an inventory with count course files; (playbook, inventory)."""
    inventory = root / "inventory"
    courses_dir = inventory / "group_vars" / "courses"
    courses_dir.mkdir(parents=True)
    for i in range(count):
        with open(courses_dir / (slug(i) + ".yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({"course_" + slug(i): course(i)}, handle, sort_keys=False)
    host = root / "host"
    settings = {"course_root": str(host / "course"), "exchange_root": str(host / "exchange"),
                "shareddata_root": str(host / "shareddata"), "courses_json": str(host / "courses.json")}
    hosts = {"all": {"children": {"courses": {
        "hosts": {"localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}},
        "vars": {"courses_dir": str(courses_dir), "courses_settings": settings,
                 "courses_missing_users": "warn"}}}}}
    with open(inventory / "hosts.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(hosts, handle, sort_keys=False)
    playbook = root / "courses.yml"
    for name in ("courses.yml", "course-files.yml"):
        shutil.copy(os.path.join(REPO_ROOT, "playbooks", name), root / name)
    return str(playbook), str(inventory), host


def environment():
    env = dict(os.environ)
    env.update(
        PATH=VENV_BIN + os.pathsep + env.get("PATH", ""),
        ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
        ANSIBLE_ROLES_PATH=os.path.join(REPO_ROOT, "roles"),
        ANSIBLE_LIBRARY=os.path.join(REPO_ROOT, "library"),
        ANSIBLE_MODULE_UTILS=os.path.join(REPO_ROOT, "module_utils"),
        ANSIBLE_FILTER_PLUGINS=os.path.join(REPO_ROOT, "filter_plugins"),
        ANSIBLE_DOC_FRAGMENT_PLUGINS=os.path.join(REPO_ROOT, "doc_fragments"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )
    return env


def counts(report):
    """(task results, module calls counting loop items, slugs in courses.json) of a json callback report."""
    tasks = calls = 0
    slugs = None
    for play in report["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                assert not result.get("failed"), (task["task"]["name"], result.get("msg"))
                tasks += 1
                items = result.get("results")
                calls += len(items) if isinstance(items, list) else 1
                if task["task"]["name"].endswith("Write the hub's course profiles"):
                    slugs = result["courses"]
    return tasks, calls, slugs


def test_courses_play_does_not_grow_with_courses(tmp_path):
    runs = {}
    for count in (4, 400):
        playbook, inventory, host = workspace(tmp_path / ("n%d" % count), count)
        argv = [ansible_playbook(), playbook, "-i", inventory, "--check"]
        # Both runs at once: each is mostly one Python process on the controller.
        runs[count] = (host, subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                              env=environment(), cwd=str(tmp_path)))
    results = {}
    for count, (host, process) in runs.items():
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, "ansible-playbook for %d courses failed:\n%s\n%s" % (
            count, out[-3000:], err[-3000:])
        tasks, calls, slugs = counts(json.loads(out))
        assert slugs == [slug(i) for i in range(count)], "other courses leaked in: %r" % (slugs or [])[:8]
        assert not host.exists(), "check mode created %s" % host
        results[count] = (tasks, calls)
    assert results[4][0] >= 6, results  # validate, show, apt, groups, dirs, profiles at least
    assert results[4] == results[400], "tasks, module calls for 4 and 400 courses: %r" % results
