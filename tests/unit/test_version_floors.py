"""The pins in roles/*/defaults are at or above the security floors of
molecule/shared/advisories.py (the molecule test test_versions.py checks what an
instance has installed against the same table)."""
import pathlib
import sys

import pytest
import yaml
from packaging.requirements import Requirement

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "molecule" / "shared"))
import advisories  # noqa: E402


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())


def pins():
    """(where, project, version) of every exact pin in the roles' defaults."""
    found = [
        ("jupyterhub_version", "jupyterhub", defaults("jupyterhub")["jupyterhub_version"]),
        ("http_proxy_version", "configurable-http-proxy", defaults("http_proxy")["http_proxy_version"]),
    ]
    user_env = defaults("user_env")
    for key in ("user_env_packages", "user_env_startup_packages", "user_env_extra_packages"):
        for line in user_env.get(key) or []:
            requirement = Requirement(line)
            exact = [spec.version for spec in requirement.specifier if spec.operator == "=="]
            assert exact, f"{key}: {line} is not pinned with =="
            found.append((key, requirement.name, exact[0]))
    return found


PINS = pins()


def test_every_floor_with_a_pin_is_checked():
    """The user environment pins JupyterHub, JupyterLab and nbgrader; jupyter-server
    comes with JupyterLab (its floor is checked on the instance only)."""
    pinned = {advisories.canonical(project) for _, project, _ in PINS}
    assert pinned >= set(advisories.FLOORS) - {"jupyter-server"}


@pytest.mark.parametrize("where,project,version", PINS, ids=[f"{w}:{p}" for w, p, _ in PINS])
def test_pin_is_not_below_its_floor(where, project, version):
    assert not advisories.below_floor(project, version), (
        f"{where} pins {project} {version}, below {advisories.FLOORS[advisories.canonical(project)]}: "
        "it has known advisories")


@pytest.mark.parametrize("project,version,below", [
    ("jupyterhub", "5.5.0", True), ("jupyterhub", "5.5.1", False), ("jupyterhub", "6.0.0", False),
    ("jupyterhub", "4.1.6", True), ("jupyter_server", "2.20.9", True), ("jupyter-server", "2.21.1", False),
    ("jupyterlab", "4.6.1", True), ("JupyterLab", "4.6.6", False), ("nbgrader", "0.9.5", True),
    ("configurable-http-proxy", "4.6.2", True), ("configurable-http-proxy", "5.1.0", False),
    ("ipykernel", "1.0", False),
])
def test_the_floor_table(project, version, below):
    assert advisories.below_floor(project, version) is below
