# -*- coding: utf-8 -*-
"""Who may start which course, and what a course server gets.

Pure logic over the profiles in courses.json (``course_model.desired_profiles``)
and a user's group names; no system calls. The hub extension
(roles/jupyterhub/files/coursehub_spawner.py, which gets a copy of this file)
and the Kubernetes rendering (``kubespawner_profiles``, ``coursectl render``)
both use it, so the two backends offer the same courses to the same users.
"""
import posixpath

PERSONAL = "personal"
INSTRUCTOR = "instructor"
STUDENT = "student"
HIDDEN_STATES = ("archived", "absent")


def modes_for(course, groups):
    """The modes in which a user with these groups may start the course."""
    if course.get("state") in HIDDEN_STATES:
        return []
    if course["instructors_group"] in groups:
        return [STUDENT, INSTRUCTOR]
    listed = bool(course.get("students_group")) and course["students_group"] in groups
    if course.get("private") or not course.get("allow_non_students", True):
        return [STUDENT] if listed else []
    return [STUDENT]


def choices(courses, groups):
    """[(value, label)] for the spawn form, in slug order, personal server first."""
    offered = [(PERSONAL, "Personal server (no course)")]
    for slug in sorted(courses):
        course = courses[slug]
        for mode in modes_for(course, groups):
            label = f"{course['name']} ({slug})"
            offered.append((encode(slug, mode), label + (" (instructor)" if mode == INSTRUCTOR else "")))
    return offered


def encode(slug, mode):
    return slug if mode == STUDENT else f"{slug}:{mode}"


def decode(value):
    """'slug' or 'slug:instructor' -> (slug, mode); raises ValueError on anything else."""
    slug, _, mode = str(value).partition(":")
    mode = mode or STUDENT
    if mode not in (STUDENT, INSTRUCTOR) or not slug or not slug.isalnum():
        raise ValueError(f"not a course choice: {value!r}")
    return slug, mode


def authorize(courses, groups, slug, mode):
    """None when allowed, else the reason (for a 403 and the log)."""
    if slug == PERSONAL:
        return None
    course = courses.get(slug)
    if course is None:
        return f"there is no course {slug}"
    allowed = modes_for(course, groups)
    if mode in allowed:
        return None
    if mode == INSTRUCTOR and STUDENT in allowed:
        return f"only instructors of {slug} may start it in instructor mode"
    return f"you may not start course {slug}"


def _confinement(settings):
    """Unit properties every server gets, personal ones too: no course's exchange
    is visible (an empty read-only tmpfs over the exchange mount, the host's
    exchange root inaccessible where it lies elsewhere), nor the hidden paths."""
    hidden = list(settings.get("hidden_paths", []))
    exchange_root = settings.get("exchange_root")
    if exchange_root and exchange_root != settings["exchange_mount"]:
        hidden.append(exchange_root)
    return {
        "TemporaryFileSystem": f"{settings['exchange_mount']}:ro",
        "InaccessiblePaths": " ".join(f"-{p}" for p in hidden),
    }


def unit_settings(course, slug, mode, settings):
    """Limits, mounts, groups and environment of a course server, as plain data."""
    if slug == PERSONAL:
        properties = {k: v for k, v in _confinement(settings).items() if v}
        return {"mem_limit": None, "cpu_limit": None, "properties": properties, "environment": {"COURSEHUB": "1"}}
    instructor = mode == INSTRUCTOR
    binds, read_only = [], []
    for mount in course["mounts"][INSTRUCTOR if instructor else STUDENT]:
        spec = f"{mount['source']}:{mount['target']}"
        (read_only if mount["read_only"] else binds).append(spec)
    shared_root = settings.get("shareddata_root")
    if course.get("shareddata") and shared_root:
        read_only.append(f"{shared_root}:{settings['shareddata_mount']}")
    groups = [course["instructors_group"]] if instructor else []
    if course.get("students_group") and not instructor:
        groups.append(course["students_group"])
    # Other courses' exchanges and the hidden paths stay out of sight; the
    # course's own exchange is bound into the empty tmpfs below.
    properties = _confinement(settings)
    if binds:
        properties["BindPaths"] = " ".join(binds)
    if read_only:
        properties["BindReadOnlyPaths"] = " ".join(read_only)
    if groups:
        properties["SupplementaryGroups"] = " ".join(groups)
    if instructor:
        # Instructors share /course through the group.
        properties["UMask"] = "0007"
    properties = {k: v for k, v in properties.items() if v}
    environment = {
        "COURSEHUB": "1",
        "COURSEHUB_COURSE": slug,
        "COURSEHUB_MODE": mode,
        "JUPYTER_IMAGE_SPEC": course.get("image") or course.get("environment") or "default",
        "JUPYTER_CONFIG_PATH": posixpath.join(settings["nbgrader_config_root"], slug, mode),
    }
    if instructor:
        # /course belongs to root (the course group shares it), and git refuses a
        # repository its user does not own unless it is a safe.directory.
        environment.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "safe.directory",
                            "GIT_CONFIG_VALUE_0": settings.get("course_mount", "/course")})
    return {
        "mem_limit": course["resources"]["memory"],
        "cpu_limit": float(course["resources"]["cpus"]),
        "properties": properties,
        "environment": environment,
    }
