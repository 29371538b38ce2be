"""coursectl plan: the pure diff (module_utils/course_plan.py) and the command on a temporary git repository."""

import os
import shutil
import subprocess
import sys

import pytest

from course_helpers import REPO_ROOT, SAMPLES_DIR, course_text
from course_helpers import course_body as body, validated_courses as courses_of, validated_samples as samples
from module_utils import course_model as m, course_plan as p

COURSECTL = os.path.join(REPO_ROOT, "bin", "coursectl")
SNAPSHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshots")


def lines_of(plan, slug):
    return plan["courses"][slug]["lines"]


# --------------------------------------------------------------------------
# The pure diff
# --------------------------------------------------------------------------

def test_same_courses_plan_nothing():
    plan = p.diff_plan(samples(), samples())
    assert p.is_empty(plan)
    assert (plan["added"], plan["changed"], plan["removed"], plan["service"]) == ([], [], [], [])
    text = p.render_markdown(plan, "origin/main")
    assert "**no changes**" in text and "###" not in text


def test_instructor_added_and_made_private():
    before = courses_of(demo2026=body())
    after = courses_of(demo2026=body(instructors=["teacher1", "ta1", "teacher2"], state="private"))
    plan = p.diff_plan(before, after)
    assert plan["changed"] == ["demo2026"] and plan["added"] == plan["removed"] == []
    lines = lines_of(plan, "demo2026")
    assert lines[0].startswith("`demo2026` becomes private (was public): only its instructors and listed students")
    assert "group `jupyter-demo2026`: + teacher2" in lines
    assert "dir `/srv/coursehub/course/demo2026/data`: mode 2775 \u2192 2770; default ACL + `other::---`, " \
           "- `other::r-x`" in lines
    assert "profile `allow_non_students`: true \u2192 false" in lines
    # state and members are said once, not again as profile keys
    assert not any(line.startswith(("profile `state`", "profile `private`", "profile `instructors`"))
                   for line in lines)
    assert plan["service"] == []


def test_member_removed_and_students_group_created():
    before = courses_of(demo2026=body())
    after = courses_of(demo2026=body(instructors=["teacher1"], students=["s1", "s2"], allow_non_students=False))
    lines = lines_of(p.diff_plan(before, after), "demo2026")
    assert "group `jupyter-demo2026`: - ta1" in lines
    assert "group `jupyter-demo2026-students` is created: s1, s2" in lines
    service = p.diff_plan(before, after)["service"]
    assert service == ["SMB share `course` valid users: + `@jupyter-demo2026-students`"]


def test_added_course_creates_group_dirs_profile_and_exports():
    plan = p.diff_plan([], courses_of(demo2026=body(gid=72040)))
    assert plan["added"] == ["demo2026"]
    lines = lines_of(plan, "demo2026")
    assert lines[0] == "`demo2026` is added (public): anyone who can log in may start it " \
                       "(unless allow_non_students is false)"
    assert "group `jupyter-demo2026` is created (gid 72040): ta1, teacher1" in lines
    files = [line for line in lines if line.startswith("dir `/srv/coursehub/course/demo2026/files` is created")]
    assert files == ["dir `/srv/coursehub/course/demo2026/files` is created: root:jupyter-demo2026 2770, "
                     "ACL `group:jupyter-demo2026:rwx`, default ACL `user::rwx`, `group::rwx`, "
                     "`group:jupyter-demo2026:rwx`, `mask::rwx`, `other::---`, shared git repository"]
    assert "hub profile is added: memory 2G, 4 CPU(s), image `default`, any user who can log in" in lines
    service = plan["service"]
    assert "NFS export `courses` `/srv/coursehub/course` (rw) is added" in service
    assert "NFS export `exchange` `/srv/nbgrader/exchange` (rw) is added" in service
    assert "dir `/srv/coursehub/course` is created: root:root 0755" in service
    assert "SMB share `course` valid users: + `@jupyter-demo2026`" in service


