"""SystemdSpawner that starts a user's server for one course.

The spawn form offers the courses the user may start (courses.json and the
user's unix groups; the rules are module_utils/course_access.py). The choice is checked again on
the server for every path in (form, query, REST API): a forged request gets
403 and no unit is created.

JupyterHub (5.3 and later) hands every spawn's user_options, from whichever
path, to ``apply_user_options`` before ``start``: that is where the course is
checked and its limits, mounts and environment are applied. ``start`` checks
again unless that step ran for this very spawn (a configured
``apply_user_options`` replaces ours, and must not skip the check).
"""
import html

from systemdspawner import SystemdSpawner
from tornado import web
from traitlets import Dict, Unicode, default

import course_access as rules
from coursehub_catalog import CourseCatalog, user_groups


class CourseSpawner(SystemdSpawner):
    courses_json = Unicode("/etc/jupyterhub/courses.json", help="Course profiles file.").tag(config=True)
    course_settings = Dict(
        {
            "shareddata_root": "/srv/coursehub/shareddata",
            "shareddata_mount": "/mnt/jupyter/shareddata",
            "exchange_root": "/srv/nbgrader/exchange",
            "exchange_mount": "/srv/nbgrader/exchange",
            "nbgrader_config_root": "/etc/coursehub/nbgrader",
            "hidden_paths": [],
        },
        help="Host paths the course servers use.",
    ).tag(config=True)

    _catalogs = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The configured limits, for servers started without a course.
        self._default_limits = (self.mem_limit, self.cpu_limit)
        # (user_options, choice) the course was applied for in this spawn; None: not yet.
        self._applied = None

    @default("apply_user_options")
    def _apply_user_options_default(self):
        return apply_course_options

    @property
    def catalog(self):
        # One catalog per file for the whole hub: it re-reads the file only on change.
        return self._catalogs.setdefault(self.courses_json, CourseCatalog(self.courses_json))

    def _groups(self):
        return user_groups(self.user.name)

    def _options_form_default(self):
        return self.render_form

    def render_form(self, spawner=None):
        options = rules.choices(self.catalog.courses(), self._groups())
        items = "\n".join(
            f'<option value="{html.escape(value)}"{" selected" if i == 1 or len(options) == 1 else ""}>'
            f"{html.escape(label)}</option>"
            for i, (value, label) in enumerate(options)
        )
        return (
            '<label for="course">Course</label>\n'
            f'<select class="form-control" name="course" id="course" size="{min(len(options), 12)}">\n'
            f"{items}\n</select>"
        )

    def _choose(self, value):
        try:
            slug, mode = rules.decode(value)  # "personal" decodes to (personal, student)
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        reason = rules.authorize(self.catalog.courses(), self._groups(), slug, mode)
        if reason:
            self.log.warning("coursehub: refused %s for %s: %s", value, self.user.name, reason)
            raise web.HTTPError(403, reason)
        return {"course": slug, "mode": mode}

    def options_from_form(self, formdata):
        return self._choose((formdata.get("course") or [rules.PERSONAL])[0])

    def options_from_query(self, query_data):
        value = query_data.get("course", rules.PERSONAL)
        if isinstance(value, list):
            value = value[0]
        if query_data.get("mode") == rules.INSTRUCTOR and ":" not in value:
            value = rules.encode(value, rules.INSTRUCTOR)
        return self._choose(value)

    def apply_course(self, user_options):
        """Check the course in user_options for this user (403 if refused) and apply its unit settings."""
        # user_options may come straight from the REST API: any dict, checked like the form's choice.
        options = user_options if isinstance(user_options, dict) else {}
        value = options.get("course", rules.PERSONAL)
        if not isinstance(value, str):
            raise web.HTTPError(400, "course must be a string")
        if options.get("mode") == rules.INSTRUCTOR:
            value = rules.encode(value, rules.INSTRUCTOR)
        chosen = self._choose(value)
        slug, mode = chosen["course"], chosen["mode"]
        course = self.catalog.courses().get(slug, {})
        unit = rules.unit_settings(course, slug, mode, self.course_settings)
        if unit["mem_limit"] is None:
            self.mem_limit, self.cpu_limit = self._default_limits
        else:
            self.mem_limit, self.cpu_limit = unit["mem_limit"], unit["cpu_limit"]
        self.unit_extra_properties = dict(unit["properties"])
        self._course_environment = unit["environment"]
        self._applied = (dict(options), chosen)
        return chosen

    async def start(self):
        # What apply_user_options applied counts for this start only.
        applied, self._applied = self._applied, None
        options = self.user_options if isinstance(self.user_options, dict) else {}
        if applied is None or applied[0] != options:
            # It did not run for these options (replaced in the config, or the
            # options changed since): check and apply them now.
            chosen = self.apply_course(options)
            self._applied = None
        else:
            chosen = applied[1]
        slug, mode = chosen["course"], chosen["mode"]
        self.log.info("coursehub: starting %s for %s in %s mode", slug, self.user.name, mode)
        return await super().start()

    def get_env(self):
        env = super().get_env()
        env.update(getattr(self, "_course_environment", {}) or {})
        return env


def apply_course_options(spawner, user_options):
    """The default ``apply_user_options`` of CourseSpawner: every spawn path runs it before start."""
    spawner.apply_course(user_options)
