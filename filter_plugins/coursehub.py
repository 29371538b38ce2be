# -*- coding: utf-8 -*-
"""Filters that put the course model to work on the controller.

They run before anything on a host changes, so a bad course file stops the
play in its first task with every problem named (file, line, field).
"""
import os
import sys

from ansible.errors import AnsibleFilterError

# The course model lives in the repository's module_utils/, which Ansible only
# ships inside module payloads; the controller imports it from the checkout.
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from module_utils import course_files, course_model  # noqa: E402  pylint: disable=wrong-import-position
from module_utils import course_software, course_storage  # noqa: E402  pylint: disable=wrong-import-position


def _courses(course_vars, courses_dir, settings):
    if not isinstance(course_vars, dict):
        raise AnsibleFilterError(f"course variables must be a mapping, got {course_model.type_name(course_vars)}")
    courses, problems = course_model.courses_from_vars(course_vars, courses_dir=courses_dir, settings=settings)
    if problems:
        lines = "\n".join(str(problem) for problem in sorted(problems, key=lambda p: p.sort_key()))
        raise AnsibleFilterError(f"{len(problems)} problem(s) in the course files:\n{lines}")
    return courses


def course_validate(course_vars, courses_dir="group_vars/courses", settings=None):
    """Validate the `course_*` variables; return the normalised courses or fail."""
    return _courses(course_vars, courses_dir, settings or {})


def course_files_check(playbook_dir, inventory_sources, settings=None):
    """Read every group_vars/courses directory Ansible will load, as files, and validate them together.

    Ansible's own loading loses what the contract is about: it names no file
    on a YAML error, silently keeps one of two equal keys or equal slugs,
    loads <slug>.yaml and keys that are not course_<slug>, and templates
    strings (a lookup in a course file runs on the controller).  So this runs
    on localhost before any host loads the files.  Returns the number of files.
    """
    count, problems = course_files.check_ansible_dirs(playbook_dir, inventory_sources or [], settings or {})
    if problems:
        lines = "\n".join(str(problem) for problem in problems)
        raise AnsibleFilterError(f"{len(problems)} problem(s) in the course files:\n{lines}")
    return count


def course_summary(course_vars, courses_dir="group_vars/courses", settings=None):
    """One line per course (slug, state, instructors) for readable play output."""
    return [
        f"{c['slug']}: {c['state']}, {len(c['instructors'])} instructor(s), {len(c['students'])} listed student(s)"
        for c in _courses(course_vars, courses_dir, settings or {})
    ]


def _storage(render, *args, **kwargs):
    try:
        return render(*args, **kwargs)
    except ValueError as exc:
        raise AnsibleFilterError(str(exc)) from None


def course_nfs_exports(course_vars, courses_dir="group_vars/courses", settings=None, clients=(), sec=("sys",),
                       squash="root_squash", homes=False):
    """The NFS exports of the course tree, exchange, shared data and (homes=true) homes, to the given clients."""
    courses = _courses(course_vars, courses_dir, settings or {})
    return _storage(course_storage.nfs_exports, courses, settings or {}, clients, sec, squash, homes)


def course_kernel_exports(exports):
    """/etc/exports.d text of course_nfs_exports' result."""
    return course_storage.render_kernel_exports(exports)


def course_ganesha_exports(exports):
    """NFS-Ganesha EXPORT blocks of course_nfs_exports' result."""
    return course_storage.render_ganesha_exports(exports)


def course_smb_share(course_vars, courses_dir="group_vars/courses", settings=None, name="course", valid_users=()):
    """The SMB share over the course tree, with valid users from the course groups."""
    courses = _courses(course_vars, courses_dir, settings or {})
    return _storage(course_storage.smb_share, courses, settings or {}, name, valid_users)


def course_smb_section(share):
    """smb.conf section of course_smb_share's result."""
    return course_storage.render_smb_share(share)


def course_environment(course_vars, courses_dir="group_vars/courses", settings=None, environment="default",
                       core=()):
    """The shared environment's build: {packages, requirements, id} from the active courses that use it."""
    courses = _courses(course_vars, courses_dir, settings or {})
    packages = course_software.environment_packages(courses, environment)
    text = course_software.requirements_text(core, packages)
    return {"packages": packages, "requirements": text, "id": course_software.environment_id(text)}


def course_package_culprits(pip_output, packages):
    """The courses whose requirements pip's failure names, as readable text."""
    named = course_software.culprits(pip_output or "", packages)
    if not named:
        courses = sorted({slug for entry in packages for slug in entry["courses"]})
        return "pip named none of the courses' packages; the courses with packages are: %s" % (
            ", ".join(courses) or "none")
    return "; ".join("%s (%s)" % (slug, ", ".join(specs)) for slug, specs in named.items())


class FilterModule:
    """coursehub course filters."""

    def filters(self):
        return {
            "course_validate": course_validate,
            "course_files_check": course_files_check,
            "course_summary": course_summary,
            "course_nfs_exports": course_nfs_exports,
            "course_kernel_exports": course_kernel_exports,
            "course_ganesha_exports": course_ganesha_exports,
            "course_smb_share": course_smb_share,
            "course_smb_section": course_smb_section,
            "course_environment": course_environment,
            "course_package_culprits": course_package_culprits,
        }
