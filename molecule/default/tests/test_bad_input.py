"""Bad input fails at the start of the play, naming the variable, before
anything on the instance changes."""
import json
import os
import subprocess

import pytest
from conftest import INSTANCE, PROJECT
from recap import changed

# Configuration, secrets and units; the hub's own database and pid file
# change while it runs, so they are left out.
SNAPSHOT = (
    "find /etc/coursehub /etc/jupyterhub /var/lib/jupyterhub /etc/systemd/system /opt/coursehub/envs "
    "-maxdepth 2 -type f ! -name 'jupyterhub.sqlite*' ! -name jupyterhub.pid "
    "-printf '%p %m %u %g %s %T@\\n' | sort"
)

CASES = [
    ({"jupyterhub_admin_users": []}, "jupyterhub_admin_users"),
    ({"tls_mode": "provided"}, "tls_cert_content"),
    ({"tls_mode": "bogus"}, "tls_mode"),
    ({"jupyterhub_authenticator": "ldap"}, "jupyterhub_ldap_server_address"),
    ({"http_proxy_api_ip": "0.0.0.0"}, "http_proxy_api_ip"),
    ({"jupyterhub_admin_users": ["Bad User"]}, "jupyterhub_admin_users"),
    ({"user_env_extra_packages": ["numpy"]}, "user_env_extra_packages"),
    ({"jupyterhub_cpu_limit": "lots"}, "jupyterhub_cpu_limit"),
    # Users' hosts under a one-label name: no certificate could cover *.localhost.
    ({"jupyterhub_subdomain_host": "https://localhost"}, "jupyterhub_subdomain_host"),
    # A wildcard certificate for users' hosts needs DNS-01, which acme mode (http-01) cannot do.
    ({"tls_mode": "acme", "tls_acme_email": "ops@uni.example", "jupyterhub_subdomain_host": "https://hub.uni.example"},
     "tls_subdomain_host"),
    # A bad course file stops site.yml too, before the hub changes.
    ({"course_mlbp2026": {"name": "ML", "state": "archive", "owner": "teacher1", "instructors": ["teacher1"],
                          "start": "2026-09-01", "end": "2026-12-18"}},
     "group_vars/courses/mlbp2026.yml: course_mlbp2026.state"),
    ({"course_mlbp2026": {"name": "ML", "owner": "teacher1", "instuctors": ["teacher1"],
                          "start": "2026-09-01", "end": "2026-12-18"}},
     "course_mlbp2026.instuctors: unknown key"),
]


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    path = tmp_path_factory.mktemp("inv") / "hosts.yml"
    path.write_text(json.dumps({
        "all": {"children": {
            "hub": {"hosts": {INSTANCE: {
                "ansible_connection": "community.docker.docker",
                "jupyterhub_admin_users": ["teacher1"],
            }}},
            "courses": {"children": {"hub": {}}},
        }}
    }))
    return str(path)


@pytest.mark.parametrize("extra,variable", CASES, ids=[c[1].split(": ")[-1] for c in CASES])
def test_bad_variable_fails_before_any_change(host, inventory, extra, variable):
    before = host.check_output(SNAPSHOT)
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT / "ansible.cfg"), ANSIBLE_FORCE_COLOR="0")
    run = subprocess.run(
        ["ansible-playbook", "-i", inventory, str(PROJECT / "site.yml"), "-e", json.dumps(extra)],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode != 0, f"{extra} was accepted:\n{output[-2000:]}"
    assert variable in output, f"the error does not name {variable}:\n{output[-2000:]}"
    assert changed(output, INSTANCE) == 0, f"something changed:\n{output[-2000:]}"
    assert "Check every input" in output and "JupyterHub behind" not in output, (
        "the failure did not come from the validation play"
    )
    assert host.check_output(SNAPSHOT) == before, "files changed on the instance"