def test_removed_file_leaves_groups_and_dirs_unmanaged():
    plan = p.diff_plan(courses_of(demo2026=body(), other2026=body()), courses_of(other2026=body()))
    assert plan["removed"] == ["demo2026"]
    lines = lines_of(plan, "demo2026")
    assert lines[0].startswith("`demo2026` is removed from the course files (was public): the hub stops offering")
    assert "groups no longer managed (they stay on the host with their members): `jupyter-demo2026`" in lines
    assert any(line.startswith("dirs no longer managed") and "`/srv/coursehub/course/demo2026/files`" in line
               for line in lines)
    assert "hub profile is removed: the hub no longer offers `demo2026`" in lines
    assert not any("deleted" in line for line in lines)


def test_absent_with_purge_says_what_is_deleted():
    plan = p.diff_plan(courses_of(demo2026=body(students=["s1"])),
                       courses_of(demo2026=body(state="absent", purge=True, students=["s1"])))
    lines = lines_of(plan, "demo2026")
    assert lines[0] == "`demo2026` becomes absent (was public): removed from the hub, SMB and exports"
    assert lines[1] == ("`demo2026` is purged: directories `/srv/coursehub/course/demo2026`, "
                        "`/srv/nbgrader/exchange/demo2026` are archived to a verified tarball in "
                        "`/srv/coursehub/archive`, then deleted with everything below them; groups "
                        "`jupyter-demo2026`, `jupyter-demo2026-students` are deleted")
    # the purge line covers groups and directories: no "no longer managed" lines for them
    assert not any("no longer managed" in line or line.startswith(("group ", "dir ")) for line in lines)
    assert lines[2:] == ["hub profile is removed: the hub no longer offers `demo2026`"]
    assert "NFS export `courses` `/srv/coursehub/course` is removed" in plan["service"]
    # once purged, a later edit does not announce the purge again
    again = p.diff_plan(courses_of(demo2026=body(state="absent", purge=True)),
                        courses_of(demo2026=body(state="absent", purge=True, deputies=["ta1"])))
    assert lines_of(again, "demo2026") == ["`deputies` (course file only): + ta1"]


def test_archived_course_loses_write_bits_and_git():
    lines = lines_of(p.diff_plan(courses_of(demo2026=body()), courses_of(demo2026=body(state="archived"))),
                     "demo2026")
    files = [line for line in lines if line.startswith("dir `/srv/coursehub/course/demo2026/files`:")]
    assert files == ["dir `/srv/coursehub/course/demo2026/files`: mode 2770 \u2192 2550; "
                     "ACL + `group:jupyter-demo2026:r-x`, - `group:jupyter-demo2026:rwx`; "
                     "default ACL + `group::r-x`, + `group:jupyter-demo2026:r-x`, + `mask::r-x`, + `user::r-x`, "
                     "- `group::rwx`, - `group:jupyter-demo2026:rwx`, - `mask::rwx`, - `user::rwx`; "
                     "no git repository created any more (an existing one is kept)"]
    mounts = [line for line in lines if line.startswith("profile `mounts.instructor`")]
    assert mounts == ["profile `mounts.instructor`: + `/srv/coursehub/course/demo2026/data` at `/coursedata` "
                      "(read-only), + `/srv/coursehub/course/demo2026/files` at `/course` (read-only), "
                      "+ `/srv/nbgrader/exchange/demo2026` at `/srv/nbgrader/exchange/demo2026` (read-only), "
                      "- `/srv/coursehub/course/demo2026/data` at `/coursedata`, "
                      "- `/srv/coursehub/course/demo2026/files` at `/course`, "
                      "- `/srv/nbgrader/exchange/demo2026` at `/srv/nbgrader/exchange/demo2026`"]


