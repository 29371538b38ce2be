"""What is installed on the instance is at or above the security floors
(molecule/shared/advisories.py): JupyterHub in the hub's venv and in every user
environment, jupyter-server, JupyterLab and nbgrader in the user environments,
and configurable-http-proxy; and the proxy's engines accept the installed node.
Versions are read from each environment's own metadata, with its own python."""
import json

import pytest
from advisories import FLOORS, below_floor

HUB_VENV = "/opt/jupyterhub"
ENV_ROOT = "/opt/coursehub/envs"
PROXY = "/usr/local/lib/node_modules/configurable-http-proxy"
# What each kind of environment must hold (each is checked against its floor).
HUB_PROJECTS = ["jupyterhub", "setuptools"]
USER_PROJECTS = ["jupyterhub", "jupyter-server", "jupyterlab", "nbgrader", "setuptools"]

READ_VERSIONS = """
import importlib.metadata as metadata, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = metadata.version(name)
    except metadata.PackageNotFoundError:
        found[name] = None
print(json.dumps(found))
"""


def installed(host, python, projects):
    result = host.run(f"{python} -c %s " + " ".join(projects), READ_VERSIONS)
    assert result.rc == 0, f"{python}: {result.stderr}"
    return json.loads(result.stdout)


def user_envs(host):
    """Every environment below ENV_ROOT: the live names (symlinks to builds) and
    the builds themselves, kept ones included, once each."""
    # Resolve the directories, not bin/python (a symlink to the system's python).
    envs = sorted(set(host.check_output(
        f"for env in {ENV_ROOT}/*/; do [ -x \"$env/bin/python\" ] && realpath -e \"$env\"; done; true").split()))
    live = host.check_output(f"realpath -e {ENV_ROOT}/default")
    assert live in envs, envs
    return [f"{env}/bin/python" for env in envs]


def floor_failures(where, versions):
    missing = [f"{where}: {name} is not installed" for name, version in versions.items() if version is None]
    old = [f"{where}: {name} {version} < {FLOORS[name]}" for name, version in versions.items()
           if version is not None and below_floor(name, version)]
    return missing + old


def test_hub_venv(host):
    versions = installed(host, f"{HUB_VENV}/bin/python", USER_PROJECTS)
    # The hub needs JupyterHub only; whatever else of the table is there is held to its floor too.
    versions = {name: version for name, version in versions.items() if version or name in HUB_PROJECTS}
    assert floor_failures(HUB_VENV, versions) == []


def test_user_environments(host):
    failures = []
    for python in user_envs(host):
        failures += floor_failures(python.rsplit("/bin/", 1)[0], installed(host, python, USER_PROJECTS))
    assert failures == []


@pytest.fixture(scope="module")
def proxy_package(host):
    return json.loads(host.file(f"{PROXY}/package.json").content_string)


def test_proxy(proxy_package):
    assert proxy_package["name"] == "configurable-http-proxy"
    assert not below_floor("configurable-http-proxy", proxy_package["version"]), (
        f"configurable-http-proxy {proxy_package['version']} < {FLOORS['configurable-http-proxy']}")


def test_proxy_engines_accept_the_installed_node(host, proxy_package):
    """The release and its direct dependencies support the node that runs them."""
    wanted = {"configurable-http-proxy": proxy_package["engines"]["node"]}
    for name in proxy_package.get("dependencies", {}):
        meta = json.loads(host.file(f"{PROXY}/node_modules/{name}/package.json").content_string)
        if meta.get("engines", {}).get("node"):
            wanted[name] = meta["engines"]["node"]
    check = host.run("node -e %s %s", "const s = require('semver'), w = JSON.parse(process.argv[1]);"
                     "console.log(JSON.stringify(Object.keys(w).filter((n) => !s.satisfies(process.version, w[n]))))",
                     json.dumps(wanted))
    assert check.rc == 0, check.stderr
    node = host.check_output("node --version")
    assert json.loads(check.stdout) == [], f"node {node} is outside the engines of {check.stdout}: {wanted}"
