# -*- coding: utf-8 -*-
"""The software of a shared user environment, from the courses that use it (pure).

Every active course (public or private) adds its ``packages`` to its
``environment``. The user_env role installs the union into a new directory,
runs ``pip check``, and only then points the live environment at it. When pip
cannot build the union, ``culprits`` names the courses whose requirements pip
mentions, so the failure says whose pins clash.
"""

import hashlib
import re

from module_utils import course_model

ACTIVE_STATES = ("public", "private")


def environment_packages(courses, environment):
    """[{spec, courses}] of the active courses in environment, one entry per distinct specifier, sorted."""
    owners = {}
    for course in courses:
        if course["state"] in ACTIVE_STATES and course["environment"] == environment:
            for spec in course["packages"]:
                owners.setdefault(spec, set()).add(course["slug"])
    return [{"spec": spec, "name": course_model.package_name(spec), "courses": sorted(slugs)}
            for spec, slugs in sorted(owners.items(), key=lambda item: (course_model.package_name(item[0]), item[0]))]


def requirements_text(core, packages):
    """The environment's requirements file: the pinned core, then each course package with its courses."""
    lines = ["# coursehub environment: the pinned core, then the packages its courses ask for."]
    lines += list(core)
    lines += ["%s  # %s" % (entry["spec"], ", ".join(entry["courses"])) for entry in packages]
    return "\n".join(lines) + "\n"


def environment_id(text):
    """A short, stable name for one requirements text (the directory suffix of its build)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def _mentions(text, name):
    """Does pip's output mention the distribution (any spelling of - _ .), as a whole word?"""
    pattern = r"(?<![A-Za-z0-9._-])" + r"[-_.]".join(re.escape(part) for part in name.split("-")) + \
        r"(?![A-Za-z0-9_]|[-.][A-Za-z])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def culprits(pip_output, packages):
    """{slug: [specs]} of the courses whose packages pip's error output names."""
    named = {}
    for entry in packages:
        if _mentions(pip_output, entry["name"]):
            for slug in entry["courses"]:
                named.setdefault(slug, []).append(entry["spec"])
    return dict(sorted(named.items()))
