"""Fixtures for the storage scenario: the instance over `docker exec`; every
NFS and SMB client runs inside it and talks to 127.0.0.1."""
import os
import pathlib
import shlex
import subprocess

import pytest
import testinfra

PROJECT = pathlib.Path(__file__).resolve().parents[3]
INSTANCE = os.environ.get("COURSEHUB_STORAGE_INSTANCE", "coursehub-storage")
PASSWORD_FILE = pathlib.Path(os.environ.get("COURSEHUB_PASSWORD_FILE", PROJECT / ".cache" / "molecule-password"))


@pytest.fixture(scope="session")
def host():
    return testinfra.get_host(f"docker://{INSTANCE}")


@pytest.fixture(scope="session")
def password():
    return PASSWORD_FILE.read_text().split()[0]


@pytest.fixture(scope="session")
def smb(host, password):
    """smbclient as a user against //127.0.0.1/course; returns (rc, output)."""

    def run(user, commands, protocol="SMB3", extra=""):
        auth = f"PASSWD={shlex.quote(password)} smbclient -U {shlex.quote(user)}" if user else "smbclient -N"
        result = host.run(f"{auth} //127.0.0.1/course -m {protocol} {extra} -c {shlex.quote(commands)}")
        return result.rc, result.stdout + result.stderr

    return run


@pytest.fixture(scope="session")
def converge():
    """Run the scenario's converge playbook (the real roles) with extra vars files."""
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "run through molecule (MOLECULE_INVENTORY_FILE names its inventory)"

    def run(*extra_vars_files):
        play = ["ansible-playbook", "-i", inventory, str(PROJECT / "molecule" / "storage" / "converge.yml")]
        for path in extra_vars_files:
            play += ["-e", f"@{path}"]
        done = subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
        return done.stdout

    return run
