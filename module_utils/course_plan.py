# -*- coding: utf-8 -*-
"""What a change to the course files does on the host: the pure part of ``coursectl plan``.

``bin/coursectl plan`` reads the course files twice -- at a git ref (the base
of a pull request) and in the working tree -- validates both with the course
model, and hands the two course lists to ``diff_plan``.  ``render_markdown``
turns the result into a pull-request comment.  No I/O here: git, files and
``ansible-playbook`` stay in bin/coursectl.

What is compared
----------------
Only what the roles derive from the course model, keyed so that a change
names the thing that changes:

* the course itself: added, removed from the files, or a new ``state``
  (public, private, archived, absent), and ``purge``;
* unix groups and their members (``desired_groups``, ``purged_groups``);
* directories: owner, group, mode, named ACL entries, default ACL, the
  shared git repository of /course, shareddata READMEs (``desired_dirs``);
* hub profiles in courses.json (``desired_profiles``);
* NFS exports (``course_storage.nfs_exports``, with a placeholder client list:
  the real clients come from the inventory and do not depend on courses);
* the SMB share's valid users (``course_storage.smb_share``, without the
  inventory's site-wide entries, for the same reason);
* course-file fields that change nothing on the host but matter to people
  (owner, contacts, schedule, load, dates, packages, test_file).

Decisions
---------
* Words follow what the modules really do: a group or directory that is no
  longer wanted is "no longer managed" -- only ``state: absent`` with
  ``purge: true`` deletes anything (jupyter_course_purge archives the
  course's directories to a tarball first, then jupyter_course_groups deletes
  its groups).  A course file that is simply deleted leaves both behind.
* Profile keys that mirror something reported elsewhere (``state``,
  ``private``, members and group names, ``memory_bytes``) are not repeated in
  the profile lines, so each fact appears once.
* Lines are Markdown without the leading "- "; ``render_markdown`` adds it.
"""

import json

from module_utils import course_model, course_storage

# NFS clients come from the inventory (nfs_exports_clients), not from the
# course files, so a plan compares exports with a placeholder list (RFC 2606
# reserves .invalid); only the paths and access of exports can change.
PLACEHOLDER_CLIENTS = ("nfs-clients.invalid",)

STATE_MEANING = {
    "public": "anyone who can log in may start it (unless allow_non_students is false)",
    "private": "only its instructors and listed students may start it",
    "archived": "hidden in the hub, every directory read-only, data kept",
    "absent": "removed from the hub, SMB and exports",
}

# Course-file fields with no effect on groups, directories, profiles or storage.
FILE_ONLY_FIELDS = ("owner", "deputies", "contact", "announce", "packages", "test_file", "load", "schedule",
                    "start", "end", "expires")
# Profile keys reported elsewhere: state line, group lines, or redundant with another key.
PROFILE_SKIP = ("state", "private", "instructors", "students", "instructors_group", "students_group",
                "resources.memory_bytes")
LOAD_SKIP = ("load.memory_per_student_bytes",)

ARROW = "\u2192"


# --------------------------------------------------------------------------
# Desired state of one side
# --------------------------------------------------------------------------

def desired_state(courses, settings=None):
    """Everything the plan compares, from validated courses, keyed for diffing."""
    settings = course_model.merged_settings(settings)
    return {
        "courses": {course["slug"]: course for course in courses},
        "groups": {group["name"]: group for group in course_model.desired_groups(courses, settings)},
        "dirs": {entry["path"]: entry for entry in course_model.desired_dirs(courses, settings)},
        "profiles": course_model.desired_profiles(courses, settings)["courses"],
        "exports": {export["what"]: export for export in
                    course_storage.nfs_exports(courses, settings, clients=list(PLACEHOLDER_CLIENTS))},
        "smb": course_storage.smb_share(courses, settings),
        "purged_groups": set(course_model.purged_groups(courses, settings)),
        "purged_dirs": course_model.purged_dirs(courses, settings),
        "purged_groups_by_course": course_model.purged_groups_by_course(courses, settings),
        "purged_dirs_by_course": course_model.purged_dirs_by_course(courses, settings),
        "settings": settings,
    }


# --------------------------------------------------------------------------
# Formatting helpers
# --------------------------------------------------------------------------

def code(text):
    """Inline code that survives backticks in text."""
    text = str(text)
    fence = "`"
    while fence in text:
        fence += "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return "%s%s%s%s%s" % (fence, pad, text, pad, fence)


