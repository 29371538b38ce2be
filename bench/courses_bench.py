#!/usr/bin/env python3
"""Benchmark: reconcile N courses on a host, and what that costs done naively.

    python3 bench/courses_bench.py [--n 200] [--naive-n 10] [--students 300] [--count-n 400] [--keep]

It is a benchmark, not a test.  It starts a throwaway systemd container
(``coursehub-bench``, from ``coursehub-base:bookworm``), installs acl and git
in it, creates every user the generated courses name (in one go, by
appending to /etc/passwd and /etc/shadow), and times, against that container:

a. the first converge of playbooks/courses.yml for N generated courses;
b. an idempotent rerun (must report changed=0 and no groupadd, groupdel,
   useradd, usermod, gpasswd or setfacl: the modules return the ``commands``
   they ran, read here from the ansible.posix.json callback);
c. a rerun after one instructor of one course was swapped;
d. bench/naive_courses.yml (the anti-pattern: ansible.builtin.group, user,
   file, lineinfile, command and ansible.posix.acl in loops) at a small N,
   first converge and rerun, next to playbooks/courses.yml at the same small N
   (its own course set); the naive times are extrapolated linearly to N;
e. a floor: a plain Python script piped into ``docker exec ... python3 -``
   that only reads the same state (one getgrall and getpwall, lstat and the
   two ACL xattrs of every wanted directory), and the bare cost of
   ``docker exec ... python3 -c pass``;
f. the number of tasks (and module calls, counting loop items) of a
   ``--check`` run of playbooks/courses.yml for 4 and for --count-n courses.

Every fourth course is private and lists --students students.  The smoke run
in molecule/default/tests/test_bench_smoke.py uses the smallest sizes.

The course files go to a temporary inventory's group_vars/courses/, and the
playbook (with course-files.yml, which it imports) is copied next to that
inventory, so the repository's sample courses (playbooks/group_vars ->
../group_vars) are never loaded; the run checks that
courses.json lists exactly the generated slugs.  Results are printed as a
table and written to bench/results/courses-<date>.json (git-ignored).
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from module_utils import course_model  # noqa: E402 - needs the path above

CONTAINER = "coursehub-bench"
IMAGE = "coursehub-base:bookworm"
DOCKER_RUN = ["docker", "run", "-d", "--name", CONTAINER, "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN",
              "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined", "--cgroupns=host",
              "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock",
              IMAGE, "/lib/systemd/systemd"]
# Tools that change accounts or ACLs; an unchanged run must start none of them.
ACCOUNT_TOOLS = ("groupadd", "groupdel", "groupmod", "useradd", "usermod", "gpasswd", "setfacl")
INSTRUCTORS = 5
STUDENTS = 300          # listed by each private course (--students)
POOL_FACTOR = 10        # private courses draw overlapping lists from a pool 10 times that
COUNT_SMALL = 4         # phase f compares the task count for this many courses with --count-n
SPARE = "spare0001"     # the instructor swapped in by phase c
# Each course set gets its own slugs, gids and dataset, so the sets do not
# disturb each other in the one container; users are shared by index.
GID_BASE = {"bench": 100000, "small": 200000, "naive": 300000, "count": 400000}
NAIVE_PROFILES = "/etc/jupyterhub/courses-naive.json"
# Copied into each workspace: courses.yml and the playbooks it imports from its own directory.
PLAYBOOKS = ("courses.yml", "course-files.yml")


# --------------------------------------------------------------------------
# Generated courses
# --------------------------------------------------------------------------

def slug(prefix, i):
    """'bench0042c2026': matches SLUG_RE and leaves 'jupyter-<slug>-students' within 32 characters."""
    return "%s%04dc2026" % (prefix, i)


def instructors(i):
    return ["inst%05d" % (i * INSTRUCTORS + k) for k in range(INSTRUCTORS)]


def students(i, per_course=STUDENTS):
    """Every fourth course is private and lists per_course students; lists of neighbours overlap by half."""
    if i % 4:
        return []
    offset = (i // 4) * (per_course // 2)
    return ["stud%05d" % ((offset + s) % (per_course * POOL_FACTOR)) for s in range(per_course)]


def course_body(prefix, i, per_course=STUDENTS):
    staff = instructors(i)
    body = {
        "name": "Benchmark course %d" % i,
        "state": "private" if i % 4 == 0 else "public",
        "owner": staff[0],
        "deputies": [staff[1]],
        "instructors": staff,
        "students": students(i, per_course),
        "gid": GID_BASE[prefix] + i,
        "resources": {"memory": "2G", "cpus": 2},
        "shareddata": ["%s-data" % prefix] if i % 20 == 0 else [],
        "start": "2026-09-01",
        "end": "2026-12-18",
    }
    if not body["students"]:
        del body["students"]
    return body


def course_set(prefix, count, per_course=STUDENTS):
    """{'course_<slug>': body} for count courses."""
    return {"course_" + slug(prefix, i): course_body(prefix, i, per_course) for i in range(count)}


def users_for(count, per_course=STUDENTS):
    """Every account the courses 0..count-1 name, plus the spare instructor."""
    names = {SPARE}
    for i in range(count):
        names.update(instructors(i))
        names.update(students(i, per_course))
    return sorted(names)


def validated(course_vars, courses_dir):
    courses, problems = course_model.courses_from_vars(course_vars, courses_dir)
    if problems:
        raise SystemExit("generated courses are invalid:\n" + "\n".join(str(p) for p in problems[:20]))
    return courses


def write_course_files(directory, course_vars):
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        os.unlink(os.path.join(directory, name))
    for key, body in course_vars.items():
        with open(os.path.join(directory, key[len("course_"):] + ".yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump({key: body}, handle, sort_keys=False)


# --------------------------------------------------------------------------
# Container
# --------------------------------------------------------------------------

def sh(argv, check=True, **kwargs):
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)
    if check and done.returncode != 0:
        raise SystemExit("%s: rc %d\n%s" % (" ".join(argv)[:200], done.returncode, (done.stderr or done.stdout)[-2000:]))
    return done


def container_exists():
    return sh(["docker", "ps", "-a", "--filter", "name=^/%s$" % CONTAINER, "--format", "{{.Names}}"]
              ).stdout.strip() == CONTAINER


def start_container():
    if container_exists():
        sh(["docker", "rm", "-f", CONTAINER])
    sh(DOCKER_RUN)
    # Right after the start, name resolution inside may not work yet: retry the update.
    for attempt in range(10):
        if sh(["docker", "exec", CONTAINER, "apt-get", "update", "-q"], check=False).returncode == 0:
            break
        time.sleep(1 + attempt)
    sh(["docker", "exec", "-e", "DEBIAN_FRONTEND=noninteractive", CONTAINER,
        "apt-get", "install", "-y", "-q", "acl", "git"])


def exec_python(script):
    """Run a Python script inside the container via stdin; (wall seconds, stdout)."""
    started = time.perf_counter()
    done = sh(["docker", "exec", "-i", CONTAINER, "python3", "-"], input=script)
    return time.perf_counter() - started, done.stdout


USERS_SCRIPT = r"""
import json
names = json.loads(%r)
known = {line.split(":", 1)[0] for line in open("/etc/passwd")}
new = [n for n in names if n not in known]
with open("/etc/passwd", "a") as passwd, open("/etc/shadow", "a") as shadow:
    for uid, name in enumerate(new, 20000):
        passwd.write("%%s:x:%%d:100::/nonexistent:/usr/sbin/nologin\n" %% (name, uid))
        shadow.write("%%s:!:20000:0:99999:7:::\n" %% name)
