# -*- coding: utf-8 -*-
"""Options shared by every jupyter_course_* module."""


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    DOCUMENTATION = r"""
options:
  courses:
    description:
      - The course variables as Ansible loaded them, a mapping from C(course_<slug>) to the course.
        Keys that do not start with C(course_) are ignored.
    type: dict
    required: true
  courses_dir:
    description:
      - The directory the course files live in; only used to name files in error messages.
    type: str
    default: group_vars/courses
"""
