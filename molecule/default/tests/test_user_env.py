"""The shared environment (issue 8): the union of the courses' packages, built
aside and switched by a symlink; a clash fails naming the courses and leaves the
live environment as it was."""
import json
import subprocess

import pytest
from conftest import PROJECT

LIVE = "/opt/coursehub/envs/default"
BASE = {"name": "Pins", "owner": "teacher2", "instructors": ["teacher2"], "start": "2026-09-01", "end": "2026-12-18"}


def live_state(host):
    return host.check_output(f"readlink {LIVE}"), host.check_output(f"{LIVE}/bin/python -m pip freeze")


def test_live_environment_is_a_checked_build_with_the_course_packages(host):
    target = host.check_output(f"readlink {LIVE}")
    assert host.file(LIVE).is_symlink and target.startswith(LIVE + "-")
    assert host.file(f"{target}/.coursehub-built").exists
    requirements = host.file(f"{target}.requirements.txt").content_string
    assert "scikit-learn>=1.5  # mlbp2026" in requirements and "nbgrader==0.9.6" in requirements
    assert host.run(f"{LIVE}/bin/python -m pip check").rc == 0
    assert host.run(f"{LIVE}/bin/python -c 'import sklearn, coursehub_exchange'").rc == 0


@pytest.mark.parametrize("packages,expected", [
    # An exact pin another course's range excludes: the course model refuses it before any change.
    (["scikit-learn==1.4.2"], ["pins2026", "mlbp2026", "scikit-learn"]),
    # A clash only pip sees (scikit-learn needs threadpoolctl>=3): the new build fails, the live one stays.
    (["threadpoolctl<2"], ["mlbp2026 (scikit-learn>=1.5)", "pins2026 (threadpoolctl<2)", "is unchanged"]),
], ids=["direct-pin", "transitive"])
def test_a_clash_fails_naming_the_courses_and_keeps_the_live_environment(host, tmp_path, instance_inventory,
                                                                        packages, expected):
    before = live_state(host)
    extra = tmp_path / "pins.json"
    extra.write_text(json.dumps({"course_pins2026": dict(BASE, packages=packages)}))
    run = subprocess.run(["ansible-playbook", "-i", instance_inventory, str(PROJECT / "playbooks" / "hub.yml"),
                          "--tags", "user_env", "-e", json.dumps({"jupyterhub_admin_users": ["teacher1"]}),
                          "-e", f"@{extra}"], cwd=PROJECT, capture_output=True, text=True, timeout=900)
    said = run.stdout + run.stderr
    assert run.returncode != 0, said[-2000:]
    for text in expected:
        assert text in said, f"{text!r} not in the failure:\n{said[-3000:]}"
    assert live_state(host) == before
    assert host.run(f"ls -d {LIVE}-*/").stdout.split() == [host.check_output(f"readlink {LIVE}") + "/"]


def test_course_environment_tests_report_pass_and_fail(tmp_path, instance_inventory):
    play = ["ansible-playbook", "-i", instance_inventory, str(PROJECT / "playbooks" / "test-environments.yml")]
    passed = subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=600)
    assert passed.returncode == 0 and "'mlbp2026: pass'" in passed.stdout, passed.stdout[-2000:]
    extra = tmp_path / "broken.json"
    extra.write_text(json.dumps({"course_broken2026": dict(
        BASE, test_file="tests/environments/always-fails.py")}))
    failed = subprocess.run(play + ["-e", f"@{extra}"], cwd=PROJECT, capture_output=True, text=True, timeout=600)
    said = failed.stdout + failed.stderr
    assert failed.returncode != 0, said[-2000:]
    assert "'broken2026: FAIL'" in said and "'mlbp2026: pass'" in said and "scikit_learn_does_not_exist" in said