print(len(new))
"""

FLOOR_SCRIPT = r"""
import grp, json, os, pwd, time
paths = json.loads(%r)
started = time.perf_counter()
groups = {g.gr_name: (g.gr_gid, g.gr_mem) for g in grp.getgrall()}
users = {p.pw_name for p in pwd.getpwall()}
found = 0
for path in paths:
    try:
        os.lstat(path)
    except FileNotFoundError:
        continue
    found += 1
    for name in ("system.posix_acl_access", "system.posix_acl_default"):
        try:
            os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            pass
print(json.dumps({"inner_seconds": time.perf_counter() - started, "groups": len(groups), "dirs": found}))
"""


def create_users(names):
    seconds, out = exec_python(USERS_SCRIPT % json.dumps(names))
    return seconds, int(out.strip())


def best_of(runs, func):
    return min(func() for _ in range(runs))


# --------------------------------------------------------------------------
# Ansible runs
# --------------------------------------------------------------------------

class Workspace:
    """A temp dir with a copy of playbooks/courses.yml and an inventory whose group_vars hold the courses."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        self.inventory = os.path.join(self.dir, "inventory")
        self.courses_dir = os.path.join(self.inventory, "group_vars", "courses")
        os.makedirs(self.courses_dir)
        self.playbook = os.path.join(self.dir, "courses.yml")
        for name in PLAYBOOKS:
            shutil.copy(os.path.join(REPO, "playbooks", name), self.dir)
        inventory = {"all": {"children": {
            "hub": {"hosts": {CONTAINER: {"ansible_connection": "community.docker.docker",
                                          "ansible_python_interpreter": "/usr/bin/python3"}}},
            "courses": {"children": {"hub": None}, "vars": {"courses_dir": self.courses_dir}}}}}
        with open(os.path.join(self.inventory, "hosts.yml"), "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle, sort_keys=False)

    def write(self, course_vars):
        write_course_files(self.courses_dir, course_vars)


def ansible_env():
    env = dict(os.environ)
    env.update(
        PATH=os.path.join(REPO, ".venv", "bin") + os.pathsep + env.get("PATH", ""),
        ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
        ANSIBLE_ROLES_PATH=os.path.join(REPO, "roles"),
        ANSIBLE_LIBRARY=os.path.join(REPO, "library"),
        ANSIBLE_MODULE_UTILS=os.path.join(REPO, "module_utils"),
        ANSIBLE_FILTER_PLUGINS=os.path.join(REPO, "filter_plugins"),
        ANSIBLE_DOC_FRAGMENT_PLUGINS=os.path.join(REPO, "doc_fragments"),
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
    )
    return env


def walk_results(report):
    """(task name, host result) for every task and host of an ansible.posix.json report."""
    for play in report.get("plays", []):
        for task in play.get("tasks", []):
            for result in task.get("hosts", {}).values():
                yield task["task"]["name"], result


def summarise(report):
    stats = report["stats"].get(CONTAINER, {})
    commands, tasks, calls = [], 0, 0
    for _, result in walk_results(report):
        tasks += 1
        items = result.get("results") if isinstance(result.get("results"), list) else None
        calls += len(items) if items is not None else 1
        for part in (items or [result]):
            commands.extend(part.get("commands") or [])
    tools = [c for c in commands if c.split(" ", 1)[0] in ACCOUNT_TOOLS]
    return {"changed": stats.get("changed", 0), "ok": stats.get("ok", 0), "failures": stats.get("failures", 0),
            "tasks": tasks, "module_calls": calls, "commands": len(commands), "account_tool_commands": len(tools),
            "command_kinds": sorted({c.split(" ", 1)[0] for c in commands})}


def run_playbook(playbook, inventory, extra=(), var_files=()):
    argv = ["ansible-playbook", playbook, "-i", inventory] + list(extra)
    for path in var_files:
        argv += ["-e", "@" + path]
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ansible_env(),
                          cwd=REPO)
    seconds = time.perf_counter() - started
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise SystemExit("%s: no JSON report (rc %d)\n%s\n%s" % (" ".join(argv), done.returncode,
                                                                done.stdout[-3000:], done.stderr[-3000:]))
    summary = summarise(report)
    if done.returncode != 0 or summary["failures"]:
        failed = [(name, result.get("msg")) for name, result in walk_results(report) if result.get("failed")]
        raise SystemExit("%s failed (rc %d): %s\n%s" % (" ".join(argv), done.returncode, failed[:3],
                                                        done.stderr[-3000:]))
    summary["seconds"] = round(seconds, 2)
    return summary, report


