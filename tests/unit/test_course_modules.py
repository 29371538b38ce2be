"""The three course modules in library/: their pure helpers, and main() against fake or temporary state.

main() runs in-process with the module arguments patched in.  The groups
module sees a fake grp/pwd and a recording run_command, so no group on this
machine is touched.  The dirs module works for real below tmp_path (tests run
as root): it chowns to the fake groups' gids, which need no /etc/group entry,
and writes ACL xattrs, read back with getfacl.  One test runs a module through
ansible itself, to prove that its module_utils travel with it.
"""

import glob
import hashlib
import grp
import importlib
import importlib.util
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
import types

import pytest
import yaml

import ansible.module_utils
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from course_helpers import REPO_ROOT, SAMPLES_DIR


def _alias(name):
    """Make module_utils/<name>.py importable as ansible.module_utils.<name>, as ansible.cfg does."""
    module = importlib.import_module("module_utils." + name)
    sys.modules["ansible.module_utils." + name] = module
    setattr(ansible.module_utils, name, module)
    return module


for _name in ("course_model", "course_acl", "course_module"):
    _alias(_name)


def _library(name):
    spec = importlib.util.spec_from_file_location("library_" + name, os.path.join(REPO_ROOT, "library", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


groups_mod = _library("jupyter_course_groups")
dirs_mod = _library("jupyter_course_dirs")
profiles_mod = _library("jupyter_course_profiles")
purge_mod = _library("jupyter_course_purge")
VENV_BIN = os.path.join(REPO_ROOT, ".venv", "bin")
HAS_GIT = shutil.which("git") is not None


def sample_courses():
    """The sample course files as Ansible hands them to a module: {course_<slug>: body}."""
    courses = {}
    for path in sorted(glob.glob(os.path.join(SAMPLES_DIR, "*.yml"))):
        with open(path, encoding="utf-8") as handle:
            courses.update(yaml.safe_load(handle))
    return courses


def run_main(module, capsys, check=False, diff=False, **args):
    """Run module.main() with args; (exit code, result dict)."""
    args.update(_ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exited:
            module.main()
    return exited.value.code, json.loads(capsys.readouterr().out)


def warnings(result):
    """The warning texts of a result (ansible 2.19 returns them as structured events)."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


class FakeSystem:
    """Stand-ins for the grp and pwd modules over dicts: {group: (gid, [members])}, {user: (uid, gid)}."""

    def __init__(self, groups=None, users=None):
        self.groups = dict(groups or {})
        self.users = dict(users or {})
        self.grp = types.SimpleNamespace(getgrall=self.getgrall,
                                         getgrnam=lambda name: self._find(self.getgrall(), 0, name),
                                         getgrgid=lambda gid: self._find(self.getgrall(), 2, gid))
        self.pwd = types.SimpleNamespace(getpwall=self.getpwall,
                                         getpwnam=lambda name: self._find(self.getpwall(), 0, name),
                                         getpwuid=lambda uid: self._find(self.getpwall(), 2, uid))

    @staticmethod
    def _find(entries, field, value):
        """The first entry whose field (0: name, 2: id) is value; KeyError like grp and pwd."""
        for entry in entries:
            if entry[field] == value:
                return entry
        raise KeyError(value)

    def getgrall(self):
        return [grp.struct_group((name, "x", gid, list(members))) for name, (gid, members) in self.groups.items()]

    def getpwall(self):
        return [pwd.struct_passwd((name, "x", uid, gid, "", "/home/" + name, "/bin/sh"))
                for name, (uid, gid) in self.users.items()]

    def run_command(self, record):
        """A run_command for AnsibleModule that applies groupadd/groupdel/gpasswd -M to the fake groups."""
        def run(module, argv, **kwargs):
            record.append(argv)
            name = argv[-1]
            if argv[0] == "groupadd":
                gid = int(argv[2]) if argv[1] == "-g" else 60000 + len(self.groups)
                self.groups[name] = (gid, [])
            elif argv[0] == "groupdel":
                del self.groups[name]
            elif argv[0] == "gpasswd":
                self.groups[name] = (self.groups[name][0], [m for m in argv[2].split(",") if m])
            return 0, "", ""
        return run


SAMPLE_USERS = {name: (1000 + i, 1000 + i) for i, name in enumerate(
    ["teacher1", "teacher2", "ta1", "student1", "student2", "student3", "outsider1"])}
SAMPLE_USERS["root"] = (0, 0)


@pytest.fixture
def fake_system(monkeypatch):
    """A FakeSystem wired into the groups module, with the sample users and no course groups yet."""
    system = FakeSystem({"root": (0, []), "users": (100, ["teacher1"])}, SAMPLE_USERS)
    system.commands = []
    monkeypatch.setattr(groups_mod, "grp", system.grp)
    monkeypatch.setattr(groups_mod, "pwd", system.pwd)
    monkeypatch.setattr(basic.AnsibleModule, "run_command", system.run_command(system.commands))
    return system


# --------------------------------------------------------------------------
# jupyter_course_groups: pure helpers
# --------------------------------------------------------------------------

def wanted(name, members, gid=None, course="x2026"):
    return {"name": name, "gid": gid, "members": members, "course": course}


def test_plan_creates_missing_groups_with_their_gid():
    actions, problems = groups_mod.plan([wanted("jupyter-x2026", ["b", "a"], 72026)], {}, {})
    assert problems == []
    assert actions == [{"op": "create", "group": "jupyter-x2026", "course": "x2026", "gid": 72026,
                        "members": ["a", "b"], "added": ["a", "b"], "removed": []}]
    assert groups_mod.commands(actions[0]) == [["groupadd", "-g", "72026", "jupyter-x2026"],
                                               ["gpasswd", "-M", "a,b", "jupyter-x2026"]]


def test_plan_membership_is_exclusive_and_one_gpasswd_per_group():
    current = {"jupyter-x2026": (72026, ["a", "old1", "old2"])}
    actions, _ = groups_mod.plan([wanted("jupyter-x2026", ["a", "b", "c"], 72026)], {}, current)
    assert [(a["added"], a["removed"]) for a in actions] == [(["b", "c"], ["old1", "old2"])]
    assert groups_mod.commands(actions[0]) == [["gpasswd", "-M", "a,b,c", "jupyter-x2026"]]


def test_plan_empties_a_group_and_creates_an_empty_one_without_gpasswd():
    actions, _ = groups_mod.plan([wanted("jupyter-x2026", []), wanted("jupyter-y2026", [], course="y2026")], {},
                                 {"jupyter-x2026": (5000, ["gone"])})
    assert [groups_mod.commands(a) for a in actions] == [[["gpasswd", "-M", "", "jupyter-x2026"]],
                                                          [["groupadd", "jupyter-y2026"]]]


def test_plan_unchanged_is_empty():
    current = {"jupyter-x2026": (72026, ["a", "b"])}
    assert groups_mod.plan([wanted("jupyter-x2026", ["b", "a"], 72026)], {}, current) == ([], [])
    # no fixed gid: whatever gid the group has is fine
    assert groups_mod.plan([wanted("jupyter-x2026", ["a", "b"])], {}, current) == ([], [])


def test_plan_never_renumbers():
    _, problems = groups_mod.plan([wanted("jupyter-x2026", ["a"], 72026)], {}, {"jupyter-x2026": (1234, ["a"])})
    assert problems == ["course x2026: group jupyter-x2026 has gid 1234, the course file asks for 72026; renumber "
                        "it by hand (groupmod -g, then chgrp its files) or drop gid from the course file"]


def test_plan_refuses_a_gid_taken_by_another_group_unless_purged():
    current = {"other": (72026, [])}
    _, problems = groups_mod.plan([wanted("jupyter-x2026", ["a"], 72026)], {}, current)
    assert problems == ["course x2026: gid 72026 for group jupyter-x2026 is already taken by group other"]
    actions, problems = groups_mod.plan([wanted("jupyter-x2026", ["a"], 72026)], {"other": "old2020"}, current)
    assert problems == [] and [a["op"] for a in actions] == ["delete", "create"]


def test_plan_deletes_only_purged_groups_that_exist():
    current = {"jupyter-old2020": (5000, ["a"]), "jupyter-keep2020": (5001, [])}
    actions, _ = groups_mod.plan([], {"jupyter-old2020": "old2020", "jupyter-old2020-students": "old2020"}, current)
    assert [groups_mod.commands(a) for a in actions] == [[["groupdel", "jupyter-old2020"]]]


def test_plan_skips_missing_users():
    actions, _ = groups_mod.plan([wanted("jupyter-x2026", ["a", "ghost"])], {}, {}, skip={"jupyter-x2026": ["ghost"]})
    assert actions[0]["members"] == ["a"]


def test_missing_members_per_course():
    groups = [wanted("jupyter-x2026", ["a", "ghost"]), wanted("jupyter-x2026-students", ["s1", "s2"])]
    assert groups_mod.missing_members(groups, lambda user: user in ("a", "s1")) == {
        "x2026": {"jupyter-x2026": ["ghost"], "jupyter-x2026-students": ["s2"]}}


def test_summary_and_diff_lines():
    current = {"jupyter-x2026": (72026, ["a", "old"])}
    actions, _ = groups_mod.plan([wanted("jupyter-x2026", ["a", "b"], 72026),
                                  wanted("jupyter-x2026-students", ["s1"])], {}, current)
    assert groups_mod.summary(actions, {}) == {"x2026": {
        "created": ["jupyter-x2026-students"], "deleted": [],
        "members_added": {"jupyter-x2026": ["b"], "jupyter-x2026-students": ["s1"]},
        "members_removed": {"jupyter-x2026": ["old"]}, "missing_users": {}}}
    names = [a["group"] for a in actions]
    assert groups_mod.group_lines(names, current) == "jupyter-x2026:72026:a,old\n"
    assert groups_mod.group_lines(names, groups_mod.after_state(current, actions)) == \
        "jupyter-x2026:72026:a,b\njupyter-x2026-students:auto:s1\n"


# --------------------------------------------------------------------------
# jupyter_course_groups: main()
# --------------------------------------------------------------------------

def test_groups_module_converges_then_changes_nothing(fake_system, capsys):
    rc, result = run_main(groups_mod, capsys, courses=sample_courses())
    assert rc == 0 and result["changed"]
    assert result["courses"]["mlbp2026"]["created"] == ["jupyter-mlbp2026"]
    assert fake_system.groups["jupyter-mlbp2026"] == (72026, ["ta1", "teacher1"])
    assert fake_system.groups["jupyter-privsec2026-students"][1] == ["student2"]
    assert "groupadd -g 72026 jupyter-mlbp2026" in result["commands"]
    assert len(result["commands"]) == len(fake_system.commands) == 14  # 7 groups: groupadd + gpasswd each
    del fake_system.commands[:]
    rc, result = run_main(groups_mod, capsys, courses=sample_courses())
    assert (rc, result["changed"], result["commands"], result["courses"]) == (0, False, [], {})
    assert fake_system.commands == []


def test_groups_module_check_mode_and_diff_tell_the_truth(fake_system, capsys):
    fake_system.groups["jupyter-mlbp2026"] = (72026, ["teacher1", "outsider1"])
    rc, result = run_main(groups_mod, capsys, check=True, diff=True, courses=sample_courses())
    assert rc == 0 and result["changed"] and fake_system.commands == []
    assert fake_system.groups["jupyter-mlbp2026"] == (72026, ["teacher1", "outsider1"])
    assert result["courses"]["mlbp2026"]["members_removed"] == {"jupyter-mlbp2026": ["outsider1"]}
    assert "gpasswd -M ta1,teacher1 jupyter-mlbp2026" in result["commands"]
    assert "jupyter-mlbp2026:72026:outsider1,teacher1\n" in result["diff"]["before"]
    assert "jupyter-mlbp2026:72026:ta1,teacher1\n" in result["diff"]["after"]


def test_groups_module_fails_on_unknown_users_before_changing_anything(fake_system, capsys):
    courses = sample_courses()
    courses["course_privsec2026"]["students"] = ["student2", "ghost1", "ghost2"]
    rc, result = run_main(groups_mod, capsys, courses=courses)
    assert rc == 1 and fake_system.commands == []
    assert result["missing_users"] == {"privsec2026": {"jupyter-privsec2026-students": ["ghost1", "ghost2"]}}
    assert "course privsec2026: jupyter-privsec2026-students: ghost1, ghost2" in result["msg"]

    rc, result = run_main(groups_mod, capsys, courses=courses, missing_users="warn")
    assert rc == 0 and fake_system.groups["jupyter-privsec2026-students"][1] == ["student2"]
    assert any("ghost1, ghost2" in w for w in warnings(result))


def test_groups_module_refuses_to_renumber(fake_system, capsys):
    fake_system.groups["jupyter-mlbp2026"] = (5555, ["ta1", "teacher1"])
    rc, result = run_main(groups_mod, capsys, courses=sample_courses())
    assert rc == 1 and fake_system.commands == []
    assert "group jupyter-mlbp2026 has gid 5555, the course file asks for 72026" in result["msg"]


def test_groups_module_purges_only_absent_courses_with_purge(fake_system, capsys):
    courses = sample_courses()
    courses["course_privsec2026"].update(state="absent", purge=True)
    courses["course_oldstats2025"]["state"] = "archived"  # archived: its groups stay
    fake_system.groups.update({"jupyter-privsec2026": (72027, ["teacher2"]),
                               "jupyter-privsec2026-students": (6000, ["student2"]),
                               "jupyter-oldstats2025": (72025, ["teacher1"])})
    rc, result = run_main(groups_mod, capsys, courses=courses)
    assert rc == 0
    assert result["courses"]["privsec2026"]["deleted"] == ["jupyter-privsec2026", "jupyter-privsec2026-students"]
    assert "jupyter-oldstats2025" in fake_system.groups and "jupyter-privsec2026" not in fake_system.groups
    assert result["courses"].get("oldstats2025", {}).get("deleted", []) == []


def test_groups_module_will_not_delete_a_primary_group(fake_system, capsys):
    courses = sample_courses()
    courses["course_privsec2026"].update(state="absent", purge=True)
    fake_system.groups["jupyter-privsec2026"] = (72027, [])
    fake_system.users["svc"] = (999, 72027)
    rc, result = run_main(groups_mod, capsys, courses=courses)
    assert rc == 1 and fake_system.commands == []
    assert "primary group of user svc" in result["msg"]


@pytest.mark.parametrize("module", [groups_mod, dirs_mod, profiles_mod], ids=lambda m: m.__name__)
def test_modules_fail_with_every_problem_before_changing_anything(module, fake_system, capsys, tmp_path):
    courses = sample_courses()
    courses["course_mlbp2026"]["state"] = "archive"
    courses["course_privsec2026"]["colour"] = "red"
    settings = {"course_root": str(tmp_path / "c"), "courses_json": str(tmp_path / "courses.json")}
    rc, result = run_main(module, capsys, courses=courses, settings=settings)
    assert rc == 1 and fake_system.commands == [] and os.listdir(tmp_path) == []
    assert [p["field"] for p in result["problems"]] == ["course_mlbp2026.state", "course_privsec2026.colour"]
    assert result["msg"].splitlines()[0].startswith("group_vars/courses/mlbp2026.yml: course_mlbp2026.state: ")


def test_modules_reject_unknown_settings(capsys):
    rc, result = run_main(profiles_mod, capsys, courses={}, settings={"course_rot": "/x"})
    assert rc == 1 and "unknown course settings: course_rot" in result["msg"]


def generated_courses(count=200, instructors=5, students=300):
    """count courses of instructors each; every fourth with a student list of students."""
    courses = {}
    for i in range(count):
        staff = ["t%d_%d" % (i, j) for j in range(instructors)]
        body = {"name": "Course %d" % i, "owner": staff[0], "instructors": staff, "gid": 80000 + i,
                "start": "2026-09-01", "end": "2026-12-18"}
        if i % 4 == 0:
            body["students"] = ["s%d_%d" % (i, j) for j in range(students)]
        courses["course_gen%d2026" % i] = body
    return courses


def test_groups_module_scales_when_nothing_changes(fake_system, capsys):
    courses = generated_courses()
    rc, result = run_main(groups_mod, capsys, courses=courses)
    for body in courses.values():
        for user in body["instructors"] + body.get("students", []):
            fake_system.users[user] = (1, 1)
    rc, result = run_main(groups_mod, capsys, courses=courses)
    assert rc == 0 and len(fake_system.groups) == 2 + 250
    del fake_system.commands[:]
    started = time.perf_counter()
    rc, result = run_main(groups_mod, capsys, courses=courses)
    elapsed = time.perf_counter() - started
    assert (rc, result["changed"], fake_system.commands) == (0, False, [])
    assert elapsed < 2.0, "an unchanged run over 200 courses took %.2f s" % elapsed


# --------------------------------------------------------------------------
# jupyter_course_dirs: pure helpers
# --------------------------------------------------------------------------

FILES_ENTRY = {"path": "/c/x2026/files", "owner": "root", "group": "jupyter-x2026", "mode": "2770",
               "acl": ["group:jupyter-x2026:rwx"], "course": "x2026", "kind": "files", "git": True, "readme": None,
               "default_acl": ["user::rwx", "group::rwx", "group:jupyter-x2026:rwx", "mask::rwx", "other::---"]}
GITIGNORE = ["gradebook.db", "release/"]


def files_want():
    return dirs_mod.want_state(FILES_ENTRY, GITIGNORE)


def test_want_state_parses_modes_and_acls():
    want = files_want()
    assert want["mode"] == 0o2770 and want["course"] == "x2026" and want["gitignore"] == GITIGNORE
    assert dirs_mod.acl_texts(want["access"]) == ["user::rwx", "group::rwx", "group:jupyter-x2026:rwx", "mask::rwx",
                                                  "other::---"]
    root = dict(FILES_ENTRY, path="/c", course=None, mode="0755", acl=[], default_acl=[], git=False)
    assert dirs_mod.want_state(root, GITIGNORE)["course"] == "_shared"
    assert dirs_mod.want_state(root, GITIGNORE)["gitignore"] == []


def test_names_needed():
    assert dirs_mod.names_needed([files_want()]) == ({"root"}, {"jupyter-x2026"})


def test_dir_changes_for_a_missing_dir():
    assert dirs_mod.dir_changes(files_want(), None) == ["created", "git init", "gitignore +gradebook.db +release/"]


def test_dir_changes_for_a_dir_in_place_is_empty():
    want = files_want()
    cur = dirs_mod.wanted_as_current(want)
    assert dirs_mod.dir_changes(want, cur) == []


def test_dir_changes_names_each_difference():
    want = files_want()
    cur = dict(dirs_mod.wanted_as_current(want), owner="teacher1", mode=0o2755,
               access=dirs_mod.mode_acl(0o2755), default=[], shared=None, gitignore="release/\nmine\n")
    assert dirs_mod.dir_changes(want, cur) == [
        "owner teacher1->root", "mode 2755->2770",
        "acl -group::r-x -other::r-x +group::rwx +group:jupyter-x2026:rwx +mask::rwx +other::---",
        "default_acl +user::rwx +group::rwx +group:jupyter-x2026:rwx +mask::rwx +other::---",
        "git sharedRepository=group", "gitignore +gradebook.db"]


def test_dir_changes_for_plain_modes_reports_mode_only():
    entry = dict(FILES_ENTRY, mode="2775", acl=[], default_acl=[], git=False)
    want = dirs_mod.want_state(entry, [])
    cur = dict(dirs_mod.wanted_as_current(want), mode=0o2755, access=dirs_mod.mode_acl(0o2755))
    assert dirs_mod.dir_changes(want, cur) == ["mode 2755->2775"]


def test_dir_changes_readme():
    want = dirs_mod.want_state(dict(FILES_ENTRY, git=False, readme="Dataset mnist\n"), [])
    cur = dirs_mod.wanted_as_current(want)
    assert dirs_mod.dir_changes(want, cur) == []
    assert dirs_mod.dir_changes(want, dict(cur, readme="edited\n")) == ["readme"]
    assert dirs_mod.dir_changes(want, dict(cur, readme=None)) == ["readme"]


@pytest.mark.parametrize("text, value", [
    ("[core]\n\trepositoryformatversion = 0\n\tsharedrepository = 1\n", "1"),
    ('[core]\n  sharedRepository = "group" ; set by coursehub\n', "group"),
    ("[core]\n\tbare = false\n[remote \"origin\"]\n\tsharedrepository = group\n", None),
    ("[core]\n\tsharedrepository = 1\n[core]\n\tsharedRepository = umask\n", "umask"),
    ("[core]\n\tsharedRepository\n", "true"),
    ("", None),
])
def test_shared_repository(text, value):
    assert dirs_mod.shared_repository(text) == value


@pytest.mark.parametrize("current, text", [
    (None, "gradebook.db\nrelease/\n"),
    ("mine", "mine\ngradebook.db\nrelease/\n"),
    ("release/\nmine\n", "release/\nmine\ngradebook.db\n"),
    ("gradebook.db\nrelease/\nmine\n", "gradebook.db\nrelease/\nmine\n"),
])
def test_gitignore_text_appends_only_missing_lines(current, text):
    assert dirs_mod.gitignore_text(current, GITIGNORE) == text


def test_describe_reads_like_getfacl():
    want = files_want()
    assert dirs_mod.describe(want, None) == "# file: /c/x2026/files\n# (missing)\n"
    text = dirs_mod.describe(want, dirs_mod.wanted_as_current(want))
    assert text.splitlines()[:5] == ["# file: /c/x2026/files", "# owner: root", "# group: jupyter-x2026",
                                     "# mode: 2770", "user::rwx"]
    assert "default:mask::rwx" in text and "# .gitignore: release/" in text


# --------------------------------------------------------------------------
# jupyter_course_dirs: main() on a temporary root
# --------------------------------------------------------------------------

COURSE_GIDS = {"jupyter-deeplearn2026": 71001, "jupyter-deeplearn2026-students": 71002, "jupyter-mlbp2026": 72026,
               "jupyter-oldstats2025": 72025, "jupyter-oldstats2025-students": 71003, "jupyter-privsec2026": 72027,
               "jupyter-privsec2026-students": 71004}


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A temporary root with settings pointing at it, and the course groups (fake gids) known to the dirs module."""
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        os.setxattr(probe, "system.posix_acl_default", b"\x02\x00\x00\x00\x01\x00\x07\x00\xff\xff\xff\xff"
                    b"\x04\x00\x07\x00\xff\xff\xff\xff\x20\x00\x00\x00\xff\xff\xff\xff")
    except OSError as exc:
        pytest.skip("POSIX ACL xattrs are not supported below %s: %s" % (tmp_path, exc))
    probe.rmdir()
    if os.geteuid() != 0:
        pytest.skip("the dirs module chowns: run as root")
    system = FakeSystem(dict({"root": (0, [])}, **{n: (g, []) for n, g in COURSE_GIDS.items()}), {"root": (0, 0)})
    monkeypatch.setattr(dirs_mod, "grp", system.grp)
    settings = {"course_root": str(tmp_path / "srv/course"), "exchange_root": str(tmp_path / "srv/exchange"),
                "shareddata_root": str(tmp_path / "srv/shareddata")}
    return types.SimpleNamespace(root=tmp_path, settings=settings, system=system)


def getfacl(path):
    """getfacl's numeric output without comments: the ground truth the module's xattrs must produce."""
    return subprocess.run(["getfacl", "-c", "-n", "-E", path], capture_output=True, text=True,
                          check=True).stdout.split()


def numeric(texts):
    """The module's named entries with numeric gids, as getfacl -n prints them."""
    out = []
    for text in texts:
        kind, name, perms = text.split(":")
        out.append(":".join((kind, str(COURSE_GIDS.get(name, 0)) if name else "", perms)))
    return out


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_dirs_module_converges_and_matches_desired_state(host, capsys):
    rc, result = run_main(dirs_mod, capsys, courses=sample_courses(), settings=host.settings)
    assert rc == 0 and result["changed"] and result["dirs"] == 28
    assert result["commands"] == ["git -c init.defaultBranch=main init --quiet --shared=group %s/srv/course/%s/files"
                                  % (host.root, slug) for slug in ("deeplearn2026", "mlbp2026", "privsec2026")]
    # The archived course gets no new repository.
    model = sys.modules["ansible.module_utils.course_model"]
    courses, _ = model.courses_from_vars(sample_courses())
    for entry in model.desired_dirs(courses, host.settings):
        st = os.lstat(entry["path"])
        want = dirs_mod.want_state(entry, [])
        assert (st.st_uid, st.st_gid) == (0, COURSE_GIDS.get(entry["group"], 0)), entry["path"]
        assert stat.S_IMODE(st.st_mode) == want["mode"], entry["path"]
        assert getfacl(entry["path"]) == numeric(dirs_mod.acl_texts(want["access"])) + \
            ["default:" + t for t in numeric(entry["default_acl"])], entry["path"]

    files = host.root / "srv/course/mlbp2026/files"
    config = (files / ".git/config").read_text()
    assert dirs_mod.shared_repository(config) in dirs_mod.SHARED_VALUES
    ignore = files / ".gitignore"
    assert ignore.read_text() == "gradebook.db\nrelease/\nsubmitted/\nfeedback/\n.ipynb_checkpoints\n" \
        "autograded/\ngradebook.db-journal\ncollect-refusals.log\n"
    assert (ignore.stat().st_gid, stat.S_IMODE(ignore.stat().st_mode)) == (72026, 0o664)
    head = files / ".git/HEAD"
    assert head.stat().st_gid == 72026 and head.stat().st_mode & 0o060 == 0o060
    assert (files / ".git").stat().st_mode & stat.S_ISGID
    readme = host.root / "srv/shareddata/mnist/README.md"
    assert readme.read_text().startswith("Dataset mnist, shared read-only by the courses: deeplearn2026.")
    assert stat.S_IMODE(readme.stat().st_mode) == 0o644

    rc, again = run_main(dirs_mod, capsys, courses=sample_courses(), settings=host.settings)
    assert (rc, again["changed"], again["commands"], again["courses"]) == (0, False, [], {})


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_dirs_module_check_mode_changes_nothing_and_diff_tells_the_truth(host, capsys):
    rc, result = run_main(dirs_mod, capsys, check=True, diff=True, courses=sample_courses(), settings=host.settings)
    assert rc == 0 and result["changed"] and os.listdir(host.root) == []
    assert len(result["commands"]) == 3  # git init, not for the archived course
    assert sum(len(dirs) for dirs in result["courses"].values()) == 28
    assert "# file: %s/srv/course/mlbp2026/files\n# (missing)\n" % host.root in result["diff"]["before"]

    run_main(dirs_mod, capsys, courses=sample_courses(), settings=host.settings)
    data = str(host.root / "srv/course/privsec2026/data")
    inbound = str(host.root / "srv/exchange/mlbp2026/inbound")
    os.chmod(inbound, 0o777)
    subprocess.run(["setfacl", "-x", "g:71004", data], check=True)
    subprocess.run(["setfacl", "-d", "-m", "o::rwx", data], check=True)
    (host.root / "srv/shareddata/mnist/README.md").write_text("edited\n")

    rc, result = run_main(dirs_mod, capsys, check=True, diff=True, courses=sample_courses(), settings=host.settings)
    assert rc == 0 and result["commands"] == []
    assert result["courses"] == {
        "mlbp2026": [{"path": inbound, "changes": ["mode 0777->3773"]}],
        "privsec2026": [{"path": data, "changes": [
            "acl +group:jupyter-privsec2026-students:r-x",
            "default_acl -other::rwx +other::---"]}],
        "_shared": [{"path": str(host.root / "srv/shareddata/mnist"), "changes": ["readme"]}]}
    assert "# mode: 0777" in result["diff"]["before"] and "# mode: 3773" in result["diff"]["after"]
    assert "default:other::rwx" in result["diff"]["before"]
    assert stat.S_IMODE(os.stat(inbound).st_mode) == 0o777  # check mode wrote nothing

    rc, result = run_main(dirs_mod, capsys, courses=sample_courses(), settings=host.settings)
    assert rc == 0 and result["changed"] and stat.S_IMODE(os.stat(inbound).st_mode) == 0o3773
    assert "group:71004:r-x" in getfacl(data) and "default:other::---" in getfacl(data)
    assert run_main(dirs_mod, capsys, courses=sample_courses(), settings=host.settings)[1]["changed"] is False


def test_dirs_module_keeps_instructor_gitignore_lines_and_existing_repo(host, capsys):
    courses = {"course_privsec2026": sample_courses()["course_privsec2026"]}
    files = host.root / "srv/course/privsec2026/files"
    (files / ".git").mkdir(parents=True)
    (files / ".git/config").write_text("[core]\n\tsharedrepository = 1\n")
    (files / ".gitignore").write_text("*.pyc\nrelease/\n")
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    assert rc == 0 and result["commands"] == []
    assert (files / ".gitignore").read_text() == "*.pyc\nrelease/\ngradebook.db\nsubmitted/\nfeedback/\n" \
                                                 ".ipynb_checkpoints\nautograded/\ngradebook.db-journal\ncollect-refusals.log\n"


def test_dirs_module_removes_acls_the_model_no_longer_wants(host, capsys):
    courses = {"course_mlbp2026": sample_courses()["course_mlbp2026"]}
    run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    outbound = str(host.root / "srv/exchange/mlbp2026/outbound")
    subprocess.run(["setfacl", "-m", "g:71004:rwx", "-d", "-m", "g:71004:rwx", outbound], check=True)
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    assert result["courses"]["mlbp2026"][0]["changes"][0] == "acl -group:jupyter-privsec2026-students:rwx -mask::rwx"
    assert getfacl(outbound) == ["user::rwx", "group::rwx", "other::r-x"]
    assert stat.S_IMODE(os.stat(outbound).st_mode) == 0o2775


def test_dirs_module_never_follows_a_symlink(host, capsys):
    courses = {"course_mlbp2026": sample_courses()["course_mlbp2026"]}
    course = host.root / "srv/course"
    course.mkdir(parents=True)
    elsewhere = host.root / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (course / "mlbp2026").symlink_to(elsewhere)
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    assert rc == 1 and "is not a directory" in result["msg"]
    assert stat.S_IMODE(os.stat(elsewhere).st_mode) == 0o700 and os.listdir(elsewhere) == []


def test_dirs_module_unknown_group_fails_but_check_mode_warns(host, capsys):
    del host.system.groups["jupyter-mlbp2026"]
    courses = {"course_mlbp2026": sample_courses()["course_mlbp2026"]}
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    assert rc == 1 and "unknown group jupyter-mlbp2026" in result["msg"] and os.listdir(host.root) == []
    rc, result = run_main(dirs_mod, capsys, check=True, courses=courses, settings=host.settings)
    assert rc == 0 and result["changed"] and any("jupyter-mlbp2026" in w for w in warnings(result))


def test_dirs_module_reports_but_keeps_purged_dirs(host, capsys):
    courses = sample_courses()
    leftover = host.root / "srv/course/privsec2026"
    leftover.mkdir(parents=True)
    courses["course_privsec2026"].update(state="absent", purge=True)
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=host.settings)
    assert rc == 0 and result["not_deleted"] == [str(leftover)] and leftover.is_dir()
    assert any("never deletes" in w for w in warnings(result))


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_dirs_module_scales_when_nothing_changes(host, capsys):
    courses = generated_courses(count=200, students=0)
    for i in range(200):
        host.system.groups["jupyter-gen%d2026" % i] = (80000 + i, [])
    settings = dict(host.settings, course_gitignore=[])
    run_main(dirs_mod, capsys, courses=courses, settings=settings)
    started = time.perf_counter()
    rc, result = run_main(dirs_mod, capsys, courses=courses, settings=settings)
    elapsed = time.perf_counter() - started
    assert (rc, result["changed"], result["dirs"]) == (0, False, 2 + 200 * 7)
    assert elapsed < 2.0, "an unchanged run over 200 courses took %.2f s" % elapsed


# --------------------------------------------------------------------------
# jupyter_course_profiles
# --------------------------------------------------------------------------

def test_render_is_sorted_indented_and_ends_in_a_newline():
    assert profiles_mod.render({"b": 1, "a": {"d": [], "c": "é"}}) == \
        '{\n  "a": {\n    "c": "é",\n    "d": []\n  },\n  "b": 1\n}\n'


def test_file_changes():
    st = types.SimpleNamespace(st_mode=0o100644, st_uid=0, st_gid=0)
    assert profiles_mod.file_changes("x", None, None, 0o600) == ["created"]
    assert profiles_mod.file_changes("x", "x", st, 0o600) == ["mode 0644->0600"]
    assert profiles_mod.file_changes("x", "x", st, 0o644) == []
    assert profiles_mod.file_changes("x", "y", types.SimpleNamespace(st_mode=0o100600, st_uid=1, st_gid=0), 0o600) == \
        ["content", "owner"]


def test_only_the_hub_may_read_courses_json_and_course_configs_stay_readable():
    """courses.json names private courses' students: root only. The configs name no one."""
    assert profiles_mod.PROFILES_MODE == 0o600
    assert profiles_mod.CONFIG_MODE == 0o644


def test_profiles_module_writes_atomically_and_only_on_change(tmp_path, capsys):
    dest = tmp_path / "etc/jupyterhub/courses.json"
    nbg = tmp_path / "nbgrader"
    kw = {"dest": str(dest), "settings": {"nbgrader_config_root": str(nbg)}}
    rc, result = run_main(profiles_mod, capsys, check=True, diff=True, courses=sample_courses(), **kw)
    assert rc == 0 and result["changed"] and not dest.parent.exists() and not nbg.exists()
    first = result["diff"][0]
    assert first["before_header"] == str(dest)
    assert first["before"] == "" and json.loads(first["after"])["version"] == 1

    rc, result = run_main(profiles_mod, capsys, courses=sample_courses(), **kw)
    assert (rc, result["changed"], result["changes"]) == (0, True, ["created"])
    assert result["courses"] == ["deeplearn2026", "mlbp2026", "oldstats2025", "privsec2026"]
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600 and stat.S_IMODE(dest.parent.stat().st_mode) == 0o755
    assert (dest.stat().st_uid, dest.stat().st_gid) == (0, 0)
    # The course configs are read by each course server as its user.
    assert stat.S_IMODE((nbg / "mlbp2026/student/nbgrader_config.py").stat().st_mode) == 0o644
    assert stat.S_IMODE((nbg / "mlbp2026/instructor/jupyter_server_config.py").stat().st_mode) == 0o644
    model = sys.modules["ansible.module_utils.course_model"]
    courses, _ = model.courses_from_vars(sample_courses())
    assert json.loads(dest.read_text()) == model.desired_profiles(courses)
    assert os.listdir(dest.parent) == ["courses.json"]
    # Per-course Jupyter config: both modes of the live courses, none for the archived one.
    assert sorted(os.listdir(nbg)) == ["deeplearn2026", "mlbp2026", "privsec2026"]
    config = (nbg / "mlbp2026/student/nbgrader_config.py").read_text()
    assert 'c.CourseDirectory.course_id = "mlbp2026"' in config and "groupshared = True" in config
    student = json.loads((nbg / "mlbp2026/student/labconfig/page_config.json").read_text())
    instructor = json.loads((nbg / "mlbp2026/instructor/labconfig/page_config.json").read_text())
    assert student["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert instructor["disabledExtensions"] == {}

    rc, result = run_main(profiles_mod, capsys, check=True, diff=True, courses=sample_courses(), **kw)
    assert (rc, result["changed"], "diff" in result) == (0, False, False)

    courses = sample_courses()
    courses["course_mlbp2026"]["resources"]["memory"] = "3G"
    os.chmod(dest, 0o644)  # as an older release left it: world-readable
    rc, result = run_main(profiles_mod, capsys, diff=True, courses=courses, **kw)
    assert result["changes"] == ["content", "mode 0644->0600"] and list(result["files"]) == [str(dest)]
    assert '"memory": "2G"' in result["diff"][0]["before"] and '"memory": "3G"' in result["diff"][0]["after"]
    assert json.loads(dest.read_text())["courses"]["mlbp2026"]["resources"]["memory"] == "3G"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600

    # A mode change alone is a change too (no content diff), and it is made.
    os.chmod(dest, 0o644)
    rc, result = run_main(profiles_mod, capsys, courses=courses, **kw)
    assert (result["changed"], result["changes"]) == (True, ["mode 0644->0600"])
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600


def test_profiles_module_default_dest_comes_from_settings(tmp_path, capsys):
    dest = tmp_path / "hub.json"
    rc, result = run_main(profiles_mod, capsys, courses={}, settings={"courses_json": str(dest)})
    assert rc == 0 and result["dest"] == str(dest) and json.loads(dest.read_text()) == {"courses": {}, "version": 1}


def ansible_env():
    return dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""),
                ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def test_profiles_module_runs_through_ansible(tmp_path):
    """Through ansible itself: the module_utils it imports are shipped with it."""
    dest = tmp_path / "courses.json"
    args = json.dumps({"courses": sample_courses(), "dest": str(dest),
                       "settings": {"nbgrader_config_root": str(tmp_path / "nbgrader")}})
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable,
                           "-m", "jupyter_course_profiles", "-a", args], capture_output=True, text=True,
                          env=ansible_env(), cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "CHANGED" in proc.stdout and dest.is_file()
    assert (tmp_path / "nbgrader/mlbp2026/instructor/nbgrader_config.py").is_file()


@pytest.mark.parametrize("name", ["jupyter_course_groups", "jupyter_course_dirs", "jupyter_course_profiles",
                                  "jupyter_course_purge"])
def test_ansible_doc_parses(name):
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-doc"), "-M", "library", "-j", name],
                          capture_output=True, text=True, env=ansible_env(), cwd=REPO_ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)[name]
    assert set(doc["doc"]["options"]) >= {"courses", "courses_dir", "settings"}
    assert doc["examples"] and "commands" in doc["return"] or "changes" in doc["return"]


