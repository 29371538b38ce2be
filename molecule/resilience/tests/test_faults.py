"""Faults (issue 9): ansible-playbook killed in the middle of a converge, the
proxy and the hub restarted under live sessions, and 50 students submitting
at once. Nothing may be lost, and a rerun must converge.

The kill tests add a batch of courses per kill point (cumulatively, so each
rerun keeps the batches before it) and kill the controller, and with it the
module running on the instance, at that point. The rerun must succeed, a
check run after it must find nothing left to change, every killed course must
end up exactly like a reference course converged without interruption, and
the files users wrote before must be unchanged.
"""
import json
import os
import random
import signal
import string
import subprocess
import time

import pytest
from conftest import BASE_URL, INSTANCE, PROJECT, HubSession, playbook_command, playbook_env, record
from recap import changed

PLAY = "playbooks/courses.yml"
BATCH = 48  # courses per kill point: enough for the directories module to take a while
PAIRS = [a + b for a in string.ascii_lowercase for b in string.ascii_lowercase]
# New courses each run (a rerun of verify on the same instance must not find them made).
RUN = "".join(random.choices(string.ascii_lowercase, k=2))
REFERENCE, PUBLIC, PRIVATE = f"r{RUN}f", f"r{RUN}faa2026", f"r{RUN}fad2026"


def batch(prefix, size=BATCH):
    """size synthetic courses: two instructors; every fourth private with a student list."""
    courses = {}
    for i in range(size):
        slug = f"{prefix}{PAIRS[i]}2026"
        private = i % 4 == 3
        courses[f"course_{slug}"] = {
            "name": "Fault drill", "state": "private" if private else "public",
            "owner": "teacher1", "instructors": ["teacher1", "teacher2"],
            "students": ["student1"] if private else [],
            "start": "2026-09-01", "end": "2026-12-18",
        }
    return courses


def slugs(courses):
    return sorted(name[len("course_"):] for name in courses)


def course_state(host, slug):
    """One course's managed state with its slug taken out, to compare courses with each other."""
    trees = f"/srv/coursehub/course/{slug} /srv/nbgrader/exchange/{slug} /etc/coursehub/nbgrader/{slug}"
    text = host.check_output(
        f"getent group jupyter-{slug} | cut -d: -f1,4; "
        f"for t in {trees}; do find $t -printf '%P %u %g %m %s\\n' | sort; done; "
        f"getfacl -R -p -s {trees} 2>/dev/null | sed 's|^# file: [^ ]*{slug}|# file: |'"
    )
    profile = json.loads(host.file("/etc/jupyterhub/courses.json").content_string)["courses"].get(slug)
    return text.replace(slug, "SLUG"), json.dumps(profile, sort_keys=True).replace(slug, "SLUG")


def user_files(host):
    """Checksums of the files users wrote into courses (the fixture below writes them)."""
    return host.check_output("find /srv/coursehub/course -name 'user-work-*' -type f -print0 | sort -z "
                             "| xargs -0r sha256sum")


def write_user_work(host, slug, tag):
    base = f"/srv/coursehub/course/{slug}"
    host.check_output(f"runuser -u teacher1 -- sh -c 'head -c 20000 /dev/urandom > {base}/files/user-work-{tag}'")
    host.check_output(f"runuser -u teacher1 -- sh -c 'head -c 20000 /dev/urandom > {base}/data/user-work-{tag}'")


@pytest.fixture(scope="module")
def drill(host, inventory, run_playbook, tmp_path_factory):
    """Reference courses (a public and a private one) converged in one go; the batches so
    far; an extra-vars writer."""
    work = tmp_path_factory.mktemp("faults")
    state = {"courses": batch(REFERENCE, 4), "work": work}

    def extra(courses):
        path = work / f"extra-{len(list(work.iterdir()))}.json"
        path.write_text(json.dumps(courses))
        return str(path)

    state["extra"] = extra
    done = run_playbook(PLAY, "-e", f"@{extra(state['courses'])}")
    assert done.returncode == 0, done.stdout[-3000:]
    state["reference"] = {"public": course_state(host, PUBLIC), "private": course_state(host, PRIVATE)}
    write_user_work(host, "mlbp2026", "sample")
    write_user_work(host, f"r{RUN}fab2026", "reference")
    yield state
    # Back to the sample courses alone (the drill's groups and directories stay: nothing is deleted).
    assert run_playbook(PLAY).returncode == 0