def profile_slugs(report):
    for name, result in walk_results(report):
        if name.endswith("Write the hub's course profiles"):
            return result.get("courses")
    return None


# --------------------------------------------------------------------------
# The naive baseline's data, derived from the same model
# --------------------------------------------------------------------------

def naive_vars(courses):
    settings = course_model.merged_settings()
    groups = course_model.desired_groups(courses)
    memberships = {}
    for group in groups:
        for member in group["members"]:
            memberships.setdefault(member, []).append(group["name"])
    dirs = course_model.desired_dirs(courses)
    acls = []
    for entry in dirs:
        for text, default in [(t, False) for t in entry["acl"]] + [(t, True) for t in entry["default_acl"]]:
            tag, name, perms = text.split(":")
            acls.append({"path": entry["path"], "etype": tag, "entity": name, "permissions": perms,
                         "default": default})
    return {
        "naive_groups": [{"name": g["name"], "gid": g["gid"]} for g in groups],
        "naive_users": [{"name": user, "groups": sorted(names)} for user, names in sorted(memberships.items())],
        "naive_dirs": [{"path": d["path"], "owner": d["owner"], "group": d["group"], "mode": d["mode"]}
                       for d in dirs],
        "naive_acls": acls,
        "naive_repos": [d["path"] for d in dirs if d["git"]],
        "naive_gitignore": list(settings["course_gitignore"]),
        "naive_readmes": [{"path": d["path"] + "/README.md", "content": d["readme"]} for d in dirs if d["readme"]],
        "naive_profiles": course_model.desired_profiles(courses),
        "naive_profiles_dest": NAIVE_PROFILES,
    }