@pytest.mark.skipif(shutil.which("tar") is None, reason="GNU tar is needed")
def test_purge_module_archives_verifies_then_removes(tmp_path, capsys):
    settings = {"course_root": str(tmp_path / "course"), "exchange_root": str(tmp_path / "exchange"),
                "archive_root": str(tmp_path / "archive")}
    course = tmp_path / "course/privsec2026"
    (course / "files/source/ps1").mkdir(parents=True)
    (course / "files/source/ps1/ps1.ipynb").write_text('{"cells": []}')
    (course / "data").mkdir()
    (course / "data/big.csv").write_bytes(b"1,2\n" * 1000)
    (tmp_path / "exchange/privsec2026/inbound").mkdir(parents=True)
    other = tmp_path / "course/mlbp2026/files"
    other.mkdir(parents=True)
    courses = sample_courses()
    courses["course_privsec2026"].update(state="absent", purge=True)

    rc, result = run_main(purge_mod, capsys, check=True, diff=True, courses=courses, settings=settings)
    assert (rc, result["changed"], result["courses"]) == (0, True, ["privsec2026"])
    assert course.exists() and not (tmp_path / "archive").exists()

    rc, result = run_main(purge_mod, capsys, courses=courses, settings=settings)
    assert rc == 0 and result["changed"]
    record = result["archives"]["privsec2026"]
    assert not course.exists() and not (tmp_path / "exchange/privsec2026").exists() and other.exists()
    archive = record["archive"]
    assert hashlib.sha256(open(archive, "rb").read()).hexdigest() == record["sha256"]
    assert open(archive + ".sha256").read() == "%s  %s\n" % (record["sha256"], os.path.basename(archive))
    assert stat.S_IMODE(os.stat(archive).st_mode) == 0o600
    # It restores: the files come back, byte for byte.
    restore = tmp_path / "restore"
    restore.mkdir()
    subprocess.run(["tar", "-xzf", archive, "-C", str(restore)], check=True)
    back = restore / str(course).lstrip("/")
    assert (back / "data/big.csv").read_bytes() == b"1,2\n" * 1000
    assert (back / "files/source/ps1/ps1.ipynb").read_text() == '{"cells": []}'

    rc, result = run_main(purge_mod, capsys, courses=courses, settings=settings)
    assert (rc, result["changed"], result["commands"]) == (0, False, [])


def test_purge_module_touches_no_other_state(tmp_path, capsys):
    settings = {"course_root": str(tmp_path / "course"), "archive_root": str(tmp_path / "archive")}
    for slug in ("mlbp2026", "oldstats2025", "privsec2026"):
        (tmp_path / "course" / slug / "files").mkdir(parents=True)
    rc, result = run_main(purge_mod, capsys, courses=sample_courses(), settings=settings)
    assert (rc, result["changed"], result["archives"]) == (0, False, {})
    assert len(os.listdir(tmp_path / "course")) == 3 and not (tmp_path / "archive").exists()
