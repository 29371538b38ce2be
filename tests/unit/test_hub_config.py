"""The hub's config template renders to Python that JupyterHub can load, for
each login method and spawner backend."""
import json
import os
import pathlib
import sys

import jinja2
import pytest
import yaml
from traitlets.config import Config

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "jupyterhub"


def render(**overrides):
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(jupyterhub_admin_users=["admin1"], ansible_managed="Ansible managed")
    variables.update(overrides)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")),
                             trim_blocks=True, undefined=jinja2.StrictUndefined)
    env.filters.update(
        to_json=json.dumps,
        comment=lambda text: "#\n# " + text + "\n#",
        dirname=os.path.dirname,
        combine=lambda a, b: {**a, **b},
    )
    return env.get_template("jupyterhub_config.py.j2").render(**variables)


def load(text, monkeypatch, tmp_path):
    monkeypatch.setenv("CONFIGPROXY_AUTH_TOKEN", "0" * 64)
    for path in (ROOT / "module_utils", ROLE / "files"):
        monkeypatch.syspath_prepend(str(path))
    config = Config()
    text = text.replace('"/etc/jupyterhub/jupyterhub_config.d/*.py"', json.dumps(str(tmp_path / "*.py")))
    exec(compile(text, "jupyterhub_config.py", "exec"), {"get_config": lambda: config})
    return config


@pytest.mark.parametrize("authenticator,extra", [
    ("pam", {}),
    ("ldap", {"jupyterhub_ldap_server_address": "ldap.uni.example",
              "jupyterhub_ldap_bind_dn_template": ["uid={username},ou=people,dc=uni,dc=example"]}),
    ("oauth", {f"jupyterhub_oauth_{k}": f"https://idp.example/{k}" for k in
               ("client_id", "client_secret", "callback_url", "authorize_url", "token_url", "userdata_url")}),
])
def test_authenticators(authenticator, extra, monkeypatch, tmp_path):
    c = load(render(jupyterhub_authenticator=authenticator, **extra), monkeypatch, tmp_path)
    expected = {"pam": "pam", "ldap": "ldapauthenticator.LDAPAuthenticator",
                "oauth": "oauthenticator.generic.GenericOAuthenticator"}[authenticator]
    assert c.JupyterHub.authenticator_class == expected
    assert c.Authenticator.admin_users == {"admin1"}
    assert c.ConfigurableHTTPProxy.should_start is False
    assert c.JupyterHub.hub_bind_url == "http://127.0.0.1:8081"


def test_systemd_course_spawner(monkeypatch, tmp_path):
    c = load(render(), monkeypatch, tmp_path)
    assert c.JupyterHub.spawner_class == "coursehub_spawner.CourseSpawner"
    assert c.SystemdSpawner.mem_limit == "2G" and c.SystemdSpawner.cpu_limit == 4.0
    assert c.JupyterHub.concurrent_spawn_limit == 20
    assert c.JupyterHub.cleanup_servers is False


def test_kubernetes_spawner_offers_the_courses(monkeypatch, tmp_path):
    courses = tmp_path / "courses.json"
    courses.write_text(json.dumps({"courses": {"x2026": {
        "name": "X", "state": "public", "instructors_group": "jupyter-x2026", "students_group": None,
        "allow_non_students": True, "private": False, "resources": {"memory": "1G", "cpus": 1.0},
        "image": "default", "environment": "default", "shareddata": [],
        "mounts": {"student": [{"source": "/srv/c/x2026/data", "target": "/coursedata", "read_only": True}],
                   "instructor": []}}}}))
    c = load(render(jupyterhub_spawner="kubernetes", jupyterhub_courses_json=str(courses)), monkeypatch, tmp_path)
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"

    class FakeSpawner:
        class user:
            name = "nosuchuser-coursehub"

    profiles = c.KubeSpawner.profile_list(FakeSpawner)
    assert [p["slug"] for p in profiles] == ["personal", "x2026"]
    assert profiles[1]["kubespawner_override"]["volumes"][0]["nfs"]["path"] == "/srv/c/x2026/data"


def test_database_sqlite_by_default(monkeypatch, tmp_path):
    c = load(render(), monkeypatch, tmp_path)
    assert c.JupyterHub.db_url == "sqlite:////var/lib/jupyterhub/jupyterhub.sqlite"


def test_database_postgresql_reads_its_password_from_the_state_dir(monkeypatch, tmp_path):
    (tmp_path / "db-password").write_text("p@ss/w:rd\n")
    c = load(render(jupyterhub_db="postgresql", jupyterhub_state_dir=str(tmp_path)), monkeypatch, tmp_path)
    # Quoted, so a password with URL characters still parses; never in the rendered file.
    assert c.JupyterHub.db_url == "postgresql+psycopg2://jupyterhub:p%40ss%2Fw%3Ard@127.0.0.1:5432/jupyterhub"
    assert "p@ss" not in render(jupyterhub_db="postgresql", jupyterhub_state_dir=str(tmp_path))
    requirements = jinja2.Environment(loader=jinja2.FileSystemLoader(str(ROLE / "templates")), trim_blocks=True)
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(jupyterhub_db="postgresql", ansible_managed="x")
    requirements.filters["comment"] = lambda text: "# " + text
    assert "psycopg2-binary==" in requirements.get_template("requirements.txt.j2").render(**variables)