def test_resources_gid_and_file_only_fields():
    before = courses_of(demo2026=body(gid=72040, resources={"memory": "2G", "cpus": 2},
                                      schedule=[{"date": "2026-10-02 16:00", "kind": "deadline", "what": "Round 1"}]))
    after = courses_of(demo2026=body(gid=72041, resources={"memory": "4G", "cpus": 2}, owner="ta1",
                                     schedule=[{"date": "2026-10-03 16:00", "kind": "deadline", "what": "Round 1"}],
                                     load={"students": 10, "cpu_per_student": 1, "memory_per_student": "1G",
                                           "data_gb": 1}))
    lines = lines_of(p.diff_plan(before, after), "demo2026")
    assert "profile `resources.memory`: 2G \u2192 4G" in lines
    assert not any("memory_bytes" in line for line in lines)
    gid = [line for line in lines if "gid" in line]
    assert gid == ["group `jupyter-demo2026`: gid 72040 \u2192 72041 (the groups module does not renumber an existing "
                   "group: renumber it by hand, see docs/operations.md)"]
    assert "`owner` (course file only): teacher1 \u2192 ta1" in lines
    assert "`schedule` (course file only): + 2026-10-03 16:00 deadline: Round 1, " \
           "- 2026-10-02 16:00 deadline: Round 1" in lines
    assert "`load.students` (course file only): none \u2192 10" in lines
    assert not any("memory_per_student_bytes" in line for line in lines)


def test_shareddata_readme_and_export():
    plan = p.diff_plan(courses_of(demo2026=body(), other2026=body(shareddata=["mnist"])),
                       courses_of(demo2026=body(shareddata=["mnist"]), other2026=body(shareddata=["mnist"])))
    assert "dir `/srv/coursehub/shareddata/mnist`: README rewritten" in plan["service"]
    assert "profile `shareddata`: + mnist" in lines_of(plan, "demo2026")
    plan = p.diff_plan(courses_of(demo2026=body()), courses_of(demo2026=body(shareddata=["mnist"])))
    assert "NFS export `shareddata` `/srv/coursehub/shareddata` (ro) is added" in plan["service"]


def test_settings_move_paths_in_the_plan():
    plan = p.diff_plan([], courses_of(demo2026=body()), {"course_root": "/data/course", "group_prefix": "hub-"})
    assert "group `hub-demo2026` is created: ta1, teacher1" in lines_of(plan, "demo2026")
    assert any(line.startswith("dir `/data/course/demo2026/files` is created") for line in lines_of(plan, "demo2026"))


def test_markdown_headline_sections_and_escaping():
    plan = p.diff_plan(courses_of(gone2026=body()),
                       courses_of(demo2026=body(name="Data *and* <b>stuff</b>")))
    text = p.render_markdown(plan, "origin/main", notes=["The base has 1 problem(s)."])
    assert text.startswith("## Course plan\n\nWorking tree compared with `origin/main`: **1 course added** "
                           "(`demo2026`), **1 course removed** (`gone2026`), **service-wide changes** "
                           "(directories, NFS exports or SMB).\n\n> The base has 1 problem(s).\n")
    assert "### `demo2026`: Data \\*and\\* \\<b\\>stuff\\</b\\>\n" in text
    assert text.index("### `demo2026`") < text.index("### `gone2026`")
    assert "\n- `demo2026` is added (public)" in text


def test_code_and_fenced_survive_backticks():
    assert p.code("a`b") == "``a`b``"
    assert p.code("`x") == "`` `x ``"
    block = p.fenced("one\n```\ntwo ````\n")
    assert block.startswith("`````text\n") and block.endswith("\n`````\n")
    assert p.fenced("plain") == "```text\nplain\n```\n"


def test_problems_markdown_lists_each_problem():
    problem = m.Problem("group_vars/courses/x2026.yml", 4, "course_x2026.state", "'archive' is not one of ...")
    text = p.render_problems([problem], "HEAD")
    assert "1 problem(s)" in text
    assert "\ngroup_vars/courses/x2026.yml:4: course_x2026.state: 'archive' is not one of ...\n" in text


def test_check_host_command_is_check_and_diff():
    argv = p.check_host_command("inventories/production", "/repo/playbooks/courses.yml", "/venv/bin/ansible-playbook")
    assert argv == ["/venv/bin/ansible-playbook", "-i", "inventories/production", "/repo/playbooks/courses.yml",
                    "--check", "--diff"]
    assert p.check_host_command("inv", "pb.yml")[0] == "ansible-playbook"
    appendix = p.render_check_host("inv", argv, 2, "fatal: ```boom```\n")
    assert "### Host check: `inv`" in appendix and "failed (exit code 2)" in appendix
    assert "````text\nfatal: ```boom```\n````" in appendix


# --------------------------------------------------------------------------
# coursectl plan on a temporary git repository
# --------------------------------------------------------------------------