_MD_SPECIAL = "\\`*_{}[]<>#|!"


def escape(text):
    """Free text (course names) as literal Markdown."""
    return "".join("\\" + char if char in _MD_SPECIAL else char for char in str(text))


def fmt_value(value):
    """A scalar as it reads in YAML: true/false, none, 4 rather than 4.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, float) and value.is_integer():
        return "%d" % value
    return str(value)


def _sort_key(item):
    return json.dumps(item, sort_keys=True) if isinstance(item, (dict, list)) else str(item)


def _list_delta(before, after, render=str):
    """'+ a, + b, - c' for two lists (order ignored), or '' when equal as sets."""
    old = {render(item): _sort_key(item) for item in before}
    new = {render(item): _sort_key(item) for item in after}
    added = sorted(set(new) - set(old), key=new.get)
    removed = sorted(set(old) - set(new), key=old.get)
    return ", ".join(["+ " + item for item in added] + ["- " + item for item in removed])


def _flatten(value, prefix=""):
    """{dotted key: leaf} of nested mappings; lists are leaves."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, "%s.%s" % (prefix, key) if prefix else str(key)))
        return out
    return {prefix: value}


def _render_item(key, item):
    """A list element in a line: a mount, a schedule entry, or a plain value."""
    if key.startswith("mounts.") and isinstance(item, dict):
        return "%s at %s%s" % (code(item["source"]), code(item["target"]), " (read-only)" if item["read_only"] else "")
    if key == "schedule" and isinstance(item, dict):
        what = "" if item["what"] == item["kind"] else ": " + escape(item["what"])
        return "%s %s%s" % (item["date"], item["kind"], what)
    if isinstance(item, dict):
        return code(json.dumps(item, sort_keys=True))
    return fmt_value(item)


def _value_changes(before, after, skip=()):
    """[(key, text)] for the leaves that differ between two nested mappings."""
    old, new = _flatten(before), _flatten(after)
    changes = []
    for key in sorted(set(old) | set(new)):
        if key in skip:
            continue
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) or isinstance(b, list):
            delta = _list_delta(a or [], b or [], lambda item, key=key: _render_item(key, item))
            changes.append((key, delta or "order changes"))
        else:
            changes.append((key, "%s %s %s" % (fmt_value(a), ARROW, fmt_value(b))))
    return changes


# --------------------------------------------------------------------------
# Lines per kind of change
# --------------------------------------------------------------------------

def _state_lines(slug, before, after):
    if before is None:
        return ["%s is added (%s): %s" % (code(slug), after["state"], _meaning(after))]
    if after is None:
        return ["%s is removed from the course files (was %s): the hub stops offering it; its groups and "
                "directories stay on the host, unmanaged (to archive and delete them, keep the file with "
                "`state: absent` and `purge: true`)" % (code(slug), before["state"])]
    if before["state"] != after["state"]:
        return ["%s becomes %s (was %s): %s" % (code(slug), after["state"], before["state"], _meaning(after))]
    return []


def _meaning(course):
    return STATE_MEANING[course["state"]] + _nobody_else(course)


def _nobody_else(course):
    if course["state"] == "private" and not course["students"]:
        return "; it lists no students, so that is its instructors alone"
    return ""


def _purged(course):
    return course is not None and course["state"] == "absent" and course["purge"]


def _purge_lines(slug, before, after, new):
    if not _purged(after) or _purged(before):
        return []
    settings = new["settings"]
    groups = sorted(new["purged_groups_by_course"][slug])
    dirs = sorted(new["purged_dirs_by_course"][slug])
    where = " in %s" % code(settings["archive_root"]) if settings.get("archive_root") else ""
    return ["%s is purged: directories %s are archived to a verified tarball%s, then deleted with everything "
            "below them; groups %s are deleted"
            % (code(slug), ", ".join(code(d) for d in dirs), where, ", ".join(code(g) for g in groups))]


