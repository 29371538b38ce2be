#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: the directories of every course, with owners, modes and ACLs, in one call."""

DOCUMENTATION = r"""
---
module: jupyter_course_dirs
short_description: Course, exchange and shared-data directories with modes and POSIX ACLs for coursehub
description:
  - Validates the course variables with the coursehub course model and fails with every problem before changing
    anything.
  - Applies the model's C(desired_dirs) - creates missing directories and sets owner, group, mode (with the setgid
    and sticky bits), the access ACL and the default ACL of each one.
  - The access ACL is the mode plus the named entries of the course model; the mask is computed as setfacl does
    (the union of the group class). The default ACL is set exactly as the model lists it, or removed when it lists
    none.
  - Reads the current state in-process (C(lstat) and the C(system.posix_acl_access) and
    C(system.posix_acl_default) extended attributes) and writes ACLs in-process too, so no getfacl or setfacl
    runs at all.
  - For the course files directory (C(/course)) it initialises a shared git repository when C(.git) is missing
    (C(git init --shared=group), the only tool it runs), makes sure C(core.sharedRepository) is group, and appends
    the lines of the C(course_gitignore) setting that C(.gitignore) lacks; lines instructors add are kept.
  - For shared datasets it writes C(README.md) when it is missing or differs from the model's text.
  - Never deletes anything. The directories of purged courses are only reported, as RV(not_deleted).
  - Every user and group it names must exist; run M(jupyter_course_groups) first. In check mode a missing group
    is a warning, because the groups module did not create it either.
version_added: "1.0.0"
author: coursehub
extends_documentation_fragment:
  - coursehub
options:
  settings:
    description:
      - Overrides for the course model's settings, e.g. C(course_root), C(exchange_root), C(shareddata_root),
        C(dir_owner), C(course_gitignore).
    type: dict
    default: {}
notes:
  - Supports check mode and diff mode. The diff shows each changing directory in getfacl's form.
  - The file system must support POSIX ACLs (ext4, xfs, btrfs, tmpfs and overlayfs on those do).
requirements:
  - git (only when a course repository is created)
"""

EXAMPLES = r"""
- name: Course directories
  jupyter_course_dirs:
    courses: "{{ dict(query('varnames', '^course_') | zip(query('vars', *query('varnames', '^course_')))) }}"

- name: Course directories below another root
  jupyter_course_dirs:
    courses: "{{ courses }}"
    settings:
      course_root: /data/courses
      exchange_root: /data/exchange
"""

RETURN = r"""
courses:
  description:
    - The directories that changed (or would change), per course slug; the roots and shared datasets, which belong
      to no single course, are listed under V(_shared). Only directories with a change appear.
    - Each change is one of V(created), V(owner OLD->NEW), V(group OLD->NEW), V(mode OLD->NEW),
      V(acl -ENTRY +ENTRY ...), V(default_acl -ENTRY +ENTRY ...), V(git init), V(git sharedRepository=group),
      V(gitignore +LINE ...), V(readme).
  returned: always
  type: dict
  sample:
    mlbp2026:
      - path: /srv/coursehub/course/mlbp2026/files
        changes: ["mode 2755->2770", "acl -group::r-x +group::rwx +group:jupyter-mlbp2026:rwx +mask::rwx"]
dirs:
  description: How many directories the courses want.
  returned: always
  type: int
  sample: 28
commands:
  description: The commands run, or in check mode the commands that would run. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["git init --quiet --shared=group /srv/coursehub/course/mlbp2026/files"]
not_deleted:
  description: Directories of purged courses that still exist; this module deletes nothing.
  returned: always
  type: list
  elements: str
  sample: [/srv/coursehub/course/old2024]
problems:
  description: On a validation failure, each problem with C(file), C(line), C(field) and C(message).
  returned: failure
  type: list
  elements: dict
"""

import errno
import grp
import os
import pwd
import re
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.course_acl import (XATTR_ACCESS, XATTR_DEFAULT, AclError, NAMED_TAGS, USER, access_acl,
                                             acl_changes, acl_texts, check_acl, decode, encode, is_extended,
                                             mode_acl, parse_acl, stat_mode)
