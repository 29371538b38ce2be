"""Fixtures for the resilience scenario (issue 9): the instance, the real
playbooks run against it, a snapshot of everything the courses play manages,
and the figures the tests report (printed at the end of the run, and kept in
.cache/resilience-figures.json for docs/security.md)."""
import json
import os
import pathlib
import subprocess
import sys

import pytest
import testinfra

PROJECT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(PROJECT / "molecule" / "shared"))
from hubclient import HubSession  # noqa: E402,F401  (re-exported to the tests)

INSTANCE = os.environ.get("COURSEHUB_INSTANCE", "coursehub-resilience")
BASE_URL = os.environ.get("COURSEHUB_URL", "https://127.0.0.1:18444")
PASSWORD_FILE = os.environ.get("COURSEHUB_PASSWORD_FILE", str(PROJECT / ".cache" / "molecule-password"))
FIGURES_FILE = PROJECT / ".cache" / "resilience-figures.json"
MANAGED_TREES = "/srv/coursehub /srv/nbgrader/exchange /etc/coursehub/nbgrader"

# Everything the courses play manages, as text: the course groups and their
# members, every path under the managed trees with owner, group, mode and
# size, their ACLs and default ACLs, and the hub's course profiles.
SNAPSHOT = (
    "getent group | grep '^jupyter-' | sort; "
    f"find {MANAGED_TREES} -printf '%p %u %g %m %s\\n' 2>/dev/null | sort; "
    f"getfacl -R -p -s {MANAGED_TREES} 2>/dev/null; "
    "sha256sum /etc/jupyterhub/courses.json"
)

_FIGURES = {}


def record(section, **figures):
    """Add figures under a section; they are printed and saved at the end."""
    _FIGURES.setdefault(section, {}).update(figures)


def pytest_terminal_summary(terminalreporter):
    if not _FIGURES:
        return
    terminalreporter.section("resilience figures")
    for section, figures in _FIGURES.items():
        terminalreporter.write_line(f"{section}: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
    FIGURES_FILE.parent.mkdir(exist_ok=True)
    saved = json.loads(FIGURES_FILE.read_text()) if FIGURES_FILE.exists() else {}
    saved.update(_FIGURES)
    FIGURES_FILE.write_text(json.dumps(saved, indent=2, sort_keys=True) + "\n")


@pytest.fixture(scope="session")
def host():
    return testinfra.get_host(f"docker://{INSTANCE}")


@pytest.fixture(scope="session")
def password():
    return pathlib.Path(PASSWORD_FILE).read_text().split()[0]


@pytest.fixture(scope="session")
def ca_file(host, tmp_path_factory):
    path = tmp_path_factory.mktemp("tls") / "cert.pem"
    path.write_text(host.file("/etc/coursehub/tls/cert.pem").content_string)
    return str(path)


@pytest.fixture(scope="session")
def inventory():
    """Molecule's inventory of the instance (with the scenario's variables)."""
    path = os.environ.get("MOLECULE_INVENTORY_FILE") or os.environ.get("COURSEHUB_INVENTORY")
    assert path, "run through molecule (MOLECULE_INVENTORY_FILE names its inventory)"
    return path


def playbook_command(inventory, playbook, *args):
    return ["ansible-playbook", "-i", inventory, str(PROJECT / playbook), *args]


def playbook_env():
    return dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0",
                ANSIBLE_NOCOLOR="1", PY_COLORS="0")


@pytest.fixture(scope="session")
def run_playbook(inventory):
    """run_playbook(playbook, *args): the real playbook against the instance; returns the CompletedProcess."""

    def run(playbook, *args, timeout=900):
        return subprocess.run(playbook_command(inventory, playbook, *args), cwd=PROJECT, env=playbook_env(),
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture(scope="session")
def snapshot(host):
    """snapshot(): the managed state of the instance, as one text."""

    def take():
        return host.check_output(SNAPSHOT)

    return take
