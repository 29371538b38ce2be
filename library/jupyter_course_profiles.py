#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: courses.json, what the hub offers whom, from every course in one call."""

DOCUMENTATION = r"""
---
module: jupyter_course_profiles
short_description: Write the hub's courses.json from the coursehub course files
description:
  - Validates the course variables with the coursehub course model and fails with every problem before changing
    anything.
  - Writes the model's C(desired_profiles) as JSON (sorted keys, indent 2, a final newline) to O(dest),
    atomically, mode 0600, owned by root. Archived courses are in it (the hub hides them); absent ones are not.
  - The file names every instructor and listed student of every course, private ones included, and only the
    hub (root) reads it, so no other user may read it. A file found with another mode or owner is corrected.
  - Creates the parent directory (mode 0755) when it is missing.
  - The hub reads the file when it changes, so no restart is needed.
  - Also writes each live, non-archived course's Jupyter config directories,
    C(<nbgrader_config_root>/<slug>/student) and C(.../instructor), which the hub puts on
    C(JUPYTER_CONFIG_PATH) of a course server - C(nbgrader_config.py) (course id, C(/course), group-shared
    course directory, the exchange) and, in student mode, a lab page config and server config that switch
    the grading extensions off. They name no user, and course servers read them as their user, so they are
    mode 0644. Files of courses that went away are left in place.
version_added: "1.0.0"
author: coursehub
extends_documentation_fragment:
  - coursehub
options:
  settings:
    description:
      - Overrides for the course model's settings (mount paths, C(image_template), default resources, ...).
    type: dict
    default: {}
  dest:
    description:
      - Where to write the file. Defaults to the C(courses_json) setting, C(/etc/jupyterhub/courses.json).
    type: path
notes:
  - Supports check mode and diff mode.
"""

EXAMPLES = r"""
- name: Courses for the hub
  jupyter_course_profiles:
    courses: "{{ dict(query('varnames', '^course_') | zip(query('vars', *query('varnames', '^course_')))) }}"
  notify: reload courses

- name: Courses for a second hub
  jupyter_course_profiles:
    courses: "{{ courses }}"
    dest: /etc/jupyterhub-test/courses.json
"""

RETURN = r"""
dest:
  description: The file written.
  returned: always
  type: str
  sample: /etc/jupyterhub/courses.json
courses:
  description: The slugs of the courses in the file, sorted.
  returned: always
  type: list
  elements: str
  sample: [deeplearn2026, mlbp2026, oldstats2025, privsec2026]
files:
  description: Every file written (or, in check mode, to be written), mapped to what differed.
  returned: always
  type: dict
  sample: {"/etc/coursehub/nbgrader/mlbp2026/student/nbgrader_config.py": ["created"]}
changes:
  description: What changed (or would change), among V(content), V(mode OLD->NEW), V(owner), V(created).
  returned: always
  type: list
  elements: str
  sample: [content]
problems:
  description: On a validation failure, each problem with C(file), C(line), C(field) and C(message).
  returned: failure
  type: list
  elements: dict
"""

import json
import os
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.course_model import desired_course_configs, desired_profiles
from ansible.module_utils.course_module import course_argument_spec, load_courses

# courses.json names the students of private courses: the hub (root) alone reads it.
PROFILES_MODE = 0o600
# The per-course Jupyter configs name no one; each course server reads them as its user.
CONFIG_MODE = 0o644


def render(profiles):
    """The exact text of courses.json: byte-stable for the same courses."""
    return json.dumps(profiles, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def file_changes(new_text, old_text, st, mode):
    """What differs between the wanted file (with mode) and the current one (old_text and st None when missing)."""
    if st is None:
        return ["created"]
    changes = ["content"] if old_text != new_text else []
    if stat.S_IMODE(st.st_mode) != mode:
        changes.append("mode %04o->%04o" % (stat.S_IMODE(st.st_mode), mode))
    if (st.st_uid, st.st_gid) != (0, 0):
        changes.append("owner")
    return changes


def read_current(dest):
    """(text, stat) of dest, or (None, None) when it is missing; text None if it is not UTF-8."""
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        return None, None
    try:
        with open(dest, encoding="utf-8") as handle:
            return handle.read(), st
    except UnicodeDecodeError:
        return None, st


def write(module, dest, text, mode):
    """Write text to dest atomically, with mode, root:root, creating a missing parent as 0755.

    The temporary file is created 0600 (mkstemp), so the text is never readable by others on the way.
    """
    parent = os.path.dirname(dest)
    if not os.path.isdir(parent):
        os.makedirs(parent, mode=0o755)
        os.chmod(parent, 0o755)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".coursehub-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, mode)
        os.chown(tmp, 0, 0)
        module.atomic_move(tmp, dest, keep_dest_attrs=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chmod(dest, mode)
    os.chown(dest, 0, 0)


def main():
    module = AnsibleModule(argument_spec=course_argument_spec(dest={"type": "path"}), supports_check_mode=True)
    courses, settings = load_courses(module)
    dest = module.params["dest"] or settings["courses_json"]
    profiles = desired_profiles(courses, settings)
    # courses.json first, then each course's per-mode Jupyter config directory.
    wanted = {dest: (render(profiles), PROFILES_MODE)}
    wanted.update((path, (text, CONFIG_MODE)) for path, text in desired_course_configs(courses, settings).items())

    files, diffs = {}, []
    for path, (text, mode) in wanted.items():
        old_text, st = read_current(path)
        changes = file_changes(text, old_text, st, mode)
        if not changes:
            continue
        files[path] = changes
        if module._diff and old_text != text:
            diffs.append({"before": old_text or "", "after": text, "before_header": path, "after_header": path})
        if not module.check_mode:
            write(module, path, text, mode)
    result = {"changed": bool(files), "dest": dest, "courses": sorted(profiles["courses"]),
              "changes": files.get(dest, []), "files": files}
    if diffs:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