# --------------------------------------------------------------------------
# Phases
# --------------------------------------------------------------------------

def bench(args, tmp, rows, results):
    def row(phase, n, summary, note=""):
        rows.append({"phase": phase, "n": n, "seconds": summary["seconds"], "changed": summary["changed"],
                     "commands": summary.get("commands"), "account_tools": summary.get("account_tool_commands"),
                     "tasks": summary.get("tasks"), "module_calls": summary.get("module_calls"), "note": note})
        print("  %-28s N=%-4d %7.2f s  changed=%s commands=%s" % (phase, n, summary["seconds"], summary["changed"],
                                                                  summary.get("commands")), flush=True)

    print("container: starting %s and installing acl, git" % CONTAINER, flush=True)
    started = time.perf_counter()
    start_container()
    results["setup_seconds"] = round(time.perf_counter() - started, 1)

    names = users_for(max(args.n, args.naive_n), args.students)
    seconds, created = create_users(names)
    results["users"] = {"created": created, "seconds": round(seconds, 2), "instructors_per_course": INSTRUCTORS,
                        "students_per_private_course": args.students,
                        "student_pool": args.students * POOL_FACTOR}
    print("users: %d created in %.2f s (one docker exec)" % (created, seconds), flush=True)

    # a-c: the modules at N
    main = Workspace(tmp, "main")
    course_vars = course_set("bench", args.n, args.students)
    courses = validated(course_vars, main.courses_dir)
    main.write(course_vars)
    memberships = sum(len(g["members"]) for g in course_model.desired_groups(courses))
    dirs = course_model.desired_dirs(courses)
    results["courses"] = {"n": args.n, "private": sum(c["state"] == "private" for c in courses),
                          "groups": len(course_model.desired_groups(courses)), "memberships": memberships,
                          "dirs": len(dirs)}
    print("courses: %(n)d (%(private)d private), %(groups)d groups, %(memberships)d memberships, %(dirs)d dirs"
          % results["courses"], flush=True)

    summary, report = run_playbook(main.playbook, main.inventory)
    slugs = profile_slugs(report)
    if slugs != sorted(slug("bench", i) for i in range(args.n)):
        raise SystemExit("courses.json does not list exactly the generated courses: %r" % (slugs or [])[:8])
    row("a. first converge", args.n, summary)

    summary, _ = run_playbook(main.playbook, main.inventory)
    row("b. idempotent rerun", args.n, summary)
    results["rerun"] = summary

    swapped = json.loads(json.dumps(course_vars))
    body = swapped["course_" + slug("bench", 1)]
    body["instructors"][-1] = SPARE
    main.write(swapped)
    summary, _ = run_playbook(main.playbook, main.inventory)
    row("c. one instructor swapped", args.n, summary)
    results["one_change"] = summary

    # e: the floor
    script = FLOOR_SCRIPT % json.dumps([d["path"] for d in dirs])
    floor_runs = []
    for _ in range(5):
        seconds, out = exec_python(script)
        floor_runs.append((seconds, json.loads(out)))
    floor_seconds, floor_out = min(floor_runs, key=lambda r: r[0])
    transport = best_of(5, lambda: exec_python("pass\n")[0])
    results["floor"] = {"seconds": round(floor_seconds, 3), "inner_seconds": round(floor_out["inner_seconds"], 4),
                        "dirs_read": floor_out["dirs"], "groups_read": floor_out["groups"],
                        "docker_exec_python_pass_seconds": round(transport, 3)}
    rows.append({"phase": "e. floor: read state in one docker exec", "n": args.n, "seconds": round(floor_seconds, 2),
                 "changed": 0, "commands": 0, "note": "inside the container: %.3f s" % floor_out["inner_seconds"]})
    rows.append({"phase": "e. docker exec python3 -c pass", "n": 0, "seconds": round(transport, 2), "changed": 0,
                 "commands": 0, "note": "transport alone"})
    print("  floor %.2f s (inside %.3f s), docker exec python3 pass %.2f s"
          % (floor_seconds, floor_out["inner_seconds"], transport), flush=True)

    # f: tasks for 4 and --count-n courses, check mode, users missing -> warn
    counts = {}
    for n in (COUNT_SMALL, args.count_n):
        space = Workspace(tmp, "count%d" % n)
        space.write(course_set("count", n, args.students))
        summary, _ = run_playbook(space.playbook, space.inventory,
                                  ["--check", "-e", "courses_missing_users=warn"])
        counts[n] = summary
        row("f. --check, tasks=%d calls=%d" % (summary["tasks"], summary["module_calls"]), n, summary)
    results["task_count"] = {str(n): {"tasks": s["tasks"], "module_calls": s["module_calls"]} for n, s in counts.items()}

    # d: the modules and the naive loops at a small N, each with its own course set
    small = Workspace(tmp, "small")
    small.write(course_set("small", args.naive_n, args.students))
    small_first, _ = run_playbook(small.playbook, small.inventory)
    row("d. modules first converge", args.naive_n, small_first)
    small_rerun, _ = run_playbook(small.playbook, small.inventory)
    row("d. modules rerun", args.naive_n, small_rerun)

    naive = Workspace(tmp, "naive")
    naive_courses = validated(course_set("naive", args.naive_n, args.students), naive.courses_dir)
    data = naive_vars(naive_courses)
    if args.naive_from:
        # The naive loops take many minutes; reuse an earlier run's figures at the same N.
        with open(args.naive_from, encoding="utf-8") as handle:
            loaded = json.load(handle)
        earlier = loaded["naive"]
        if earlier["n"] != args.naive_n:
            raise SystemExit("--naive-from has N=%s, not --naive-n %d" % (earlier["n"], args.naive_n))
        listed = loaded.get("users", {}).get("students_per_private_course", STUDENTS)
        if listed != args.students:
            raise SystemExit("--naive-from has %s students per private course, not --students %d"
                             % (listed, args.students))
        naive_first, naive_rerun = earlier["first"], earlier["rerun"]
        results["naive_from"] = args.naive_from
        note = " (from %s)" % os.path.basename(args.naive_from)
    else:
        vars_file = os.path.join(naive.dir, "naive_vars.json")
        with open(vars_file, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        playbook = os.path.join(REPO, "bench", "naive_courses.yml")
        naive_first, _ = run_playbook(playbook, naive.inventory, var_files=[vars_file])
        naive_rerun, _ = run_playbook(playbook, naive.inventory, var_files=[vars_file])
        note = ""
    row("d. naive first converge" + note, args.naive_n, naive_first)
    row("d. naive rerun" + note, args.naive_n, naive_rerun)
    scale = float(args.n) / args.naive_n
    for phase, summary in (("first converge", naive_first), ("rerun", naive_rerun)):
        rows.append({"phase": "d. naive %s, extrapolated" % phase, "n": args.n,
                     "seconds": round(summary["seconds"] * scale, 1), "changed": None, "commands": None,
                     "note": "x %.0f (linear in courses)" % scale})
    results["naive"] = {"n": args.naive_n, "first": naive_first, "rerun": naive_rerun,
                        "items": {k: len(v) for k, v in data.items() if isinstance(v, list)},
                        "modules_first": small_first, "modules_rerun": small_rerun}

    # ratios and targets
    rerun = results["rerun"]
    ratios = {
        "naive_rerun_vs_modules_rerun_same_small_n": round(naive_rerun["seconds"] / small_rerun["seconds"], 1),
        "naive_rerun_extrapolated_vs_modules_rerun_n": round(naive_rerun["seconds"] * scale / rerun["seconds"], 1),
        "modules_rerun_vs_floor": round(rerun["seconds"] / floor_seconds, 1),
        "modules_rerun_vs_transport": round(rerun["seconds"] / transport, 1),
    }
    one = results["one_change"]
    targets = {
        "rerun <= 20 s": rerun["seconds"] <= 20,
        "rerun changed=0": rerun["changed"] == 0,
        "rerun starts no account/ACL tool": rerun["account_tool_commands"] == 0 and rerun["commands"] == 0,
        "one changed course <= 10 s": one["seconds"] <= 10,
        "naive rerun / rerun >= 50x (same small N)": ratios["naive_rerun_vs_modules_rerun_same_small_n"] >= 50,
        "naive rerun / rerun >= 50x (naive extrapolated to N)":
            ratios["naive_rerun_extrapolated_vs_modules_rerun_n"] >= 50,
        "rerun / floor <= 5x": ratios["modules_rerun_vs_floor"] <= 5,
        "tasks equal for %d and %d courses" % (COUNT_SMALL, args.count_n):
            counts[COUNT_SMALL]["tasks"] == counts[args.count_n]["tasks"]
            and counts[COUNT_SMALL]["module_calls"] == counts[args.count_n]["module_calls"],
    }
    results["ratios"], results["targets"] = ratios, targets


def print_report(rows, results):
    print()
    print("| phase | N | seconds | changed | commands |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        cell = lambda v: "-" if v is None else str(v)  # noqa: E731
        print("| %s | %s | %s | %s | %s |" % (r["phase"], r["n"], r["seconds"], cell(r["changed"]),
                                              cell(r["commands"])))
    print()
    for name, value in results.get("ratios", {}).items():
        print("ratio %s: %sx" % (name, value))
    for name, ok in results.get("targets", {}).items():
        print("target %-52s %s" % (name, "met" if ok else "NOT MET"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="courses for phases a-c and e (default 200)")
    parser.add_argument("--naive-n", type=int, default=10, help="courses for phase d (default 10)")
    parser.add_argument("--students", type=int, default=STUDENTS,
                        help="students listed by each private course (default %d)" % STUDENTS)
    parser.add_argument("--count-n", type=int, default=400,
                        help="courses for phase f, compared with %d (default 400)" % COUNT_SMALL)
    parser.add_argument("--keep", action="store_true", help="keep the container %s" % CONTAINER)
    parser.add_argument("--output", help="JSON results (default bench/results/courses-<date>.json)")
    parser.add_argument("--naive-from", metavar="JSON",
                        help="take phase d's naive figures from an earlier results file instead of rerunning them")
    args = parser.parse_args()
    if not 1 <= args.naive_n <= args.n <= 9999 or args.n < 2:
        parser.error("need 1 <= --naive-n <= --n <= 9999, and --n >= 2 (phase c changes course 1)")
    if not 1 <= args.students <= 9999 or not COUNT_SMALL < args.count_n <= 9999:
        parser.error("need 1 <= --students <= 9999 and %d < --count-n <= 9999" % COUNT_SMALL)

    rows = []
    results = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "cpus": os.cpu_count(),
               "python": platform.python_version(), "args": vars(args),
               "ansible": sh(["ansible-playbook", "--version"], env=ansible_env()).stdout.splitlines()[0],
               "load_average_before": os.getloadavg()}
    tmp = tempfile.mkdtemp(prefix="courses-bench-")
    try:
        bench(args, tmp, rows, results)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if not args.keep and container_exists():
            sh(["docker", "rm", "-f", CONTAINER])
    results["load_average_after"] = os.getloadavg()
    results["rows"] = rows
    print_report(rows, results)
    output = args.output or os.path.join(REPO, "bench", "results",
                                         "courses-%s.json" % datetime.date.today().isoformat())
    os.makedirs(os.path.dirname(output), exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=2, default=str)
    print("\nresults: %s" % os.path.relpath(output, REPO))


if __name__ == "__main__":
    main()
