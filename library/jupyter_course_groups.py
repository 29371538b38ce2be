#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the unix groups of every course, in one call."""

DOCUMENTATION = r"""
---
module: jupyter_course_groups
short_description: Unix groups and exclusive members for coursehub courses
description:
  - Validates the course variables with the coursehub course model and fails with every problem before changing
    anything.
  - Makes sure each course on the host has the group C(jupyter-<slug>) (with the course's fixed gid, when it has
    one) whose members are exactly its instructors, and, when the course lists students, C(jupyter-<slug>-students)
    whose members are exactly those students.
  - Membership is exclusive; a member who is no longer listed is removed. Users whose primary group it is are not
    touched (unix does not list them as members).
  - For courses with C(state=absent) and C(purge=true) both groups are deleted. No other group is ever deleted.
  - Reads the current state in-process (one C(getgrall), one C(getpwall)) and runs a tool only for a real change,
    C(groupadd), C(groupdel) or one C(gpasswd -M) per group whose members change.
  - A fixed gid that differs from the gid of the existing group is an error; the module does not renumber, because
    files on disk (and on NFS clients) keep the old number. Renumber by hand (C(groupmod -g), then C(chgrp) the
    files) or drop the gid from the course file.
version_added: "1.0.0"
author: coursehub
extends_documentation_fragment:
  - coursehub
options:
  settings:
    description:
      - Overrides for the course model's settings (paths, C(group_prefix), C(students_group_suffix), ...).
    type: dict
    default: {}
  missing_users:
    description:
      - What to do when a course lists a user that does not exist on the host.
      - V(fail) fails before changing anything, listing the unknown users of every course.
      - V(warn) leaves them out of the groups and warns.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - Supports check mode and diff mode. The diff shows the changing groups as C(name:gid:members) lines.
  - Users that exist only in a directory service that does not enumerate are found with a C(getpwnam) each.
requirements:
  - groupadd, groupdel, gpasswd (Debian package C(passwd))
"""

EXAMPLES = r"""
- name: Course groups
  jupyter_course_groups:
    courses: "{{ dict(query('varnames', '^course_') | zip(query('vars', *query('varnames', '^course_')))) }}"

- name: Course groups, tolerating students who have no account yet
  jupyter_course_groups:
    courses: "{{ courses }}"
    missing_users: warn
    settings:
      group_prefix: "jh-"
"""

RETURN = r"""
courses:
  description:
    - What changed (or would change), per course slug; only courses with a change or with missing users appear.
    - V(created) and V(deleted) list group names; V(members_added), V(members_removed) and V(missing_users) map a
      group name to user names.
  returned: always
  type: dict
  sample:
    mlbp2026:
      created: [jupyter-mlbp2026]
      deleted: []
      members_added: {jupyter-mlbp2026: [ta1, teacher1]}
      members_removed: {}
      missing_users: {}
groups:
  description: The names of the groups the courses want, sorted.
  returned: always
  type: list
  elements: str
  sample: [jupyter-mlbp2026, jupyter-privsec2026, jupyter-privsec2026-students]
commands:
  description: The commands run, or in check mode the commands that would run. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["groupadd -g 72026 jupyter-mlbp2026", "gpasswd -M ta1,teacher1 jupyter-mlbp2026"]
problems:
  description: On a validation failure, each problem with C(file), C(line), C(field) and C(message).
  returned: failure
  type: list
  elements: dict
"""

import grp
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.course_model import desired_groups, purged_groups
from ansible.module_utils.course_module import Runner, course_argument_spec, load_courses


# --------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------

def read_groups(entries):
    """{name: (gid, sorted members)} from grp.getgrall()-like entries."""
    return {g.gr_name: (g.gr_gid, sorted(g.gr_mem)) for g in entries}


def missing_members(wanted, user_exists):
    """{course: {group: [unknown users]}} for the wanted groups."""
    missing = {}
    for group in wanted:
        unknown = [user for user in group["members"] if not user_exists(user)]
        if unknown:
            missing.setdefault(group["course"], {})[group["name"]] = unknown
    return missing


def plan(wanted, purged, current, skip=None):
    """The changes that turn current into wanted, and the problems that forbid them.

    wanted: desired_groups(); purged: {group name to delete: course slug}; current:
    read_groups(); skip: {group: [users to leave out]}.  Returns (actions,
    problems): actions are dicts with op create/members/delete, in the order
    to run them (deletions first, so a purged course's gid is free again).
    """
    skip = skip or {}
    actions, problems = [], []
    gids = {gid: name for name, (gid, _) in current.items()}
    for name, course in sorted(purged.items()):
        if name in current:
            actions.append({"op": "delete", "group": name, "course": course, "members": current[name][1]})
    freed = {current[a["group"]][0] for a in actions}
    for group in wanted:
        name, gid, course = group["name"], group["gid"], group["course"]
        members = sorted(set(group["members"]) - set(skip.get(name, ())))
        if name in current:
            have_gid, have = current[name]
            if gid is not None and have_gid != gid:
                problems.append("course %s: group %s has gid %d, the course file asks for %d; renumber it by hand "
                                "(groupmod -g, then chgrp its files) or drop gid from the course file"
                                % (course, name, have_gid, gid))
            elif have != members:
                actions.append({"op": "members", "group": name, "course": course, "members": members,
                                "added": sorted(set(members) - set(have)), "removed": sorted(set(have) - set(members))})
        else:
            if gid is not None and gid in gids and gid not in freed:
                problems.append("course %s: gid %d for group %s is already taken by group %s"
                                % (course, gid, name, gids[gid]))
            actions.append({"op": "create", "group": name, "course": course, "gid": gid, "members": members,
                            "added": members, "removed": []})
    return actions, problems


