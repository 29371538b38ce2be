#!/usr/bin/python
# -*- coding: utf-8 -*-
"""Ansible module: archive, verify, then remove the directories of purged courses."""

DOCUMENTATION = r"""
---
module: jupyter_course_purge
short_description: Archive and remove the directories of coursehub courses marked absent with purge
description:
  - Validates the course variables with the coursehub course model and fails with every problem before changing
    anything.
  - For each course with C(state=absent) and C(purge=true) whose directories still exist (the course tree, that is
    C(/course) and C(/coursedata), and the nbgrader exchange), it first writes one gzip tarball of them to the
    archive directory with GNU tar, keeping owners (numeric), modes, POSIX ACLs and extended attributes.
  - It then verifies the tarball before deleting anything. Every file and directory on disk must be listed in it,
    and its SHA-256, written next to it as C(<tarball>.sha256) in C(sha256sum) format, must match the file when it
    is read back.
  - Only then does it remove the directories. If any step fails, nothing is removed.
  - Courses in any other state are never touched. A purged course whose directories are gone is already done, so
    reruns change nothing.
  - Run it before M(jupyter_course_groups), which deletes the purged course's groups, so that the archive records
    group names while they still resolve.
version_added: "1.0.0"
author: coursehub
extends_documentation_fragment:
  - coursehub
options:
  settings:
    description:
      - Overrides for the course model's settings; C(archive_root) is where tarballs go (created mode 0700).
    type: dict
    default: {}
notes:
  - Supports check mode (reports what would be archived and removed) and diff mode (the removed trees).
requirements:
  - GNU tar with gzip (Debian packages C(tar), C(gzip))
"""

EXAMPLES = r"""
- name: Archive and remove purged courses
  jupyter_course_purge:
    courses: "{{ courses }}"
    settings:
      archive_root: /srv/coursehub/archive
"""

RETURN = r"""
archives:
  description: Per purged course, the tarball, its SHA-256, how many entries it holds, and the trees removed.
  returned: always
  type: dict
  sample:
    old2024:
      archive: /srv/coursehub/archive/old2024-20261122T031500Z.tar.gz
      sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      entries: 42
      removed: [/srv/coursehub/course/old2024, /srv/nbgrader/exchange/old2024]
commands:
  description: The tools run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
courses:
  description: Slugs of the courses archived and removed (or that would be).
  returned: always
  type: list
  elements: str
"""

import datetime
import hashlib
import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.course_model import purged_dirs_by_course
from ansible.module_utils.course_module import Runner, course_argument_spec, load_courses


def tree_entries(paths):
    """Every directory and file under paths, relative to /, as tar lists them (no trailing slash)."""
    entries = set()
    for top in paths:
        for dirpath, dirnames, filenames in os.walk(top):
            entries.add(dirpath.lstrip("/"))
            for name in dirnames + filenames:
                path = os.path.join(dirpath, name)
                if os.path.islink(path) or name in filenames:
                    entries.add(path.lstrip("/"))
    return entries


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_course(module, runner, result, slug, paths, archive_root, stamp):
    """Write and verify one tarball; returns its record. Fails (removing nothing) on any mismatch."""
    archive = os.path.join(archive_root, "%s-%s.tar.gz" % (slug, stamp))
    runner.run(["tar", "--create", "--gzip", "--file", archive, "--acls", "--xattrs", "--numeric-owner",
                "--directory", "/"] + [p.lstrip("/") for p in paths], result)
    record = {"archive": archive, "sha256": None, "entries": 0, "removed": []}
    if module.check_mode:
        return record
    os.chmod(archive, 0o600)
    rc, out, err = module.run_command(["tar", "--list", "--gzip", "--file", archive])
    listed = {line.rstrip("/") for line in out.splitlines() if line}
    missing = sorted(tree_entries(paths) - listed)
    if rc != 0 or missing:
        module.fail_json(msg="the archive of %s does not hold everything (nothing was removed): %s"
                         % (slug, (err.strip() or ", ".join(missing[:10]))), **result)
    digest = sha256_of(archive)
    checksum = archive + ".sha256"
    with open(checksum, "w") as fh:
        fh.write("%s  %s\n" % (digest, os.path.basename(archive)))
    os.chmod(checksum, 0o600)
    if sha256_of(archive) != digest:  # read back from disk, not from a cache of what was written
        module.fail_json(msg="the archive of %s changed while it was checked (nothing was removed)" % slug, **result)
    record.update(sha256=digest, entries=len(listed))
    return record


def main():
    module = AnsibleModule(argument_spec=course_argument_spec(), supports_check_mode=True)
    courses, settings = load_courses(module)
    runner = Runner(module)
    todo = {slug: [p for p in paths if os.path.lexists(p)]
            for slug, paths in purged_dirs_by_course(courses, settings).items()}
    todo = {slug: paths for slug, paths in sorted(todo.items()) if paths}
    result = {"changed": bool(todo), "archives": {}, "courses": sorted(todo), "commands": runner.commands}
    if module._diff and todo:
        result["diff"] = [{"before_header": slug, "after_header": slug,
                           "before": "".join(p + "/\n" for p in paths),
                           "after": "(archived, removed)\n"} for slug, paths in todo.items()]
    if todo and not module.check_mode:
        os.makedirs(settings["archive_root"], mode=0o700, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for slug, paths in todo.items():
        record = archive_course(module, runner, result, slug, paths, settings["archive_root"], stamp)
        result["archives"][slug] = record
        for path in paths:
            if not module.check_mode:
                shutil.rmtree(path)
            record["removed"].append(path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