def _group_lines(slug, old, new):
    lines, unmanaged = [], []
    names = {n for side in (old, new) for n, g in side["groups"].items() if g["course"] == slug}
    for name in sorted(names):
        before, after = old["groups"].get(name), new["groups"].get(name)
        label = "group %s" % code(name)
        if before is None:
            gid = " (gid %d)" % after["gid"] if after["gid"] is not None else ""
            lines.append("%s is created%s: %s" % (label, gid, ", ".join(after["members"]) or "no members"))
        elif after is None:
            if name not in new["purged_groups"]:  # a purge says so in its own line
                unmanaged.append(code(name))
        else:
            parts = []
            delta = _list_delta(before["members"], after["members"])
            if delta:
                parts.append(delta)
            if before["gid"] != after["gid"]:
                parts.append("gid %s %s %s (the groups module does not renumber an existing group: "
                             "renumber it by hand, see docs/operations.md)"
                             % (fmt_value(before["gid"]), ARROW, fmt_value(after["gid"])))
            if parts:
                lines.append("%s: %s" % (label, "; ".join(parts)))
    if unmanaged:
        lines.append("groups no longer managed (they stay on the host with their members): " + ", ".join(unmanaged))
    return lines


def _describe_dir(entry):
    parts = ["%s:%s %s" % (entry["owner"], entry["group"], entry["mode"])]
    if entry["acl"]:
        parts.append("ACL " + ", ".join(code(e) for e in entry["acl"]))
    if entry["default_acl"]:
        parts.append("default ACL " + ", ".join(code(e) for e in entry["default_acl"]))
    if entry["git"]:
        parts.append("shared git repository")
    if entry["readme"]:
        parts.append("README")
    return ", ".join(parts)


def _dir_change(before, after):
    parts = []
    for key in ("owner", "group", "mode"):
        if before[key] != after[key]:
            parts.append("%s %s %s %s" % (key, before[key], ARROW, after[key]))
    for key, label in (("acl", "ACL"), ("default_acl", "default ACL")):
        delta = _list_delta(before[key], after[key], code)
        if delta:
            parts.append("%s %s" % (label, delta))
    if before["git"] != after["git"]:
        parts.append("git repository created when missing" if after["git"] else
                     "no git repository created any more (an existing one is kept)")
    if before["readme"] != after["readme"]:
        parts.append("README rewritten")
    return "; ".join(parts)


def _under(path, roots):
    return any(path == root or path.startswith(root + "/") for root in roots)


def _dir_lines(course_slug, old, new):
    """Directory lines of one course (course_slug) or of the service (None)."""
    lines, unmanaged = [], []
    paths = {p for side in (old, new) for p, d in side["dirs"].items() if d["course"] == course_slug}
    for path in sorted(paths):
        before, after = old["dirs"].get(path), new["dirs"].get(path)
        label = "dir %s" % code(path)
        if before is None:
            lines.append("%s is created: %s" % (label, _describe_dir(after)))
        elif after is None:
            if not _under(path, new["purged_dirs"]):  # a purge says so in its own line
                unmanaged.append(code(path))
        else:
            change = _dir_change(before, after)
            if change:
                lines.append("%s: %s" % (label, change))
    if unmanaged:
        lines.append("dirs no longer managed (they stay on the host as they are): " + ", ".join(unmanaged))
    return lines


def _profile_lines(slug, old, new):
    before, after = old["profiles"].get(slug), new["profiles"].get(slug)
    if before is None and after is None:
        return []
    if before is None:
        res = after["resources"]
        return ["hub profile is added: memory %s, %s CPU(s), image %s, %s" % (
            res["memory"], fmt_value(res["cpus"]), code(after["image"]),
            "any user who can log in" if after["allow_non_students"] else "instructors and listed students only")]
    if after is None:
        return ["hub profile is removed: the hub no longer offers %s" % code(slug)]
    return ["profile %s: %s" % (code(key), text) for key, text in _value_changes(before, after, PROFILE_SKIP)]


def _field_lines(before, after):
    if before is None or after is None:
        return []
    old = {key: before[key] for key in FILE_ONLY_FIELDS}
    new = {key: after[key] for key in FILE_ONLY_FIELDS}
    return ["%s (course file only): %s" % (code(key), text) for key, text in _value_changes(old, new, LOAD_SKIP)]


