"""Fixtures for the default scenario: the instance, and an HTTPS client
that reaches the hub only through the port published on 127.0.0.1."""
import json
import os
import pathlib
import re
import sys

import pytest
import testinfra

PROJECT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(PROJECT / "molecule" / "shared"))
from hubclient import BASE_URL, HubSession  # noqa: E402,F401  (re-exported to the tests)

INSTANCE = os.environ.get("COURSEHUB_INSTANCE", "coursehub-molecule")
# Ports inside the instance (the demo uses 8443/8080).
HTTPS_PORT = int(os.environ.get("COURSEHUB_HTTPS_PORT", "443"))
HTTP_PORT = int(os.environ.get("COURSEHUB_HTTP_PORT", "80"))
PASSWORD_FILE = os.environ.get("COURSEHUB_PASSWORD_FILE", str(PROJECT / ".cache" / "molecule-password"))


@pytest.fixture(scope="session")
def host():
    """The instance over `docker exec` (faster than an ansible round trip)."""
    return testinfra.get_host(f"docker://{INSTANCE}")


@pytest.fixture(scope="session")
def password():
    return pathlib.Path(PASSWORD_FILE).read_text().split()[0]


@pytest.fixture(scope="session")
def subdomain_host(host):
    """The hub's subdomain_host as deployed on the instance; empty: users' servers under
    /user/<name>/ on the hub's own origin. A scenario that sets one (COURSEHUB_SUBDOMAIN_HOST,
    from its molecule.yml) must find it deployed."""
    config = host.file("/etc/jupyterhub/jupyterhub_config.py").content_string
    found = re.search(r'^c\.JupyterHub\.subdomain_host = "([^"]*)"$', config, re.M)
    deployed = found.group(1) if found else ""
    expected = os.environ.get("COURSEHUB_SUBDOMAIN_HOST")
    assert expected is None or deployed == expected, f"subdomain_host is {deployed!r}, the scenario's {expected!r}"
    return deployed


@pytest.fixture(scope="session")
def ca_file(host, tmp_path_factory):
    """The instance's own certificate, so TLS is verified, not switched off."""
    path = tmp_path_factory.mktemp("tls") / "cert.pem"
    path.write_text(host.file("/etc/coursehub/tls/cert.pem").content_string)
    return str(path)


@pytest.fixture
def instance_inventory(tmp_path):
    """An inventory of the instance alone, over docker exec: in `hub`, and in `courses` through it."""
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"all": {"children": {
        "hub": {"hosts": {INSTANCE: {"ansible_connection": "community.docker.docker"}}},
        "courses": {"children": {"hub": {}}}}}}))
    return str(path)


@pytest.fixture
def hub(ca_file):
    session = HubSession(ca_file)
    yield session
    session.close()
