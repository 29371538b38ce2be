"""The hub's configuration takes effect: a throttled spawn's Retry-After falls in
jupyterhub_spawn_retry_range (the demo's [3, 10], not JupyterHub's 30-60), and
the log of the hub's current run, with a server spawned in it, has no option
JupyterHub did not recognise and no user_options the spawner left unhandled.

The throttle test restarts the hub twice (users' servers keep running): once
with a drop-in that lowers concurrent_spawn_limit to 1, and once without it."""
import threading
import time

import pytest
from conftest import HubSession

RETRY_RANGE = (3, 10)  # the demo inventory's jupyterhub_spawn_retry_range (role default)
DROP_IN = "/etc/jupyterhub/jupyterhub_config.d/zz-molecule-throttle.py"
# The last start of the hub: its systemd invocation, so older runs' lines do not count.
CURRENT_RUN = "journalctl -u jupyterhub -o cat _SYSTEMD_INVOCATION_ID=$(systemctl show -p InvocationID --value jupyterhub)"


def restart_hub(host, ca_file):
    assert host.run("systemctl restart jupyterhub").rc == 0
    deadline = time.monotonic() + 90
    probe = HubSession(ca_file)
    try:
        while time.monotonic() < deadline:
            try:
                if probe.get(probe.url("/hub/api")).status_code == 200:
                    return
            except OSError:
                pass
            time.sleep(1)
    finally:
        probe.close()
    raise AssertionError("the hub did not come back after a restart")


def session_for(user, ca_file, password):
    session = HubSession(ca_file)
    assert session.login(user, password).status_code == 302, f"{user} could not log in"
    session.stop(user)
    return session


@pytest.fixture
def one_spawn_at_a_time(host, ca_file):
    host.run(f"printf '%s\\n' 'c.JupyterHub.concurrent_spawn_limit = 1' > {DROP_IN}")
    try:
        restart_hub(host, ca_file)
        yield
    finally:
        host.run(f"rm -f {DROP_IN}")
        restart_hub(host, ca_file)


def test_a_throttled_spawn_retries_within_the_configured_range(one_spawn_at_a_time, ca_file, password):
    first, second = session_for("student3", ca_file, password), session_for("outsider1", ca_file, password)
    try:
        started = {}
        spawning = threading.Thread(target=lambda: started.update(response=first.spawn("mlbp2026")))
        spawning.start()
        # While student3's server is starting, a second spawn is over the limit of 1.
        deadline = time.monotonic() + 20
        refused = None
        while time.monotonic() < deadline and spawning.is_alive():
            user = first.get(first.url("/hub/api/user")).json()
            if user.get("pending") == "spawn" or any(s.get("pending") for s in user.get("servers", {}).values()):
                refused = second.spawn("mlbp2026")
                break
            time.sleep(0.2)
        spawning.join(timeout=120)
        assert refused is not None, "student3's spawn was never seen pending"
        assert refused.status_code == 429, refused.status_code
        retry_after = int(refused.headers["Retry-After"])
        assert RETRY_RANGE[0] <= retry_after <= RETRY_RANGE[1], f"Retry-After {retry_after} outside {RETRY_RANGE}"
    finally:
        for session, user in ((first, "student3"), (second, "outsider1")):
            session.stop(user)
            session.close()


def test_the_current_run_logs_no_unrecognised_option_nor_unhandled_user_options(host, ca_file, password):
    session = session_for("student1", ca_file, password)
    try:
        assert session.spawn("mlbp2026").status_code == 200
        session.wait_for_server("student1")
    finally:
        session.stop("student1")
        session.close()
    log = host.check_output(CURRENT_RUN)
    # The read covers the hub's start and the spawn above, or it proves nothing.
    assert "JupyterHub is now running" in log or "Hub API listening" in log, log[-2000:]
    assert "coursehub: starting mlbp2026 for student1" in log, log[-2000:]
    bad = [line for line in log.splitlines() if "not recognized" in line or "unhandled user_options" in line
           or "Unhandled user option" in line]
    assert bad == []
