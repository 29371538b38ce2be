"""Helpers for the course model tests: paths of the repository, course files as text.

A plain module rather than conftest.py, so that `from course_helpers import ...`
cannot pick up another directory's conftest when suites run together.
"""

import datetime
import os

import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCHEMA_LINE = "# yaml-language-server: $schema=../../schemas/course.schema.json\n"
SAMPLES_DIR = os.path.join(REPO_ROOT, "group_vars", "courses")
DROP = object()  # a change that removes the key


def base_course():
    """A minimal valid course body; tests change one thing at a time."""
    return {
        "name": "Demo course",
        "owner": "teacher1",
        "instructors": ["teacher1", "ta1"],
        "start": datetime.date(2026, 9, 1),
        "end": datetime.date(2026, 12, 18),
    }


def course_text(slug="demo2026", key=None, **changes):
    """YAML text of one course file: base_course() with changes (DROP removes a key)."""
    body = base_course()
    for name, value in changes.items():
        if value is DROP:
            body.pop(name, None)
        else:
            body[name] = value
    return SCHEMA_LINE + yaml.safe_dump({key or "course_" + slug: body}, sort_keys=False)


SAMPLES_TODAY = datetime.date(2026, 11, 1)


def validated_samples(today=SAMPLES_TODAY):
    """The sample course files, validated by the model; fails on any problem."""
    from module_utils import course_files, course_model
    entries, problems = course_files.load_paths([SAMPLES_DIR])
    courses, model_problems = course_model.validate_courses(entries, today=today)
    assert problems + model_problems == []
    return courses


def validated_courses(today=SAMPLES_TODAY, **bodies):
    """Validated courses from slug=body; every body must be valid."""
    from module_utils import course_model
    entries = [{"file": slug + ".yml", "key": "course_" + slug, "data": body} for slug, body in bodies.items()]
    courses, problems = course_model.validate_courses(entries, today=today)
    assert problems == []
    return courses


def course_body(**changes):
    """base_course() with changes."""
    data = base_course()
    data.update(changes)
    return data
