"""Run inside the instance, as root, with the course environment's Python:

    rush_submit.py COURSE ASSIGNMENT STUDENT...

Each student fetches the assignment and writes an answer naming themselves;
then all of them submit at the same moment. Every step runs in a process of
its own that has become that student (uid, gid, groups, HOME, the course's
student config on JUPYTER_CONFIG_PATH), and runs nbgrader's own command line
in-process: nbgrader is imported once, before the forks, so 50 students cost
one import instead of fifty. Prints one JSON line: each student's exit codes,
and how long the simultaneous submit took.
"""
import json
import os
import pwd
import sys
import time
import traceback

from nbgrader.apps.nbgraderapp import NbGraderApp

COURSE, ASSIGNMENT, STUDENTS = sys.argv[1], sys.argv[2], sys.argv[3:]
LOGS = "/tmp/rush-logs"


def become(user):
    entry = pwd.getpwnam(user)
    os.setgroups(os.getgrouplist(user, entry.pw_gid))
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    os.environ.update(HOME=entry.pw_dir, USER=user, LOGNAME=user,
                      JUPYTER_CONFIG_PATH=f"/etc/coursehub/nbgrader/{COURSE}/student")
    os.chdir(entry.pw_dir)


def answer(user):
    """Put the student's name into the solution cell, as they would type it."""
    path = os.path.join(COURSE, ASSIGNMENT, f"{ASSIGNMENT}.ipynb")
    with open(path) as handle:
        notebook = json.load(handle)
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = f"answer = {user!r}  # ANSWER-{user}\n"
    with open(path, "w") as handle:
        json.dump(notebook, handle)


def as_student(user, phase, ready=None, gate=None, parents_ends=()):
    """Fork a process that becomes user and runs phase; returns its pid."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    for fd in parents_ends:  # or the gate would never see its last writer go
        os.close(fd)
    log = os.open(f"{LOGS}/{user}.{phase}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        become(user)
        if phase == "fetch":
            NbGraderApp.launch_instance(argv=["fetch_assignment", ASSIGNMENT, "--course", COURSE])
        else:
            answer(user)
            os.write(ready, b".")
            os.read(gate, 1)  # returns when the parent opens the gate: everyone at once
            NbGraderApp.launch_instance(argv=["submit", ASSIGNMENT, "--course", COURSE])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def wait_all(pids):
    return {user: os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for user, pid in pids.items()}


def main():
    os.makedirs(LOGS, mode=0o700, exist_ok=True)
    fetched = wait_all({user: as_student(user, "fetch") for user in STUDENTS})
    ready_r, ready_w = os.pipe()
    gate_r, gate_w = os.pipe()
    pids = {user: as_student(user, "submit", ready_w, gate_r, (ready_r, gate_w))
            for user in STUDENTS if fetched[user] == 0}
    os.close(ready_w)
    os.close(gate_r)
    waiting = 0
    while waiting < len(pids):  # every student has answered and waits at the gate
        chunk = os.read(ready_r, 64)
        if not chunk:
            break
        waiting += len(chunk)
    started = time.monotonic()
    os.close(gate_w)
    submitted = wait_all(pids)
    print(json.dumps({"fetch": fetched, "submit": submitted, "waiting_at_gate": waiting,
                      "submit_seconds": round(time.monotonic() - started, 2)}))


if __name__ == "__main__":
    main()