def commands(action):
    """The argv lists that carry out one action."""
    name = action["group"]
    if action["op"] == "delete":
        return [["groupdel", name]]
    argv = []
    if action["op"] == "create":
        argv.append(["groupadd"] + (["-g", str(action["gid"])] if action["gid"] is not None else []) + [name])
    if action["op"] == "members" or action["members"]:
        argv.append(["gpasswd", "-M", ",".join(action["members"]), name])
    return argv


def summary(actions, missing):
    """{course: {created, deleted, members_added, members_removed, missing_users}} for courses that change."""
    out = {}

    def course_entry(course):
        return out.setdefault(course, {"created": [], "deleted": [], "members_added": {}, "members_removed": {},
                                       "missing_users": {}})
    for action in actions:
        entry = course_entry(action["course"])
        if action["op"] == "create":
            entry["created"].append(action["group"])
        if action["op"] == "delete":
            entry["deleted"].append(action["group"])
        for key in ("added", "removed"):
            if action.get(key):
                entry["members_" + key][action["group"]] = action[key]
    for course, groups in missing.items():
        course_entry(course)["missing_users"] = groups
    return out


def group_lines(names, groups):
    """/etc/group-like lines 'name:gid:members' for the diff; groups maps name -> (gid, members)."""
    return "".join("%s:%s:%s\n" % (name, groups[name][0], ",".join(groups[name][1]))
                   for name in sorted(names) if name in groups)


def after_state(current, actions):
    """current with the actions applied (a new gid shows as 'auto' when the system picks it)."""
    after = dict(current)
    for action in actions:
        if action["op"] == "delete":
            after.pop(action["group"], None)
        else:
            gid = after.get(action["group"], (action.get("gid"),))[0]
            after[action["group"]] = ("auto" if gid is None else gid, action["members"])
    return after


# --------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------

def user_checker(users):
    """user_exists(name): the names pwd.getpwall() listed, then getpwnam for others (non-enumerating NSS)."""
    known = {p.pw_name for p in users}

    def exists(name):
        if name not in known:
            try:
                pwd.getpwnam(name)
            except KeyError:
                return False
            known.add(name)
        return True
    return exists


def main():
    module = AnsibleModule(
        argument_spec=course_argument_spec(missing_users={"type": "str", "choices": ["fail", "warn"],
                                                          "default": "fail"}),
        supports_check_mode=True,
    )
    courses, settings = load_courses(module)
    wanted = desired_groups(courses, settings)
    purged = {name: course["slug"] for course in courses for name in purged_groups([course], settings)}

    current, users = read_groups(grp.getgrall()), pwd.getpwall()
    missing = missing_members(wanted, user_checker(users))
    lines = ["course %s: %s: %s" % (course, group, ", ".join(users))
             for course, groups in sorted(missing.items()) for group, users in sorted(groups.items())]
    if missing and module.params["missing_users"] == "fail":
        module.fail_json(msg="unknown users (create them first, or set missing_users=warn):\n" + "\n".join(lines),
                         missing_users=missing)
    for line in lines:
        module.warn("left out unknown users: " + line)
    skip = {group: users for groups in missing.values() for group, users in groups.items()}

    actions, problems = plan(wanted, purged, current, skip)
    primary = {p.pw_gid: p.pw_name for p in users}
    problems += ["group %s is the primary group of user %s; it cannot be deleted" % (a["group"], primary[gid])
                 for a in actions if a["op"] == "delete" for gid in [current[a["group"]][0]] if gid in primary]
    if problems:
        module.fail_json(msg="\n".join(problems), problems=problems)

    result = {"changed": bool(actions), "groups": [g["name"] for g in wanted],
              "courses": summary(actions, missing), "commands": []}
    if module._diff and actions:
        names = [a["group"] for a in actions]
        result["diff"] = {"before": group_lines(names, current),
                          "after": group_lines(names, after_state(current, actions)),
                          "before_header": "/etc/group", "after_header": "/etc/group"}
    runner = Runner(module)
    for action in actions:
        for argv in commands(action):
            runner.run(argv, result)
    result["commands"] = runner.commands
    module.exit_json(**result)


if __name__ == "__main__":
    main()