def killed_converge(host, inventory, extra_vars, point, prefix):
    """Run the courses play and kill it at point; returns (output so far, what the instance had then)."""
    command = playbook_command(inventory, PLAY, "-e", f"@{extra_vars}")
    env = dict(playbook_env(), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    trigger, then = KILL_POINTS[point]
    output = []
    try:
        for line in proc.stdout:
            output.append(line)
            if f"TASK [courses : {trigger}" in line:
                then(host, prefix)
                break
        else:
            pytest.fail(f"the play ended before {point}:\n{''.join(output)[-2000:]}")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        # The controller is gone; kill what it left running on the instance too, as a crash would.
        host.run("pkill -9 -f '[A]nsiballZ_'; sleep 0.5")
    return "".join(output)


def wait_for_some_directories(host, prefix):
    """In the instance: wait until the directories module has made the first third of the
    batch (but not all of it), so the kill lands in the middle of its work."""
    pending = host.run(
        "for i in $(seq 1 600); do "
        f"  n=$(ls -1 /srv/coursehub/course | grep -c '^{prefix}'); "
        f"  if [ \"$n\" -ge {BATCH // 3} ]; then pkill -9 -f '[A]nsiballZ_jupyter_course_dirs'; echo $n; exit 0; fi; "
        "  sleep 0.01; "
        "done; exit 1"
    )
    assert pending.rc == 0, "the directories module never got going"


KILL_POINTS = {
    # The directories task's header is printed once the groups module has returned.
    "after groups": ("Reconcile course directories", lambda host, prefix: None),
    "mid directories": ("Reconcile course directories", wait_for_some_directories),
    "before profiles": ("Write the hub's course profiles", lambda host, prefix: None),
}


@pytest.mark.parametrize("point,prefix", [("after groups", f"k{RUN}g"), ("mid directories", f"k{RUN}d"),
                                          ("before profiles", f"k{RUN}p")],
                         ids=["after-groups", "mid-directories", "before-profiles"])
def test_killed_converge_reruns_to_the_same_state(host, inventory, run_playbook, drill, point, prefix):
    new = batch(prefix)
    drill["courses"].update(new)
    extra = drill["extra"](drill["courses"])
    files_before = user_files(host)

    output = killed_converge(host, inventory, extra, point, prefix)
    made_groups = sum(host.group(f"jupyter-{slug}").exists for slug in slugs(new))
    made_dirs = int(host.check_output(f"ls -1 /srv/coursehub/course | grep -c '^{prefix}' || true") or 0)
    profiled = len(set(slugs(new)) & set(json.loads(host.file("/etc/jupyterhub/courses.json").content_string)
                                         ["courses"]))
    assert "PLAY RECAP" not in output, "the play was not killed"
    assert profiled == 0, "the kill came after the profiles were written"
    if point == "after groups":
        assert made_groups == BATCH and made_dirs < BATCH, (made_groups, made_dirs)
    elif point == "mid directories":
        assert made_groups == BATCH and 0 < made_dirs < BATCH, (made_groups, made_dirs)
    else:
        assert made_groups == BATCH and made_dirs == BATCH, (made_groups, made_dirs)

    rerun = run_playbook(PLAY, "-e", f"@{extra}")
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    check = run_playbook(PLAY, "--check", "-e", f"@{extra}")
    assert check.returncode == 0 and changed(check.stdout, INSTANCE) == 0, check.stdout[-3000:]

    differing = [slug for slug in slugs(new)
                 if course_state(host, slug) != drill["reference"][new[f"course_{slug}"]["state"]]]
    lost = files_before != user_files(host)
    record(f"kill {point}", courses=BATCH, groups_at_kill=made_groups, dirs_at_kill=made_dirs,
           profiles_at_kill=profiled, rerun_changed=changed(rerun.stdout, INSTANCE),
           check_changed_after=changed(check.stdout, INSTANCE), state_differences=len(differing),
           user_files_lost=int(lost))
    assert not differing, f"{len(differing)} courses differ from the reference, e.g. {differing[:3]}"
    assert not lost, "files users wrote changed"


def unit_property(host, unit, name):
    return host.check_output(f"systemctl show {unit} -p {name} --value").strip()


def seconds_until_ok(session, url, timeout=90):
    """Poll url through the proxy until it answers 200; the seconds that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if session.get(url, timeout=5).status_code == 200:
                return round(time.monotonic() - started, 1)
        except OSError:
            pass  # the proxy is not listening yet
        time.sleep(0.5)
    raise AssertionError(f"{url} did not answer in {timeout} s")


def seconds_until_route_back(session, user):
    """Poll the user's server through the proxy until it answers again."""
    return seconds_until_ok(session, session.server_url(user, "api/status"))


LIVE = {"student1": "mlbp2026", "student2": "privsec2026", "teacher1": "mlbp2026:instructor"}


@pytest.fixture(scope="module")
def live_sessions(ca_file, password):
    """Three users with running servers, each with a kernel open, as after a morning's work."""
    sessions = {}
    for user, choice in LIVE.items():
        session = HubSession(ca_file, BASE_URL)
        assert session.login(user, password).status_code == 302
        session.stop(user)
        assert session.spawn(choice).status_code == 200, f"{user} could not start {choice}"
        session.wait_for_server(user)
        kernel = session.post(session.server_url(user, "api/kernels"), json={},
                              headers={"X-XSRFToken": session.server_xsrf(user)})
        assert kernel.status_code == 201, kernel.text[:300]
        sessions[user] = (session, kernel.json()["id"])
    yield sessions
    for user, (session, _) in sessions.items():
        session.stop(user)
        session.close()


def test_proxy_then_hub_restart_keep_servers_kernels_and_routes(host, live_sessions):
    units = {user: f"jupyter-{user}-singleuser" for user in LIVE}
    invocations = {user: unit_property(host, unit, "InvocationID") for user, unit in units.items()}
    back = {}
    for service in ("configurable-http-proxy", "jupyterhub"):
        pid = unit_property(host, service, "MainPID")
        host.check_output(f"systemctl restart {service}.service")
        assert unit_property(host, service, "MainPID") != pid, f"{service} did not restart"
        back[service] = max(seconds_until_route_back(session, user) for user, (session, _) in live_sessions.items())
        for user, (session, kernel) in live_sessions.items():
            # The same server (not a respawn), with the kernel the user had open.
            assert unit_property(host, units[user], "InvocationID") == invocations[user], f"{user} was respawned"
            alive = session.get(session.server_url(user, f"api/kernels/{kernel}"))
            assert alive.status_code == 200, f"{user}'s kernel is gone after restarting {service}"
    # The hub is up again for what follows (its API answers once it has started).
    session = next(iter(live_sessions.values()))[0]
    assert seconds_until_ok(session, session.url("/hub/api")) < 60
    record("restart under live sessions", servers=len(LIVE), kernels_kept=len(LIVE), servers_respawned=0,
           proxy_restart_routes_back_s=back["configurable-http-proxy"], hub_restart_routes_back_s=back["jupyterhub"])