def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env=dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid",
                            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.invalid"))


@pytest.fixture
def repo(tmp_path):
    """A git repository holding the sample courses, committed on main."""
    courses = tmp_path / "group_vars" / "courses"
    shutil.copytree(SAMPLES_DIR, courses)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "base")
    return tmp_path


def plan(repo, *args):
    return subprocess.run([sys.executable, COURSECTL, "plan", "--courses-dir", "group_vars/courses", *args],
                          cwd=str(repo), capture_output=True, text=True, check=False)


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_snapshot_instructor_added_and_course_made_private(repo):
    """The acceptance case: a PR adds teacher2 to mlbp2026 and makes it private."""
    mlbp = repo / "group_vars" / "courses" / "mlbp2026.yml"
    edit(mlbp, "  state: public\n", "  state: private\n")
    edit(mlbp, "  instructors: [teacher1, ta1]\n", "  instructors: [teacher1, ta1, teacher2]\n")
    result = plan(repo)
    assert (result.returncode, result.stderr) == (0, "")
    with open(os.path.join(SNAPSHOTS, "plan_private_with_instructor.md"), encoding="utf-8") as handle:
        assert result.stdout == handle.read()


def test_no_change_says_so(repo):
    result = plan(repo)
    assert result.returncode == 0
    assert "Working tree compared with `HEAD`: **no changes**." in result.stdout


def test_base_defaults_to_origin_main_and_reads_without_checkout(repo):
    courses = repo / "group_vars" / "courses"
    git(repo, "update-ref", "refs/remotes/origin/main", "HEAD")
    git(repo, "rm", "-q", str(courses / "privsec2026.yml"))
    git(repo, "commit", "-q", "-m", "drop privsec")
    (courses / "new2026.yml").write_text(course_text("new2026"), encoding="utf-8")
    result = plan(repo)
    assert result.returncode == 0, result.stderr
    # against origin/main (which still has privsec2026): one course added, one removed
    assert "compared with `origin/main`: **1 course added** (`new2026`), **1 course removed** (`privsec2026`)" \
        in result.stdout
    # against HEAD (the branch's own commit): only the new file
    head = plan(repo, "--base", "HEAD")
    assert "**1 course added** (`new2026`)" in head.stdout and "privsec2026" not in head.stdout
    assert not (courses / "privsec2026.yml").exists()  # nothing was checked out


def test_invalid_working_tree_prints_problems_and_fails(repo):
    edit(repo / "group_vars" / "courses" / "mlbp2026.yml", "  state: public\n", "  state: archive\n")
    result = plan(repo)
    assert result.returncode == 1
    assert "group_vars/courses/mlbp2026.yml:7: course_mlbp2026.state: 'archive' is not one of" in result.stdout
    assert "### " not in result.stdout


def test_invalid_base_is_a_note_not_a_failure(repo):
    mlbp = repo / "group_vars" / "courses" / "mlbp2026.yml"
    edit(mlbp, "  state: public\n", "  state: archive\n")
    git(repo, "commit", "-q", "-am", "broken")
    edit(mlbp, "  state: archive\n", "  state: public\n")
    result = plan(repo)
    assert result.returncode == 0
    assert "> The base has 1 problem(s) in its course files" in result.stdout
    assert "**1 course added** (`mlbp2026`)" in result.stdout


def test_unknown_base_and_no_repository_exit_2(repo, tmp_path_factory):
    result = plan(repo, "--base", "no-such-ref")
    assert result.returncode == 2 and "no commit no-such-ref" in result.stderr
    outside = tmp_path_factory.mktemp("plain")
    shutil.copytree(SAMPLES_DIR, outside / "group_vars" / "courses")
    result = plan(outside)
    assert result.returncode == 2 and "coursectl plan: git" in result.stderr


def test_hidden_and_other_files_in_base_are_skipped(repo):
    courses = repo / "group_vars" / "courses"
    (courses / ".draft.yml").write_text("not: [valid\n", encoding="utf-8")
    (courses / "README.md").write_text("# notes\n", encoding="utf-8")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "extras")
    result = plan(repo)
    assert result.returncode == 0 and "**no changes**" in result.stdout
