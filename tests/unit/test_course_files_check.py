"""The controller-side check of course files as files (playbooks/course-files.yml):
what Ansible would load silently, or fail on without naming the file.

(The filter plugin only raises on these problems; it is not imported here, as
importing ansible.errors first changes how later module tests see warnings.)"""
import os
import shutil

import pytest

from module_utils import course_files


class Refused(Exception):
    pass


def course_files_check(playbook_dir, inventory_sources):
    count, problems = course_files.check_ansible_dirs(playbook_dir, inventory_sources)
    if problems:
        raise Refused("%d problem(s)\n" % len(problems) + "\n".join(str(p) for p in problems))
    return count

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(REPO, "group_vars", "courses", "mlbp2026.yml")


def playbook_dir_with(tmp_path, name, text):
    courses = tmp_path / "group_vars" / "courses"
    courses.mkdir(parents=True)
    shutil.copy(SAMPLE, courses / "mlbp2026.yml")
    (courses / name).write_text(text)
    return str(tmp_path)


def test_the_samples_pass():
    assert course_files_check(REPO, []) == 4


def test_an_impossible_unquoted_date_names_the_file_and_field():
    _, problems = course_files.parse_text("course_x2026:\n  start: 2026-13-45\n", "group_vars/courses/x2026.yml")
    assert len(problems) == 1
    text = str(problems[0])
    assert "x2026.yml" in text and "course_x2026.start" in text and "not a date" in text


@pytest.mark.parametrize("name,text,expected", [
    ("alpha2026.yml", "course_beta2026:\n  name: B\n", "alpha2026.yml"),
    ("oops2026.yml", "course_oops2026:\n  name: [unclosed\n", "oops2026.yml"),
    ("jinja2026.yml", "course_jinja2026:\n  name: \"{{ lookup('env', 'HOME') }}\"\n", "course_jinja2026.name"),
])
def test_what_ansible_would_load_silently_is_refused(tmp_path, name, text, expected):
    with pytest.raises(Refused) as raised:
        course_files_check(playbook_dir_with(tmp_path, name, text), [])
    assert expected in str(raised.value)


def test_inventory_sources_are_read_too(tmp_path):
    inventory = tmp_path / "inv"
    playbook_dir_with(inventory, "typo2026.yml", "coruse_typo2026: {}\n")
    with pytest.raises(Refused, match="typo2026.yml"):
        course_files_check(REPO, [str(inventory / "hosts.yml")])


def test_a_clash_is_reported_on_the_inventory_file_not_the_repository_one(tmp_path):
    inventory = tmp_path / "zzz" / "inv"  # sorts after the repository's path, and before it
    for root in (tmp_path / "zzz" / "inv", tmp_path / "aaa"):
        courses = root / "group_vars" / "courses"
        courses.mkdir(parents=True)
        (courses / "samegid2026.yml").write_text(
            open(SAMPLE).read().replace("course_mlbp2026", "course_samegid2026"))
        with pytest.raises(Refused) as raised:
            course_files_check(REPO, [str(root / "hosts.yml")])
        first_line = str(raised.value).splitlines()[1]
        assert "samegid2026.yml" in first_line.split(":")[0] and "course_samegid2026.gid" in first_line
    assert inventory.exists()