from ansible.module_utils.course_model import desired_dirs, purged_dirs
from ansible.module_utils.course_module import Runner, course_argument_spec, load_courses

README_NAME = "README.md"
SHARED_KEY = "_shared"
_SECTION_RE = re.compile(r'^\s*\[\s*([A-Za-z0-9.-]+)(\s+"[^"]*")?\s*\]')
_KEY_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*?))?\s*$")
SHARED_VALUES = ("group", "true", "1")


# --------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------

def want_state(entry, gitignore):
    """One desired_dirs() entry as the module compares it: modes as ints, ACLs as entries."""
    mode = int(entry["mode"], 8)
    access = access_acl(mode, entry["acl"])
    return {"path": entry["path"], "course": entry["course"] or SHARED_KEY, "owner": entry["owner"],
            "group": entry["group"], "mode": stat_mode(mode, access), "access": access,
            "default": check_acl(parse_acl(entry["default_acl"])) if entry["default_acl"] else [],
            "git": entry["git"], "gitignore": list(gitignore) if entry["git"] else [], "readme": entry["readme"]}


def names_needed(wants):
    """(users, groups) that the wanted directories name."""
    users, groups = set(), set()
    for want in wants:
        users.add(want["owner"])
        groups.add(want["group"])
        for entry in want["access"] + want["default"]:
            if entry.tag in NAMED_TAGS:
                (users if entry.tag == USER else groups).add(entry.name)
    return users, groups


def shared_repository(config_text):
    """The value of core.sharedRepository in a git config text (lower case), or None."""
    section, value = None, None
    for line in config_text.splitlines():
        line = line.split("#", 1)[0].split(";", 1)[0]
        header = _SECTION_RE.match(line)
        if header:
            section = header.group(1).lower() if not header.group(2) else None
            line = line[header.end():]
        key = _KEY_RE.match(line)
        if section == "core" and key and key.group(1).lower() == "sharedrepository":
            value = (key.group(2) or "true").strip('"').lower()
    return value


def gitignore_text(current, lines):
    """current (None when missing) with the lines it lacks appended; current itself when it lacks none."""
    have = set((current or "").splitlines())
    missing = [line for line in lines if line not in have]
    if not missing:
        return current
    text = current or ""
    if text and not text.endswith("\n"):
        text += "\n"
    return text + "".join(line + "\n" for line in missing)


def dir_changes(want, cur):
    """What differs between a wanted directory and its current state (None when missing)."""
    if cur is None:
        changes = ["created"]
    else:
        changes = ["%s %s->%s" % (key, cur[key], want[key]) for key in ("owner", "group") if cur[key] != want[key]]
        if cur["mode"] != want["mode"]:
            changes.append("mode %04o->%04o" % (cur["mode"], want["mode"]))
        if is_extended(cur["access"]) or is_extended(want["access"]):
            access = acl_changes(cur["access"], want["access"])
            if access:
                changes.append("acl " + " ".join(access))
        default = acl_changes(cur["default"], want["default"])
        if default:
            changes.append("default_acl " + " ".join(default))
    changes += ["git init" if "init" in argv else "git sharedRepository=group" for argv in git_commands(want, cur)]
    cur = cur or {}
    if want["git"]:
        ignore = cur.get("gitignore")
        if gitignore_text(ignore, want["gitignore"]) != ignore:
            have = set((ignore or "").splitlines())
            changes.append("gitignore " + " ".join("+" + line for line in want["gitignore"] if line not in have))
    if want["readme"] is not None and cur.get("readme") != want["readme"]:
        changes.append("readme")
    return changes


def git_commands(want, cur):
    """The git commands a wanted directory needs (cur None when missing): only to create or share the repository."""
    cur = cur or {}
    if not want["git"]:
        return []
    if not cur.get("repo"):
        return [["git", "-c", "init.defaultBranch=main", "init", "--quiet", "--shared=group", want["path"]]]
    if cur.get("shared") not in SHARED_VALUES:
        return [["git", "-C", want["path"], "config", "core.sharedRepository", "group"]]
    return []


