# -*- coding: utf-8 -*-
"""What the three course modules share on the Ansible side: options, validation, running tools.

course_model stays free of Ansible and of system calls; this is the thin
layer that turns its answers into module behaviour:

* every module takes the same three options (``COURSE_ARGUMENT_SPEC``);
* ``load_courses`` validates through the model and fails with every problem
  *before* a module changes anything -- the model is the only validator;
* ``Runner`` runs a tool (never in check mode) and records it, so each
  module can return ``commands``: an unchanged run must show none.
"""

import dataclasses

from ansible.module_utils.course_model import courses_from_vars, merged_settings

COURSE_ARGUMENT_SPEC = {
    "courses": {"type": "dict", "required": True},
    "courses_dir": {"type": "str", "default": "group_vars/courses"},
    "settings": {"type": "dict", "default": {}},
}


def course_argument_spec(**extra):
    """The common options plus a module's own."""
    spec = dict(COURSE_ARGUMENT_SPEC)
    spec.update(extra)
    return spec


def load_courses(module):
    """(courses, settings) from the module's options; fails with all problems instead."""
    params = module.params
    try:
        settings = merged_settings(params["settings"])
        courses, problems = courses_from_vars(params["courses"], params["courses_dir"], params["settings"])
    except ValueError as exc:  # unknown or relative settings: a mistake in the role, not in a course file
        module.fail_json(msg="invalid settings: %s" % exc)
    # The result echoes the options back ("invocation"); with hundreds of
    # courses that echo costs the controller seconds, so it names them instead.
    params["courses"] = "(%d course variables)" % len(params["courses"])
    if problems:
        module.fail_json(msg="\n".join(str(p) for p in problems),
                         problems=[dataclasses.asdict(p) for p in problems])
    return courses, settings


class Runner:
    """Runs tools for a module and remembers them; in check mode it only remembers."""

    def __init__(self, module):
        self.module = module
        self.commands = []

    def run(self, argv, result):
        """Run argv (a list); on failure fail_json with result so far (what already changed)."""
        self.commands.append(" ".join(argv))
        if self.module.check_mode:
            return
        rc, out, err = self.module.run_command(argv)
        if rc != 0:
            result.update(commands=self.commands)
            self.module.fail_json(msg="%s failed (rc %d): %s" % (argv[0], rc, (err or out).strip()),
                                  cmd=argv, rc=rc, stdout=out, stderr=err, **result)
