"""Security floors: for each piece of the service with published advisories, the
first release that fixes every one known (checked 2026-12). The molecule test
test_versions.py holds what is installed on an instance to these, and the unit
test test_version_floors.py holds the pins in roles/*/defaults to them, so a
bad pin fails before anything is installed. Raise a floor when a new advisory
is published; never lower one."""
from packaging.version import Version

FLOORS = {
    # 5.5.1 fixes JupyterHub's advisories of the 5.x series; every 6.x release
    # is later than it and has the fixes.
    "jupyterhub": "5.5.1",
    "jupyter-server": "2.21.0",
    "jupyterlab": "4.6.2",
    "nbgrader": "0.9.6",
    # configurable-http-proxy has had no advisory of its own from 2023 to 2026.
    # 4.6.3 is the first release with no advisory in its dependency tree: it
    # dropped `request` (CVE-2023-28155, redirects across protocols). The
    # http_proxy role pins 5.1.0, the newest release for Debian 12's node 18.
    "configurable-http-proxy": "4.6.3",
    # Python's venv seeds setuptools 66.1.1 (Debian 12's ensurepip), which
    # nbgrader imports at every server start: 70.0.0 fixes CVE-2024-6345
    # (package_index code execution), 78.1.1 CVE-2025-47273 (path traversal).
    "setuptools": "78.1.1",
}


def below_floor(name, version):
    """True when `version` of `name` is older than its floor (unknown names have none)."""
    floor = FLOORS.get(canonical(name))
    return floor is not None and Version(version) < Version(floor)


def canonical(name):
    """PyPI's normalised project name (jupyter_server -> jupyter-server)."""
    return name.lower().replace("_", "-").replace(".", "-")