def describe(want, cur):
    """A directory in getfacl's form, for the diff; cur None means missing."""
    if cur is None:
        return "# file: %s\n# (missing)\n" % want["path"]
    lines = ["# file: " + want["path"], "# owner: " + cur["owner"], "# group: " + cur["group"],
             "# mode: %04o" % cur["mode"]]
    lines += acl_texts(cur["access"]) + ["default:" + text for text in acl_texts(cur["default"])]
    if want["git"]:
        shared = "group" if cur.get("shared") in SHARED_VALUES else cur.get("shared")  # git writes group as 1
        lines.append("# git: %s, sharedRepository=%s" % ("repository" if cur.get("repo") else "none", shared))
        lines += ["# .gitignore: " + line for line in (cur.get("gitignore") or "").splitlines()]
    if want["readme"] is not None:
        lines += ["# %s: %s" % (README_NAME, line) for line in (cur.get("readme") or "(missing)").splitlines()]
    return "\n".join(lines) + "\n"


def wanted_as_current(want):
    """The state a wanted directory has once applied, in read_dir()'s form (for the diff's after side)."""
    return {"owner": want["owner"], "group": want["group"], "mode": want["mode"],
            "access": want["access"], "default": want["default"], "repo": want["git"],
            "shared": "group" if want["git"] else None,
            "gitignore": gitignore_text(None, want["gitignore"]) if want["git"] else None,
            "readme": want["readme"]}


# --------------------------------------------------------------------------
# Reading and writing the file system
# --------------------------------------------------------------------------

class Names:
    """Cached user and group lookups in both directions; unknown ids print as numbers."""

    def __init__(self):
        self._cache = {}

    def _lookup(self, kind, key):
        if (kind, key) not in self._cache:
            func = {"uid": lambda n: pwd.getpwnam(n).pw_uid, "gid": lambda n: grp.getgrnam(n).gr_gid,
                    "user": lambda i: pwd.getpwuid(i).pw_name, "group": lambda i: grp.getgrgid(i).gr_name}[kind]
            try:
                self._cache[(kind, key)] = func(key)
            except KeyError:
                self._cache[(kind, key)] = None if kind in ("uid", "gid") else str(key)
        return self._cache[(kind, key)]

    def uid(self, name):
        return self._lookup("uid", name)

    def gid(self, name):
        return self._lookup("gid", name)

    def user(self, uid):
        return self._lookup("user", uid)

    def group(self, gid):
        return self._lookup("group", gid)


def _getxattr(path, name):
    try:
        return os.getxattr(path, name, follow_symlinks=False)
    except OSError as exc:
        if exc.errno in (errno.ENODATA, errno.ENOTSUP):
            return None
        raise


def _read_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None


def read_dir(want, names):
    """The current state of a wanted directory, or None if it is missing.  Raises ValueError if not a directory."""
    path = want["path"]
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        raise ValueError("%s exists but is not a directory (a symlink or file is never followed or replaced)" % path)
    mode = stat.S_IMODE(st.st_mode)
    access, default = _getxattr(path, XATTR_ACCESS), _getxattr(path, XATTR_DEFAULT)
    cur = {"owner": names.user(st.st_uid), "group": names.group(st.st_gid), "mode": mode,
           "access": decode(access, names.user, names.group) if access else mode_acl(mode),
           "default": decode(default, names.user, names.group) if default else []}
    if want["git"]:
        config = _read_text(os.path.join(path, ".git", "config"))
        cur.update(repo=os.path.isdir(os.path.join(path, ".git")),
                   shared=shared_repository(config) if config is not None else None,
                   gitignore=_read_text(os.path.join(path, ".gitignore")))
    if want["readme"] is not None:
        cur["readme"] = _read_text(os.path.join(path, README_NAME))
    return cur


