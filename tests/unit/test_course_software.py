"""The shared environment's software from the courses (module_utils/course_software.py)."""

import pytest

from course_helpers import base_course
from module_utils import course_model as m, course_software as s

PIP_CONFLICT = """ERROR: Cannot install -r /opt/coursehub/envs/default-1.requirements.txt (line 6) and \
threadpoolctl<2 because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested threadpoolctl<2
    scikit-learn 1.7.2 depends on threadpoolctl>=3.1.0
"""


def courses(*specs):
    """Validated courses a2026, b2026, ... with the given (state, packages[, environment])."""
    entries = []
    for i, spec in enumerate(specs):
        state, packages = spec[0], spec[1]
        slug = "c%d2026" % i
        data = dict(base_course(), state=state, packages=packages)
        if state == "absent":
            data["purge"] = True
        if len(spec) > 2:
            data["environment"] = spec[2]
        entries.append({"file": slug + ".yml", "key": "course_" + slug, "data": data})
    result, problems = m.validate_courses(entries)
    assert problems == []
    return result


def test_union_of_active_courses_in_the_environment():
    got = s.environment_packages(courses(
        ("public", ["scikit-learn>=1.5", "pandas==2.2.3"]),
        ("private", ["scikit-learn>=1.5"]),
        ("archived", ["torch==2.5.1"]),
        ("absent", ["keras==3.6.0"]),
        ("public", ["numpy==2.1.3"], "gpu"),
    ), "default")
    assert got == [
        {"spec": "pandas==2.2.3", "name": "pandas", "courses": ["c02026"]},
        {"spec": "scikit-learn>=1.5", "name": "scikit-learn", "courses": ["c02026", "c12026"]},
    ]


def test_requirements_text_and_its_id():
    packages = s.environment_packages(courses(("public", ["scikit-learn>=1.5"])), "default")
    text = s.requirements_text(["jupyterlab==4.6.6"], packages)
    assert text.splitlines()[1:] == ["jupyterlab==4.6.6", "scikit-learn>=1.5  # c02026"]
    assert s.environment_id(text) == s.environment_id(text) and len(s.environment_id(text)) == 12
    assert s.environment_id(text) != s.environment_id(s.requirements_text(["jupyterlab==4.6.6"], []))


def test_culprits_names_every_course_pip_mentions():
    packages = s.environment_packages(courses(
        ("public", ["scikit-learn>=1.5"]),
        ("public", ["threadpoolctl<2"]),
        ("public", ["pandas==2.2.3"]),
    ), "default")
    assert s.culprits(PIP_CONFLICT, packages) == {"c02026": ["scikit-learn>=1.5"], "c12026": ["threadpoolctl<2"]}


@pytest.mark.parametrize("text,named", [
    ("scikit_learn 1.7 depends on numpy", True),      # pip may print another spelling
    ("Scikit-Learn==1.7", True),
    ("scikit-learn-extra 0.3 depends on numpy", False),  # another distribution
    ("my-scikit-learn", False),
])
def test_culprits_match_whole_names(text, named):
    packages = [{"spec": "scikit-learn>=1.5", "name": "scikit-learn", "courses": ["a2026"]}]
    assert bool(s.culprits(text, packages)) == named
