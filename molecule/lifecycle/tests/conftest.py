"""Fixtures for the lifecycle scenario: the instance over `docker exec`, and
the real courses play run with a course file edited."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import testinfra
import yaml

PROJECT = pathlib.Path(__file__).resolve().parents[3]
INSTANCE = os.environ.get("COURSEHUB_LIFECYCLE_INSTANCE", "coursehub-lifecycle")
sys.path.insert(0, str(PROJECT / "molecule" / "shared"))


@pytest.fixture(scope="session")
def host():
    return testinfra.get_host(f"docker://{INSTANCE}")


@pytest.fixture(scope="session")
def converge(tmp_path_factory):
    """converge(slug, **changes): the courses play with group_vars/courses/<slug>.yml changed.

    Returns the CompletedProcess; the caller decides whether failure is expected."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run through molecule (MOLECULE_INVENTORY_FILE names its inventory)"
    work = tmp_path_factory.mktemp("edits")

    def run(slug=None, **changes):
        play = ["ansible-playbook", "-i", inventory, str(PROJECT / "molecule" / "lifecycle" / "converge.yml")]
        if slug:
            course = yaml.safe_load((PROJECT / "group_vars" / "courses" / f"{slug}.yml").read_text())
            course[f"course_{slug}"].update(changes)
            edit = work / f"{slug}-{len(list(work.iterdir()))}.json"
            edit.write_text(json.dumps(course))
            play += ["-e", f"@{edit}"]
        return subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=900)

    return run
