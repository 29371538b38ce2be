"""bin/coursectl validate, run as CI runs it."""

import os
import re
import subprocess
import sys

from course_helpers import REPO_ROOT, course_text

COURSECTL = os.path.join(REPO_ROOT, "bin", "coursectl")
LINE = re.compile(r"^[^:\s]+(:[0-9]+)?: [^\s:]+: \S.*$")


def coursectl(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, COURSECTL, *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_samples_validate():
    result = coursectl("validate")
    assert (result.returncode, result.stdout) == (0, "")
    assert "4 course(s) valid" in result.stderr


def test_bad_dir_exits_1_with_one_line_per_problem(write_files):
    directory = write_files({"demo2026.yml": course_text(state="archive", instuctors=["x"]),
                             "bad2026.yml": "course_bad2026:\n  name: [\n"})
    result = coursectl("validate", str(directory), cwd=str(directory))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert all(LINE.match(line) for line in lines), lines
    assert any(line.startswith("demo2026.yml:") and ": course_demo2026.state: " in line for line in lines)
    assert any(line.startswith("bad2026.yml:") and ": (yaml): " in line for line in lines)


def test_missing_path_is_a_problem(tmp_path):
    result = coursectl("validate", str(tmp_path / "nope.yml"))
    assert result.returncode == 1 and "no such file" in result.stdout


def test_help():
    assert "validate" in coursectl("--help").stdout
    assert "PATH" in coursectl("validate", "--help").stdout
    assert coursectl().returncode == 2


def test_executable_with_shebang():
    with open(COURSECTL, encoding="utf-8") as handle:
        assert handle.readline() == "#!/usr/bin/env python3\n"
    assert os.access(COURSECTL, os.X_OK)


def test_planning_subcommands_have_help():
    top = coursectl("--help").stdout
    for command, option in (("plan", "--base"), ("calendar", "--output"), ("load", "--chart"),
                            ("maintenance", "--window"), ("expiry", "--within"), ("renew", "NEWSLUG")):
        assert command in top
        result = coursectl(command, "--help")
        assert result.returncode == 0 and option in result.stdout, command


def test_load_help_explains_the_model():
    assert "lecture 30%" in coursectl("load", "--help").stdout


def test_invalid_courses_stop_the_reports(write_files):
    directory = write_files({"demo2026.yml": course_text(state="archive")})
    for command in (["calendar"], ["load"], ["expiry"]):
        result = coursectl(*command, "--courses-dir", str(directory))
        assert result.returncode == 1 and "course_demo2026.state" in result.stderr, command
    # maintenance always exits 0, but says which files it could not check
    result = coursectl("maintenance", "--window", "2026-10-01..2026-10-02", "--courses-dir", str(directory))
    assert result.returncode == 0 and "warning: not checked:" in result.stderr