def _service_lines(old, new):
    lines = _dir_lines(None, old, new)
    for what in sorted(set(old["exports"]) | set(new["exports"])):
        before, after = old["exports"].get(what), new["exports"].get(what)
        if before is None:
            lines.append("NFS export %s %s (%s) is added" % (code(what), code(after["path"]), after["access"]))
        elif after is None:
            lines.append("NFS export %s %s is removed" % (code(what), code(before["path"])))
        else:
            parts = ["%s %s %s %s" % (key, before[key], ARROW, after[key]) for key in ("path", "access")
                     if before[key] != after[key]]
            if parts:
                lines.append("NFS export %s: %s" % (code(what), "; ".join(parts)))
    delta = _list_delta(old["smb"]["valid_users"], new["smb"]["valid_users"], code)
    if delta:
        lines.append("SMB share %s valid users: %s" % (code(new["smb"]["name"]), delta))
    return lines


# --------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------

def diff_plan(before_courses, after_courses, settings=None):
    """Compare two validated course lists.

    Returns {"added", "removed", "changed": [slugs], "courses": {slug: {"title", "lines"}},
    "service": [lines]}.  A course appears only if something about it changes.
    """
    old, new = desired_state(before_courses, settings), desired_state(after_courses, settings)
    plan = {"added": [], "removed": [], "changed": [], "courses": {}, "service": _service_lines(old, new)}
    for slug in sorted(set(old["courses"]) | set(new["courses"])):
        before, after = old["courses"].get(slug), new["courses"].get(slug)
        lines = (_state_lines(slug, before, after) + _purge_lines(slug, before, after, new)
                 + _group_lines(slug, old, new) + _dir_lines(slug, old, new) + _profile_lines(slug, old, new)
                 + _field_lines(before, after))
        if not lines:
            continue
        status = "added" if before is None else "removed" if after is None else "changed"
        plan[status].append(slug)
        plan["courses"][slug] = {"title": (after or before)["name"], "lines": lines}
    return plan


def is_empty(plan):
    return not plan["courses"] and not plan["service"]


def _count(n, status):
    return "**%d course%s %s**" % (n, "" if n == 1 else "s", status)


def render_markdown(plan, base, notes=()):
    """The plan as a pull-request comment: headline, then a section per course and one for the service."""
    out = ["## Course plan", ""]
    compared = "Working tree compared with %s" % code(base)
    if is_empty(plan):
        out.append("%s: **no changes**. The course files give the same groups, directories, hub profiles, "
                   "NFS exports and SMB share." % compared)
    else:
        parts = ["%s (%s)" % (_count(len(plan[status]), status), ", ".join(code(s) for s in plan[status]))
                 for status in ("added", "changed", "removed") if plan[status]]
        if plan["service"]:
            parts.append("**service-wide changes** (directories, NFS exports or SMB)")
        out.append("%s: %s." % (compared, ", ".join(parts)))
    for note in notes:
        out += ["", "> " + note]
    for slug, section in plan["courses"].items():
        out += ["", "### %s: %s" % (code(slug), escape(section["title"])), ""]
        out += ["- " + line for line in section["lines"]]
    if plan["service"]:
        out += ["", "### Service-wide", ""]
        out += ["- " + line for line in plan["service"]]
    if not is_empty(plan):
        out += ["", "_Host paths use the course model's default settings. \"Course file only\" lines change "
                "nothing on the host. `coursectl plan --check-host INVENTORY` adds Ansible's own "
                "`--check --diff`._"]
    return "\n".join(out) + "\n"


def render_problems(problems, base):
    """Markdown for course files that do not validate: the plan cannot be computed."""
    out = ["## Course plan", "",
           "The course files have %d problem(s); fix them and push again (nothing is compared with %s):"
           % (len(problems), code(base)), ""]
    out.append(fenced("\n".join(str(p) for p in problems)))
    return "\n".join(out) + "\n"


def fenced(text, info="text"):
    """A fenced code block that no run of backticks inside text can close."""
    longest = run = 0
    for char in text:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return "%s%s\n%s%s%s\n" % (fence, info, text, "" if text.endswith("\n") or not text else "\n", fence)


def check_host_command(inventory, playbook, ansible_playbook="ansible-playbook"):
    """argv of the optional host check: the course play in check and diff mode, changing nothing."""
    return [ansible_playbook, "-i", inventory, playbook, "--check", "--diff"]


def render_check_host(inventory, argv, returncode, output):
    """Markdown appendix with the host check's output."""
    status = "finished" if returncode == 0 else "failed (exit code %d)" % returncode
    return "\n".join(["", "### Host check: %s" % code(inventory), "",
                      "%s %s:" % (code(" ".join(argv)), status), "", fenced(output)])
