"""End to end over HTTPS through the published loopback port, as a browser would."""
import time

import pytest

USER = "student1"
UNIT = f"jupyter-{USER}-singleuser"


def unit_property(host, unit, name):
    return host.check_output(f"systemctl show {unit} -p {name} --value").strip()


def test_wrong_password_is_refused_and_spawns_nothing(hub, host):
    response = hub.login("student2", "not-the-password")
    assert response.status_code == 403
    # The login cookie is __Host-jupyterhub-hub-login when the hub has subdomain_host.
    assert not any(c.name.endswith("jupyterhub-hub-login") for c in hub.cookies), list(hub.cookies)
    assert hub.get(hub.url("/hub/api/user")).status_code == 403
    assert not host.service("jupyter-student2-singleuser").is_running


def test_unknown_user_is_refused(hub):
    assert hub.login("nosuchuser", "whatever").status_code == 403


@pytest.fixture(scope="module")
def spawned(ca_file, password, host):
    """student1 logs in through the form and starts a server."""
    from conftest import HubSession

    session = HubSession(ca_file)
    response = session.login(USER, password)
    assert response.status_code == 302, f"login failed: {response.status_code}"
    assert response.headers["Location"].endswith("/hub/home")
    session.stop(USER)
    spawn = session.spawn("personal")
    assert spawn.status_code == 200, spawn.status_code
    status = session.wait_for_server(USER)
    yield session, status
    session.stop(USER)
    session.close()


def test_server_answers_status(spawned):
    _, status = spawned
    assert "started" in status.json()


def test_server_unit_has_limits(spawned, host):
    assert host.service(f"{UNIT}.service").is_running
    assert unit_property(host, UNIT, "MemoryMax") == str(2 * 1024**3)
    assert unit_property(host, UNIT, "CPUQuotaPerSecUSec") == "4s"
    assert unit_property(host, UNIT, "User") in (USER, str(host.user(USER).uid))


def test_hub_restart_keeps_server_and_route(spawned, host):
    session, _ = spawned
    before = unit_property(host, UNIT, "InvocationID")
    hub_pid = unit_property(host, "jupyterhub", "MainPID")
    host.check_output("systemctl restart jupyterhub.service")
    assert unit_property(host, "jupyterhub", "MainPID") != hub_pid, "the hub did not restart"
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        status = session.get(session.server_url(USER, "api/status"))
        if status.status_code == 200:
            break
        time.sleep(1)
    assert status is not None and status.status_code == 200, "the route was lost"
    assert unit_property(host, UNIT, "InvocationID") == before, "the server was respawned"


def test_proxy_api_refuses_anonymous(host):
    out = host.check_output(
        "python3 -c 'import urllib.request,urllib.error\n"
        "try:\n urllib.request.urlopen(\"http://127.0.0.1:8001/api/routes\")\n print(200)\n"
        "except urllib.error.HTTPError as e:\n print(e.code)'"
    )
    assert out.strip() == "403"