def write_file(module, path, text, mode, uid, gid):
    """Write text to path atomically (a temp file beside it, then atomic_move) with mode and owner."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".coursehub-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        module.atomic_move(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def _make_parents(path):
    """Create missing ancestors of a root directory as root-owned 0755 (the model lists the roots only)."""
    missing = []
    parent = os.path.dirname(path)
    while not os.path.lexists(parent):
        missing.append(parent)
        parent = os.path.dirname(parent)
    for parent in reversed(missing):
        os.mkdir(parent)
        os.chmod(parent, 0o755)


def apply_dir(module, runner, want, cur, names, result):
    """Make one directory as wanted; cur is its state before (None if missing)."""
    path = want["path"]
    uid, gid = names.uid(want["owner"]), names.gid(want["group"])
    if cur is None:
        _make_parents(path)
        os.mkdir(path, 0o700)
        cur = {"owner": None, "group": None, "mode": None, "access": [], "default": []}
    if (cur["owner"], cur["group"]) != (want["owner"], want["group"]):
        os.chown(path, uid, gid, follow_symlinks=False)
    extended = is_extended(want["access"])
    if is_extended(cur["access"]) and not extended:
        os.removexattr(path, XATTR_ACCESS)
    if cur["mode"] != want["mode"] or acl_changes(cur["access"], want["access"]):
        os.chmod(path, want["mode"])
        if extended:  # after chmod: chmod rewrites the mask of an extended ACL
            os.setxattr(path, XATTR_ACCESS, encode(want["access"], names.uid, names.gid))
    if acl_changes(cur["default"], want["default"]):
        if want["default"]:
            os.setxattr(path, XATTR_DEFAULT, encode(want["default"], names.uid, names.gid))
        elif cur["default"]:
            os.removexattr(path, XATTR_DEFAULT)
    if want["git"]:
        _apply_git(module, runner, want, cur, uid, gid, result)
    if want["readme"] is not None and cur.get("readme") != want["readme"]:
        write_file(module, os.path.join(path, README_NAME), want["readme"], 0o644, uid, gid)


def _apply_git(module, runner, want, cur, uid, gid, result):
    """Initialise the shared course repository and its .gitignore (files group rw, owned by the course group)."""
    for argv in git_commands(want, cur):
        runner.run(argv, result)
    text = gitignore_text(cur.get("gitignore"), want["gitignore"])
    if text != cur.get("gitignore"):
        write_file(module, os.path.join(want["path"], ".gitignore"), text, 0o664, uid, gid)


# --------------------------------------------------------------------------
# Module
# --------------------------------------------------------------------------

def main():
    module = AnsibleModule(argument_spec=course_argument_spec(), supports_check_mode=True)
    courses, settings = load_courses(module)
    try:
        wants = [want_state(entry, settings["course_gitignore"]) for entry in desired_dirs(courses, settings)]
    except AclError as exc:
        module.fail_json(msg="invalid ACL in the desired state: %s" % exc)

    names = Names()
    users, groups = names_needed(wants)
    unknown = sorted("user " + n for n in users if names.uid(n) is None) + \
        sorted("group " + n for n in groups if names.gid(n) is None)
    if unknown and not module.check_mode:
        module.fail_json(msg="unknown %s; run jupyter_course_groups first" % ", ".join(unknown), unknown=unknown)
    for name in unknown:
        module.warn("%s does not exist yet; the directories that name it are shown as changing" % name)

    plans = []
    try:
        for want in wants:
            cur = read_dir(want, names)
            plans.append((want, cur, dir_changes(want, cur)))
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    changing = [(want, cur, changes) for want, cur, changes in plans if changes]

    result = {"changed": bool(changing), "dirs": len(wants), "courses": {}, "commands": [],
              "not_deleted": [path for path in purged_dirs(courses, settings) if os.path.lexists(path)]}
    for want, _, changes in changing:
        result["courses"].setdefault(want["course"], []).append({"path": want["path"], "changes": changes})
    if result["not_deleted"]:
        module.warn("directories of purged courses are kept (this module never deletes): "
                    + ", ".join(result["not_deleted"]))
    if module._diff and changing:
        result["diff"] = {"before": "".join(describe(w, c) for w, c, _ in changing),
                          "after": "".join(describe(w, wanted_as_current(w)) for w, _, _ in changing)}
    runner = Runner(module)
    for want, cur, _ in changing:
        if module.check_mode:
            for argv in git_commands(want, cur):
                runner.run(argv, result)
            continue
        try:
            apply_dir(module, runner, want, cur, names, result)
        except OSError as exc:
            result["commands"] = runner.commands
            module.fail_json(msg="%s: %s" % (want["path"], exc), **result)
    result["commands"] = runner.commands
    module.exit_json(**result)


if __name__ == "__main__":
    main()
