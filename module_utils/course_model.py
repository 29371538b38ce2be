# -*- coding: utf-8 -*-
"""The course model: validate course files and derive the desired state from them.

Course staff describe a course in ``group_vars/courses/<slug>.yml`` (one key,
``course_<slug>``).  Everything that acts on courses -- ``bin/coursectl``, the
Ansible modules in ``library/``, the filter plugins, the unit tests -- goes
through this module, so every front end judges a course file the same way.

Why it is written this way
--------------------------
* Pure Python, standard library only, no system calls (no file I/O, no
  subprocess, no grp/pwd, no clock unless ``today`` is left out).  It is
  imported both as ``module_utils.course_model`` and as
  ``ansible.module_utils.course_model``, so it uses no relative imports.
  ``packaging`` is used for PEP 508 when present; the target host may lack it,
  so a strict regular expression stands in (see ``PACKAGE_RE``).
* Validation collects *all* problems instead of stopping at the first: a pull
  request should be fixable in one round.  Each problem names the file, the
  line where known, and the dotted field (``course_x.resources.memory``; list
  items as ``course_x.schedule[0].date``).
* ``validate_courses`` returns only courses whose own file is valid.  Callers
  must treat any problem as a failure; the partial list exists so that reports
  (``coursectl plan``) can still show what the valid files would do.
* The field table (``COURSE_FIELDS`` and the nested tables) is the single
  source of truth; ``schemas/course.schema.json`` and ``docs/courses.md`` are
  tested against it.

Decisions on the course file (see docs/courses.md for the user-facing text)
---------------------------------------------------------------------------
* ``null`` is never a valid value: leave a key out to get its default.  A
  stray ``students:`` with nothing after it is an error, not an empty list.
* No string may contain Jinja markers (``{{``, ``{%``, ``{#``): Ansible would
  template them, so a course file could run lookups on the controller.
* ``owner`` and every deputy must be among ``instructors`` (they answer for
  the course, so they need its group).  ``contact`` defaults to ``owner`` and
  only has to be a valid username.
* ``state: private`` means only instructors and listed students may start the
  course: ``allow_non_students`` defaults to false there and ``true`` is an
  error.  ``allow_non_students: false`` on a public course needs a non-empty
  ``students`` list (otherwise it would be a private course in disguise).
* ``purge: true`` is only allowed with ``state: absent``, and ``state:
  absent`` needs ``purge: true``: removing a course deletes its data, so the
  file must say so.  (``state: archived`` hides a course and keeps its data,
  read-only.)  ``purged_groups`` and ``purged_dirs_by_course`` name what the
  modules delete, after ``jupyter_course_purge`` has archived it.
* ``gid``: an integer in [1000, 2**31 - 1], not 65534/65535 (nobody/nogroup
  and the 16-bit "-1"), unique across all files, also for absent courses
  (their group may still exist).
* Slugs must match ``SLUG_RE`` and be short enough that the longest group
  name (``<group_prefix><slug><students_group_suffix>``) fits the 32
  characters groupadd allows.
* Dates: ``start <= end <= expires``; ``expires`` defaults to ``end`` plus
  ``expiry_months`` months (day clamped to the month's end).  Schedule entries
  must fall within ``start .. expires``: it catches a wrong year early.
* ``load``: optional; when given, all four keys are required (a half-filled
  load estimate is worse than none).
* ``packages``: PEP 508 strings, no direct URL references (they would bypass
  the package index of the shared environment), one entry per distribution
  per course.  Across courses that share an ``environment``, an exact pin
  (``==``) that another course's specifier excludes is a conflict.  Other
  conflicts are left to the environment's resolver.
* ``test_file``: a relative path inside the repository (no absolute path, no
  ``..``, no empty or ``.`` segment).  Its existence is checked by the role
  that runs it, not here (no file I/O).

Decisions on the host layout (``desired_dirs``)
-----------------------------------------------
Modes are octal strings.  ``acl`` lists the named access ACL entries only
(base entries follow from the mode and setfacl computes the mask);
``default_acl`` is complete -- ``user::``, named users/groups, ``group::``,
``mask::`` and ``other::`` in getfacl order -- or empty for none, so a
module can compare it as a set with what ``getfacl -d`` reports.

======================================  ======  =====================================
path                                    mode    why
======================================  ======  =====================================
<course_root>, <exchange_root>,         0755    root:root; nothing for users to
<shareddata_root>                               create there.  (nbgrader's own
                                                0777 exchange root is not needed
                                                because every course dir is made
                                                here, and ``groupshared=True``
                                                skips nbgrader's root check.)
<course_root>/<slug>                    0755    parent of files/ and data/
<course_root>/<slug>/files              2770    /course; instructors only; default
                                                ACL keeps new files group rwx even
                                                when copied in with another group
<course_root>/<slug>/data               2775    /coursedata; instructors write,
                                                everyone reads
<exchange_root>/<slug>                  2755    nbgrader course dir (pre-made)
<exchange_root>/<slug>/inbound          3773    students may submit (-wx) but not
                                                list; sticky so nobody removes
                                                another's submission; setgid so
                                                submissions belong to the
                                                instructors, who list and collect
<exchange_root>/<slug>/outbound         2775    instructors release, all read
<exchange_root>/<slug>/feedback         2771    students reach their own hashed
                                                feedback file but cannot list
<shareddata_root>/<name>                0755    root:root, with a README
======================================  ======  =====================================

Two transformations apply on top of that table, in this order:

* private course: the "other" permissions move into a named ACL entry for
  ``jupyter-<slug>-students`` (if there is a student list) and "other" becomes
  none, both in the mode and in the default ACL.  So /coursedata is readable
  by instructors and listed students only.
* archived course: every write bit goes (mode, ACL entries and default ACL),
  e.g. files 2550, data 2555.  The directories stay listed: data is kept.

The students group gets no fixed gid (there is no field for it); ACLs over NFS
that rely on numeric gids are refined in the NFS issue.
"""

import calendar
import copy
import dataclasses
import datetime
import difflib
import functools
import json
import re

try:  # pragma: no cover - exercised implicitly; the fallback is tested directly
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name
    HAS_PACKAGING = True
except ImportError:  # pragma: no cover - the target host may lack packaging
    HAS_PACKAGING = False


# --------------------------------------------------------------------------
# Public constants
# --------------------------------------------------------------------------

# In /course: what nbgrader collect refused, one line each (names students: not for git).
COLLECT_REFUSALS = "collect-refusals.log"

DEFAULT_SETTINGS = {
    # host paths
    "course_root": "/srv/coursehub/course",
    "exchange_root": "/srv/nbgrader/exchange",
    "shareddata_root": "/srv/coursehub/shareddata",
    "home_root": "/home",
    "courses_json": "/etc/jupyterhub/courses.json",
    "nbgrader_config_root": "/etc/coursehub/nbgrader",
    # verified tarballs of purged courses (root only)
    "archive_root": "/srv/coursehub/archive",
    # paths inside a user's server
    "course_mount": "/course",
    "coursedata_mount": "/coursedata",
    "exchange_mount": "/srv/nbgrader/exchange",
    "shareddata_mount": "/mnt/jupyter/shareddata",
    # names
    "group_prefix": "jupyter-",
    "students_group_suffix": "-students",
    "dir_owner": "root",
    "image_template": "{environment}",
    # course defaults and limits
    "default_memory": "2G",
    "default_cpus": 4,
    "max_cpus": 64,
    "default_environment": "default",
    "expiry_months": 6,
    "max_group_name": 32,
    # what /course/.git ignores (written by the dirs module)
    # nbgrader's generated and student-owned files stay out of git (autograded/
    # holds student work too; SQLite's journal sits beside the gradebook).
    "course_gitignore": ["gradebook.db", "release/", "submitted/", "feedback/", ".ipynb_checkpoints",
                         "autograded/", "gradebook.db-journal", COLLECT_REFUSALS],
    # nbgrader in every course server
    "nbgrader_timezone": "UTC",
    "nbgrader_max_file_size_kb": 100000,
    # module (in every user environment) with coursehub's nbgrader exchange classes
    "nbgrader_exchange_module": "coursehub_exchange",
    # kernel autograde runs student code in (the user_env role's sandbox); "" for none
    "grading_kernel": "python3-sandbox",
}

_PATH_SETTINGS = ("course_root", "exchange_root", "shareddata_root", "home_root", "courses_json", "nbgrader_config_root",
                  "archive_root",
                  "course_mount", "coursedata_mount", "exchange_mount", "shareddata_mount")

STATES = ("public", "private", "archived", "absent")
SCHEDULE_KINDS = ("lecture", "deadline", "exam", "other")
KEY_PREFIX = "course_"

# The regular expressions below are written so that Python's re and
# ECMA-262 (JSON Schema) read them the same way; the schema test compares the
# pattern strings with schemas/course.schema.json.
SLUG_RE = re.compile(r"^[a-z][a-z0-9]*[0-9]{4}$")
USERNAME_RE = re.compile(r"^[a-z_][a-z0-9_-]*[$]?$")
USERNAME_MAX = 32
DATASET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
ENVIRONMENT_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
NAME_MAX = 64  # for dataset and environment names
EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
MEMORY_RE = re.compile(r"^([0-9]+(\.[0-9]+)?)([KMGT])$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
SCHEDULE_DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2})?$")
TEST_FILE_RE = re.compile(r"^(?!.*//)(?!.*/$)(?!(.*/)?\.\.?(/|$))[A-Za-z0-9_.][A-Za-z0-9_./-]*$")
# The form of a PEP 508 requirement we accept: name, extras, version
# specifiers, marker; no direct URL reference, no parenthesised specifiers.
# Always checked (so schema and model agree); packaging, when present, then
# checks that versions and markers really parse.
PACKAGE_RE = re.compile(
    r"^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
    r"( *\[ *[A-Za-z0-9._-]+( *, *[A-Za-z0-9._-]+)* *\])?"
    r"( *(~=|===|==|!=|<=|>=|<|>) *[A-Za-z0-9.*+!_-]+( *, *(~=|===|==|!=|<=|>=|<|>) *[A-Za-z0-9.*+!_-]+)*)?"
    r"( *;[^;{}]+)?$")
TEMPLATE_RE = re.compile(r"\{[{%#]")
_MEMORY_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
GID_MIN = 1000
GID_MAX = 2 ** 31 - 1
GID_RESERVED = (65534, 65535)


# --------------------------------------------------------------------------
# Problems
# --------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Problem:
    """One thing wrong with one course file, in the form CI prints it."""

    file: str
    line: object  # int or None
    field: str
    message: str

    def __str__(self):
        where = self.file if self.line is None else "%s:%d" % (self.file, self.line)
        return "%s: %s: %s" % (where, self.field, self.message)

    def sort_key(self):
        """Order problems by file, then line (unknown lines first), then field."""
        return (self.file, self.line or 0, self.field, self.message)


class CourseError(Exception):
    """Raised by callers that want an exception rather than a problem list."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


# --------------------------------------------------------------------------
# Checking machinery: small checkers composed into a field table
# --------------------------------------------------------------------------

INVALID = object()      # a checker's result when it reported a problem
REQUIRED = object()     # a field's default when it has none
_DERIVED = None         # default filled in later from other fields or settings

_TYPE_NAMES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"),
               (list, "list"), (dict, "mapping"), (datetime.datetime, "date and time"),
               (datetime.date, "date"), (type(None), "null"))


def type_name(value):
    """Name a value's type in YAML terms, for 'expected X, got Y' messages."""
    for cls, name in _TYPE_NAMES:
        if isinstance(value, cls):
            return name
    return type(value).__name__


_KINDS = {"boolean": bool, "integer": int, "number": (int, float), "string": str, "list": list, "mapping": dict}


def _is_kind(value, kind):
    """Is value of the YAML kind? bool is deliberately neither integer nor number."""
    if isinstance(value, bool):
        return kind == "boolean"
    return isinstance(value, _KINDS[kind])


def join(parent, key):
    """Dotted field path: join('course_x', 'resources') -> 'course_x.resources'."""
    return "%s.%s" % (parent, key) if parent else str(key)


class _Context:
    """Collects problems for one course file and finds their lines."""

    def __init__(self, file, lines, settings):
        self.file = file
        self.lines = lines or {}
        self.settings = settings
        self.problems = []

    def line_of(self, field):
        """The line of field, or of its nearest parent that has one."""
        while field:
            if field in self.lines:
                return self.lines[field]
            field = field[:max(field.rfind("."), field.rfind("["), 0)]
        return None

    def report(self, field, message):
        self.problems.append(Problem(self.file, self.line_of(field), field, message))
        return INVALID


@dataclasses.dataclass(frozen=True)
class Field:
    """One key of a mapping: how to check it and what it defaults to."""

    check: object
    default: object = REQUIRED


def _expect(ctx, field, value, kind):
    """Report a type mismatch; True when value is of the expected kind."""
    if _is_kind(value, kind):
        return True
    article = "an" if kind[0] in "aeiou" else "a"
    ctx.report(field, "expected %s %s, got %s" % (article, kind, type_name(value)))
    return False


def string(pattern=None, hint=None, max_length=None, non_blank=True):
    """Checker for a string, optionally matching pattern (hint says what it should look like)."""
    def check(ctx, field, value):
        if not _expect(ctx, field, value, "string"):
            return INVALID
        if TEMPLATE_RE.search(value):
            return ctx.report(field, "must not contain Jinja markers ({{, {%, {#): "
                                     "course files are data, not templates")
        if non_blank and not value.strip():
            return ctx.report(field, "must not be empty")
        if max_length and len(value) > max_length:
            return ctx.report(field, "%r is longer than %d characters" % (value, max_length))
        if pattern is not None and not pattern.match(value):
            return ctx.report(field, "%r is not %s" % (value, hint))
        return str(value)
    return check


def boolean(ctx, field, value):
    """Checker for true/false (not 'yes', not 1)."""
    return bool(value) if _expect(ctx, field, value, "boolean") else INVALID


def enum(values):
    """Checker for one of a fixed set of strings, with a suggestion on a near miss."""
    def check(ctx, field, value):
        if not _expect(ctx, field, value, "string"):
            return INVALID
        if value not in values:
            return ctx.report(field, "%r is not one of %s%s" % (value, ", ".join(values), _did_you_mean(value, values)))
        return str(value)
    return check


def number(kind="number", minimum=None, exclusive_minimum=None, maximum=None, maximum_setting=None, exclude=()):
    """Checker for an integer or number within bounds (maximum may come from settings)."""
    def check(ctx, field, value):
        if not _expect(ctx, field, value, kind):
            return INVALID
        upper = ctx.settings[maximum_setting] if maximum_setting else maximum
        if minimum is not None and value < minimum:
            return ctx.report(field, "%r is less than %r" % (value, minimum))
        if exclusive_minimum is not None and value <= exclusive_minimum:
            return ctx.report(field, "%r must be greater than %r" % (value, exclusive_minimum))
        if upper is not None and value > upper:
            return ctx.report(field, "%r is greater than %r" % (value, upper))
        if value in exclude:
            return ctx.report(field, "%r is reserved" % (value,))
        return int(value) if kind == "integer" else float(value)
    return check


def list_of(item, non_empty=False, unique=True):
    """Checker for a list whose items pass item; duplicates are mistakes, so they are errors."""
    def check(ctx, field, value):
        if not _expect(ctx, field, value, "list"):
            return INVALID
        if non_empty and not value:
            return ctx.report(field, "must not be empty")
        out = [item(ctx, "%s[%d]" % (field, i), v) for i, v in enumerate(value)]
        if any(v is INVALID for v in out):
            return INVALID
        seen = set()
        for i, v in enumerate(out if unique else ()):
            if v in seen:
                return ctx.report("%s[%d]" % (field, i), "%r is listed twice" % (v,))
            seen.add(v)
        return out
    return check


def mapping(fields):
    """Checker for a mapping with exactly the keys in fields; applies static defaults."""
    def check(ctx, field, value):
        if not _expect(ctx, field, value, "mapping"):
            return INVALID
        ok = True
        for key in value:
            if key not in fields:
                ctx.report(join(field, key), "unknown key%s" % _did_you_mean(key, fields))
                ok = False
        out = {}
        for name, spec in fields.items():
            if name in value:
                out[name] = spec.check(ctx, join(field, name), value[name])
            elif spec.default is REQUIRED:
                out[name] = ctx.report(join(field, name), "is required")
            else:
                out[name] = copy.deepcopy(spec.default)
        return out if ok and not any(v is INVALID for v in out.values()) else INVALID
    return check


def _did_you_mean(value, choices):
    close = difflib.get_close_matches(str(value), [str(c) for c in choices], n=1)
    return " (did you mean %r?)" % close[0] if close else ""


def memory(ctx, field, value):
    """Checker for a systemd-style size: a positive number with unit K, M, G or T."""
    if not _expect(ctx, field, value, "string"):
        return INVALID
    if not MEMORY_RE.match(value) or memory_bytes(value) <= 0:
        return ctx.report(field, "%r is not a size like 512M, 2G or 1.5G (units K, M, G, T)" % value)
    return str(value)


def memory_bytes(size):
    """'1.5G' -> 1610612736.  The caller has checked the form."""
    match = MEMORY_RE.match(size)
    return int(float(match.group(1)) * _MEMORY_UNITS[match.group(3)])


def date(ctx, field, value):
    """Checker for a calendar date: a YAML date or a 'YYYY-MM-DD' string (Ansible may pass either)."""
    if isinstance(value, datetime.datetime):
        return ctx.report(field, "expected a date, got date and time")
    if isinstance(value, datetime.date):
        return value
    if not _expect(ctx, field, value, "string"):
        return INVALID
    parsed = _parse_iso(value, DATE_RE, "%Y-%m-%d")
    if parsed is None:
        return ctx.report(field, "%r is not a date YYYY-MM-DD" % value)
    return parsed.date()


def schedule_date(ctx, field, value):
    """Checker for a schedule date: a date, or 'YYYY-MM-DD HH:MM'; returned as that string."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None or value.second or value.microsecond:
            return ctx.report(field, "give times as local 'YYYY-MM-DD HH:MM'")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if not _expect(ctx, field, value, "string"):
        return INVALID
    fmt = "%Y-%m-%d %H:%M" if " " in value else "%Y-%m-%d"
    if _parse_iso(value, SCHEDULE_DATE_RE, fmt) is None:
        return ctx.report(field, "%r is not a date YYYY-MM-DD or 'YYYY-MM-DD HH:MM'" % value)
    return str(value)


def _parse_iso(text, pattern, fmt):
    """Strictly parse text (shape by pattern, validity by strptime); None if it fails."""
    if not pattern.match(text):
        return None
    try:
        return datetime.datetime.strptime(text, fmt)
    except ValueError:
        return None


_any_string = string()


def test_file(ctx, field, value):
    """Checker for a path inside the repository; says which rule an escaping path breaks."""
    value = _any_string(ctx, field, value)
    if value is INVALID:
        return INVALID
    if value.startswith("/"):
        return ctx.report(field, "%r is absolute; give a path relative to the repository" % value)
    if ".." in value.split("/"):
        return ctx.report(field, "%r leaves the repository ('..')" % value)
    if not TEST_FILE_RE.match(value):
        return ctx.report(field, "%r is not a plain relative path (letters, digits, . _ - /; "
                                 "no empty or '.' segment)" % value)
    return value


def package(ctx, field, value):
    """Checker for one PEP 508 requirement without a direct URL reference."""
    value = _any_string(ctx, field, value)
    if value is INVALID:
        return INVALID
    problem = _package_problem(value)
    return ctx.report(field, "%r %s" % (value, problem)) if problem else value


def _package_problem(spec):
    """Why spec is not an acceptable requirement, or None."""
    if "@" in spec.split(";")[0]:
        return "is a direct URL reference; name a package from the index instead"
    if not PACKAGE_RE.match(spec):
        return "is not a requirement like 'name[extra]>=1.0,<2; marker' (PEP 508)"
    if HAS_PACKAGING:
        try:
            _requirement(spec)
        except InvalidRequirement as exc:
            return "is not a PEP 508 requirement: %s" % str(exc).splitlines()[0]
    return None


@functools.lru_cache(maxsize=4096)
def _requirement(spec):
    """Parse a requirement once: courses repeat the same specs, and packaging's parser is slow."""
    return Requirement(spec)


def package_name(spec):
    """The normalised distribution name of a checked requirement ('Scikit_Learn>=1' -> 'scikit-learn')."""
    name = re.match(r"[A-Za-z0-9._-]+", spec.strip()).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


username = string(USERNAME_RE, "a POSIX-safe username (lower case letters, digits, _ and -, "
                  "starting with a letter or _)", USERNAME_MAX)
usernames = list_of(username)


# --------------------------------------------------------------------------
# The field tables (single source of truth; the schema and docs are tested against them)
# --------------------------------------------------------------------------

RESOURCES_FIELDS = {
    "memory": Field(memory, _DERIVED),
    "cpus": Field(number(exclusive_minimum=0, maximum_setting="max_cpus"), _DERIVED),
}

LOAD_FIELDS = {
    "students": Field(number("integer", minimum=0)),
    "cpu_per_student": Field(number(minimum=0)),
    "memory_per_student": Field(memory),
    "data_gb": Field(number(minimum=0)),
}

SCHEDULE_FIELDS = {
    "date": Field(schedule_date),
    "kind": Field(enum(SCHEDULE_KINDS)),
    "what": Field(string(), _DERIVED),
}

COURSE_FIELDS = {
    "name": Field(string(max_length=200)),
    "state": Field(enum(STATES), "public"),
    "purge": Field(boolean, False),
    "owner": Field(username),
    "deputies": Field(usernames, []),
    "instructors": Field(list_of(username, non_empty=True)),
    "contact": Field(username, _DERIVED),
    "announce": Field(list_of(string(EMAIL_RE, "an e-mail address")), []),
    "students": Field(usernames, []),
    "allow_non_students": Field(boolean, _DERIVED),
    "gid": Field(number("integer", minimum=GID_MIN, maximum=GID_MAX, exclude=GID_RESERVED), None),
    "resources": Field(mapping(RESOURCES_FIELDS), {}),
    "environment": Field(string(ENVIRONMENT_RE, "an environment name (a-z, 0-9, . _ -)", NAME_MAX), _DERIVED),
    "packages": Field(list_of(package), []),
    "test_file": Field(test_file, None),
    "coursedata": Field(boolean, True),
    "shareddata": Field(list_of(string(DATASET_RE, "a dataset name (a-z, 0-9, . _ -; no '/' or "
                                                   "leading '.')", NAME_MAX)), []),
    "exchange": Field(boolean, True),
    "load": Field(mapping(LOAD_FIELDS), None),
    "schedule": Field(list_of(mapping(SCHEDULE_FIELDS), unique=False), []),
    "start": Field(date),
    "end": Field(date),
    "expires": Field(date, _DERIVED),
}

NESTED_FIELDS = {"resources": RESOURCES_FIELDS, "load": LOAD_FIELDS, "schedule": SCHEDULE_FIELDS}
REQUIRED_FIELDS = tuple(name for name, spec in COURSE_FIELDS.items() if spec.default is REQUIRED)

_check_course = mapping(COURSE_FIELDS)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------

def merged_settings(settings=None):
    """DEFAULT_SETTINGS overlaid with settings; unknown keys and relative paths are programming errors."""
    merged = dict(DEFAULT_SETTINGS)
    merged.update(settings or {})
    unknown = sorted(set(merged) - set(DEFAULT_SETTINGS))
    if unknown:
        raise ValueError("unknown course settings: %s" % ", ".join(unknown))
    for key in _PATH_SETTINGS:
        parts = merged[key].split("/")
        if parts[0] != "" or any(part in ("", ".", "..") for part in parts[1:]):
            raise ValueError("setting %s=%r is not a normalised absolute path" % (key, merged[key]))
    return merged


def validate_courses(entries, settings=None, today=None):
    """Validate and normalise all course entries at once.

    entries: [{"file", "key", "data", "lines"?, "order"?}], e.g. from
    course_files.load_paths; lines maps dotted fields to line numbers; order
    (default 0) ranks entries before their file name does, for files from
    several directories read in a given order.  today (a date or 'YYYY-MM-DD';
    default: the clock) only sets each course's "expired" flag.
    Returns (courses sorted by slug, problems sorted by file and line).  A
    course appears only if its own entry had no problem; a cross-file problem
    (duplicate slug or gid, package conflict) is reported on the later file
    and drops only a duplicate slug.
    """
    settings = merged_settings(settings)
    today = _as_date(today) if today is not None else datetime.date.today()
    checked = []
    for entry in sorted(entries, key=lambda e: (e.get("order", 0), str(e.get("file")), str(e.get("key")))):
        ctx = _Context(str(entry.get("file")), entry.get("lines"), settings)
        checked.append((ctx, _validate_entry(ctx, entry, today)))
    courses = _cross_file_checks([(ctx, course) for ctx, course in checked if course is not None])
    problems = [problem for ctx, _ in checked for problem in ctx.problems]
    return sorted(courses, key=lambda c: c["slug"]), sorted(problems, key=Problem.sort_key)


def _as_date(value):
    """A date from a date, a datetime or an ISO string (Ansible passes any of them)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    return datetime.date.fromisoformat(str(value))


def courses_from_vars(hostvars_like, courses_dir="group_vars/courses", settings=None, today=None):
    """Validate the course_* variables Ansible loaded; file names are inferred as <courses_dir>/<slug>.yml.

    Every variable whose name starts with 'course_' is taken for a course, so
    no other variable may use that prefix (role variables use '<role>_').
    """
    entries = [{"file": "%s/%s.yml" % (courses_dir.rstrip("/"), key[len(KEY_PREFIX):]), "key": key, "data": value}
               for key, value in sorted(hostvars_like.items()) if key.startswith(KEY_PREFIX)]
    return validate_courses(entries, settings, today)


def _validate_entry(ctx, entry, today):
    """Check one course entry; the normalised course, or None if it had problems."""
    key = str(entry.get("key"))
    slug = _check_key(ctx, key)
    course = _check_course(ctx, key, entry.get("data"))
    if course is INVALID or slug is None:
        return None
    course.update(slug=slug, key=key, file=ctx.file)
    _apply_derived_defaults(course, ctx.settings)
    before = len(ctx.problems)
    for rule in _COURSE_RULES:
        rule(ctx, key, course)
    if len(ctx.problems) > before:
        return None
    return _finish(course, today)


def _check_key(ctx, key):
    """The slug from key 'course_<slug>', checked against the file name; None on a problem."""
    if not key.startswith(KEY_PREFIX):
        ctx.report(key, "the key must be %s<slug>" % KEY_PREFIX)
        return None
    slug = key[len(KEY_PREFIX):]
    base = ctx.file.rsplit("/", 1)[-1]
    if not SLUG_RE.match(slug):
        ctx.report(key, "slug %r must be a name followed by a year, like mlbp2026 "
                        "(lower case letters and digits, ending in four digits)" % slug)
        return None
    longest = ctx.settings["group_prefix"] + slug + ctx.settings["students_group_suffix"]
    if len(longest) > ctx.settings["max_group_name"]:
        ctx.report(key, "slug %r is too long: group %r would exceed %d characters"
                   % (slug, longest, ctx.settings["max_group_name"]))
        return None
    if base != slug + ".yml":
        ctx.report(key, "the file holding %s must be named %s.yml, not %s" % (key, slug, base))
        return None
    return slug


def _apply_derived_defaults(course, settings):
    """Fill the defaults that depend on other fields or on settings."""
    if course["contact"] is None:
        course["contact"] = course["owner"]
    if course["allow_non_students"] is None:
        course["allow_non_students"] = course["state"] != "private"
    if course["environment"] is None:
        course["environment"] = settings["default_environment"]
    resources = course["resources"]
    if resources.get("memory") is None:
        resources["memory"] = settings["default_memory"]
    if resources.get("cpus") is None:
        resources["cpus"] = float(settings["default_cpus"])
    if course["expires"] is None:
        course["expires"] = add_months(course["end"], settings["expiry_months"])
    for event in course["schedule"]:
        if event["what"] is None:
            event["what"] = event["kind"]


def add_months(day, months):
    """day plus months, the day clamped to the month's end (2026-08-31 + 6 -> 2027-02-28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return day.replace(year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1]))


def _rule_purge(ctx, key, course):
    if course["purge"] and course["state"] != "absent":
        ctx.report(join(key, "purge"), "purge: true deletes the course's data and needs state: absent "
                                       "(state is %r)" % course["state"])
    if course["state"] == "absent" and not course["purge"]:
        ctx.report(join(key, "state"), "state: absent deletes the course's groups and directories, so it needs "
                                       "purge: true as well (they are archived to a verified tarball first); "
                                       "to hide the course and keep its data, use state: archived")


def _rule_staff_are_instructors(ctx, key, course):
    instructors = set(course["instructors"])
    if course["owner"] not in instructors:
        ctx.report(join(key, "owner"), "%r must also be listed in instructors" % course["owner"])
    for i, deputy in enumerate(course["deputies"]):
        if deputy not in instructors:
            ctx.report("%s.deputies[%d]" % (key, i), "%r must also be listed in instructors" % deputy)


def _rule_access(ctx, key, course):
    explicit = course["allow_non_students"]
    if course["state"] == "private" and explicit:
        ctx.report(join(key, "allow_non_students"), "a private course admits only its students; "
                                                    "use state: public to allow others")
    if course["state"] == "public" and not explicit and not course["students"]:
        ctx.report(join(key, "allow_non_students"), "false needs a students list "
                                                    "(or use state: private for instructors only)")


def _rule_dates(ctx, key, course):
    if course["start"] > course["end"]:
        ctx.report(join(key, "end"), "%s is before start %s" % (course["end"], course["start"]))
    elif course["end"] > course["expires"]:
        ctx.report(join(key, "expires"), "%s is before end %s" % (course["expires"], course["end"]))
    for i, event in enumerate(course["schedule"]):
        day = datetime.date.fromisoformat(event["date"][:10])
        if not course["start"] <= day <= course["expires"]:
            ctx.report("%s.schedule[%d].date" % (key, i), "%s is outside the course (%s .. %s)"
                       % (event["date"], course["start"], course["expires"]))


def _rule_packages_unique(ctx, key, course):
    seen = {}
    for i, spec in enumerate(course["packages"]):
        name = package_name(spec)
        if name in seen:
            ctx.report("%s.packages[%d]" % (key, i), "%s is already required by %r; "
                                                     "combine the specifiers" % (name, seen[name]))
        seen[name] = spec


_COURSE_RULES = (_rule_purge, _rule_staff_are_instructors, _rule_access, _rule_dates, _rule_packages_unique)


def _finish(course, today):
    """Add derived fields and turn dates into ISO strings: the normalised course."""
    out = dict(course, expired=today > course["expires"])
    for name in ("start", "end", "expires"):
        out[name] = course[name].isoformat()
    out["resources"] = dict(course["resources"], memory_bytes=memory_bytes(course["resources"]["memory"]))
    if course["load"] is not None:
        out["load"] = dict(course["load"], memory_per_student_bytes=memory_bytes(course["load"]["memory_per_student"]))
    return out


def _cross_file_checks(checked):
    """Checks that need every course: unique slugs and gids, package pins per environment.

    checked: [(context, course)] in file order; problems go to the later file.
    Returns the courses without duplicate slugs.
    """
    kept, slugs, gids = [], {}, {}
    for ctx, course in checked:
        key = course["key"]
        first = slugs.setdefault(course["slug"], course)
        if first is not course:
            ctx.report(key, "course %s is already defined in %s" % (course["slug"], first["file"]))
            continue
        kept.append((ctx, course))
        owner = gids.setdefault(course["gid"], course)
        if course["gid"] is not None and owner is not course:
            ctx.report(join(key, "gid"), "gid %d is already used by %s (%s)"
                       % (course["gid"], owner["slug"], owner["file"]))
    _package_conflicts(kept)
    return [course for _, course in kept]


def _package_conflicts(checked):
    """Report exact pins that another course in the same environment excludes (needs packaging).

    Courses mostly repeat the same specifiers, so each requirement is compared
    with the distinct specifier sets seen so far, not with every course:
    linear in the number of courses for realistic files.
    """
    if not HAS_PACKAGING:
        return
    seen = {}  # (environment, name) -> {specifier text: (first course, requirement)}
    for ctx, course in checked:
        for i, spec in enumerate(course["packages"]):
            req = _requirement(spec)
            distinct = seen.setdefault((course["environment"], canonicalize_name(req.name)), {})
            for other_course, other in distinct.values():
                if other_course is not course and _excludes(req, other):
                    ctx.report("%s.packages[%d]" % (course["key"], i), "%r conflicts with %r of %s in environment %s"
                               % (spec, str(other), other_course["slug"], course["environment"]))
            distinct.setdefault(str(req.specifier), (course, req))


def _excludes(a, b):
    """True if one requirement pins a version (==) that the other's specifiers reject."""
    for pinned, other in ((a, b), (b, a)):
        for spec in pinned.specifier:
            if spec.operator == "==" and "*" not in spec.version and not other.specifier.contains(spec.version,
                                                                                                   prereleases=True):
                return True
    return False


# --------------------------------------------------------------------------
# Desired state
# --------------------------------------------------------------------------

def _live(courses):
    """Courses that exist on the host (every state but absent)."""
    return [c for c in courses if c["state"] != "absent"]


def group_name(slug, settings):
    return settings["group_prefix"] + slug


def students_group_name(course, settings):
    """The students group, or None when the course has no student list."""
    if not course["students"]:
        return None
    return settings["group_prefix"] + course["slug"] + settings["students_group_suffix"]


def desired_groups(courses, settings=None):
    """Unix groups: jupyter-<slug> (instructors, fixed gid if given) and jupyter-<slug>-students."""
    settings = merged_settings(settings)
    groups = []
    for course in _live(courses):
        groups.append({"name": group_name(course["slug"], settings), "gid": course["gid"],
                       "members": sorted(course["instructors"]), "course": course["slug"]})
        students = students_group_name(course, settings)
        if students:
            groups.append({"name": students, "gid": None, "members": sorted(course["students"]),
                           "course": course["slug"]})
    return sorted(groups, key=lambda g: g["name"])


def purged_groups_by_course(courses, settings=None):
    """{slug: [instructors group, students group]} of absent courses with purge: true."""
    settings = merged_settings(settings)
    return {course["slug"]: [group_name(course["slug"], settings),
                             group_name(course["slug"], settings) + settings["students_group_suffix"]]
            for course in courses if course["state"] == "absent" and course["purge"]}


def purged_groups(courses, settings=None):
    """Group names to delete: those of absent courses with purge: true."""
    return sorted(name for names in purged_groups_by_course(courses, settings).values() for name in names)


def purged_dirs_by_course(courses, settings=None):
    """{slug: [course dir, exchange dir]} of absent courses with purge: true (to archive, then delete)."""
    settings = merged_settings(settings)
    return {course["slug"]: [_course_dir(course, settings), _exchange_dir(course, settings)]
            for course in courses if course["state"] == "absent" and course["purge"]}


def purged_dirs(courses, settings=None):
    """Directory trees to delete: course and exchange dirs of absent courses with purge: true."""
    return sorted(path for paths in purged_dirs_by_course(courses, settings).values() for path in paths)


def _course_dir(course, settings):
    return "%s/%s" % (settings["course_root"], course["slug"])


def _exchange_dir(course, settings):
    return "%s/%s" % (settings["exchange_root"], course["slug"])


@dataclasses.dataclass
class _Dir:
    """A directory while it is being derived; modes as ints, ACLs as {group: perms}."""

    path: str
    kind: str
    course: object
    group: str
    mode: int
    acl: dict = dataclasses.field(default_factory=dict)
    default: object = None  # None or {"user": perms, "group": perms, "other": perms, "named": {group: perms}}
    owner: str = "root"
    git: bool = False
    readme: object = None

    def render(self):
        return {"path": self.path, "owner": self.owner, "group": self.group, "mode": "%04o" % self.mode,
                "acl": ["group:%s:%s" % item for item in sorted(self.acl.items())],
                "default_acl": _render_default_acl(self.default), "course": self.course,
                "kind": self.kind, "git": self.git, "readme": self.readme}


def _render_default_acl(default):
    """Full default ACL in getfacl order; the mask is the union of the group class."""
    if default is None:
        return []
    named = ["group:%s:%s" % item for item in sorted(default["named"].items())]
    out = ["user::" + default["user"], "group::" + default["group"]] + named
    if named:
        mask = 0
        for perms in [default["group"]] + list(default["named"].values()):
            mask |= _perm_bits(perms)
        out.append("mask::" + _perm_str(mask))
    return out + ["other::" + default["other"]]


def _perm_bits(perms):
    return sum(bit for bit, char in zip((4, 2, 1), perms) if char != "-")


def _perm_str(bits):
    return "".join(char if bits & bit else "-" for bit, char in zip((4, 2, 1), "rwx"))


def _default_acl(user, group, other, named=None):
    return {"user": user, "group": group, "other": other, "named": dict(named or {})}


def _course_layout(course, settings):
    """The directories of one course before the private/archived transformations (see module docstring)."""
    slug, group = course["slug"], group_name(course["slug"], settings)
    base, exchange = _course_dir(course, settings), _exchange_dir(course, settings)
    dirs = [
        _Dir(base, "course", slug, group, 0o755),
        _Dir(base + "/files", "files", slug, group, 0o2770, {group: "rwx"},
             _default_acl("rwx", "rwx", "---", {group: "rwx"}),
             # An archived course keeps what it has; a new, read-only repository would only confuse.
             git=course["state"] != "archived"),
    ]
    if course["coursedata"]:
        dirs.append(_Dir(base + "/data", "data", slug, group, 0o2775, {}, _default_acl("rwx", "rwx", "r-x")))
    if course["exchange"]:
        dirs += [_Dir(exchange, "exchange", slug, group, 0o2755),
                 _Dir(exchange + "/inbound", "exchange_inbound", slug, group, 0o3773),
                 _Dir(exchange + "/outbound", "exchange_outbound", slug, group, 0o2775),
                 _Dir(exchange + "/feedback", "exchange_feedback", slug, group, 0o2771)]
    for entry in dirs:
        entry.owner = settings["dir_owner"]
    return dirs


def _restrict_to_students(entry, students_group):
    """Private course: what 'other' could do goes to the students group only."""
    other = entry.mode & 0o7
    if other and students_group:
        entry.acl[students_group] = _perm_str(other)
    entry.mode &= ~0o7
    if entry.default is not None:
        if entry.default["other"] != "---" and students_group:
            entry.default["named"][students_group] = entry.default["other"]
        entry.default["other"] = "---"


def _make_read_only(entry):
    """Archived course: no write bit anywhere, the data stays."""
    entry.mode &= ~0o222
    entry.acl = {name: perms.replace("w", "-") for name, perms in entry.acl.items()}
    if entry.default is not None:
        for key in ("user", "group", "other"):
            entry.default[key] = entry.default[key].replace("w", "-")
        entry.default["named"] = {n: p.replace("w", "-") for n, p in entry.default["named"].items()}


def _course_dirs(course, settings):
    dirs = _course_layout(course, settings)
    for entry in dirs:
        if course["state"] == "private":
            _restrict_to_students(entry, students_group_name(course, settings))
        if course["state"] == "archived":
            _make_read_only(entry)
    return dirs


def _shareddata_readme(name, slugs, settings):
    return ("Dataset %s, shared read-only by the courses: %s.\n"
            "It is mounted in user servers at %s/%s.\n"
            "Managed by coursehub: only administrators write here.\n"
            % (name, ", ".join(slugs), settings["shareddata_mount"], name))


def _users_of_datasets(courses):
    """{dataset name: sorted course slugs} for courses on the host."""
    users = {}
    for course in _live(courses):
        for name in course["shareddata"]:
            users.setdefault(name, []).append(course["slug"])
    return {name: sorted(slugs) for name, slugs in users.items()}


def desired_dirs(courses, settings=None):
    """Every directory the host needs for these courses, sorted by path (see module docstring)."""
    settings = merged_settings(settings)
    live = _live(courses)
    datasets = _users_of_datasets(courses)
    owner = settings["dir_owner"]
    roots = [("course_root", bool(live)), ("exchange_root", any(c["exchange"] for c in live)),
             ("shareddata_root", bool(datasets))]
    dirs = [_Dir(settings[key], "root", None, "root", 0o755, owner=owner) for key, used in roots if used]
    for name, slugs in datasets.items():
        dirs.append(_Dir("%s/%s" % (settings["shareddata_root"], name), "shareddata", None, "root", 0o755,
                         owner=owner, readme=_shareddata_readme(name, slugs, settings)))
    for course in live:
        dirs.extend(_course_dirs(course, settings))
    return sorted((d.render() for d in dirs), key=lambda d: d["path"])


def _mount(source, target, read_only):
    return {"source": source, "target": target, "read_only": read_only}


def _mounts(course, settings):
    """Bind mounts for the two modes of a server: instructor (/course) and student."""
    base, archived = _course_dir(course, settings), course["state"] == "archived"
    instructor, student = [_mount(base + "/files", settings["course_mount"], archived)], []
    if course["coursedata"]:
        instructor.append(_mount(base + "/data", settings["coursedata_mount"], archived))
        student.append(_mount(base + "/data", settings["coursedata_mount"], True))
    if course["exchange"]:
        target = "%s/%s" % (settings["exchange_mount"], course["slug"])
        for mounts in (instructor, student):
            mounts.append(_mount(_exchange_dir(course, settings), target, archived))
    for name in course["shareddata"]:
        for mounts in (instructor, student):
            mounts.append(_mount("%s/%s" % (settings["shareddata_root"], name),
                                 "%s/%s" % (settings["shareddata_mount"], name), True))
    by_target = lambda m: m["target"]  # noqa: E731 - a sort key
    return {"instructor": sorted(instructor, key=by_target), "student": sorted(student, key=by_target)}


def _profile(course, settings):
    students_group = students_group_name(course, settings)
    resources = course["resources"]
    return {
        "name": course["name"],
        "state": course["state"],
        "instructors_group": group_name(course["slug"], settings),
        "instructors": sorted(course["instructors"]),
        "students_group": students_group,
        "students": sorted(course["students"]),
        "allow_non_students": course["allow_non_students"],
        "private": course["state"] == "private",
        "resources": {"memory": resources["memory"], "memory_bytes": resources["memory_bytes"],
                      "cpus": resources["cpus"]},
        "environment": course["environment"],
        "image": settings["image_template"].format(environment=course["environment"]),
        "mounts": _mounts(course, settings),
        "nbgrader": {"course_id": course["slug"], "course_root": settings["course_mount"],
                     "exchange_root": settings["exchange_mount"] if course["exchange"] else None},
        "shareddata": sorted(course["shareddata"]),
    }


def desired_profiles(courses, settings=None):
    """The content of courses.json: what the hub offers whom, with limits and mounts.

    Archived courses stay in (state archived; the hub hides them), absent ones
    are left out.  Keys and lists are sorted, so json.dumps(..., sort_keys=True)
    is byte-stable.
    """
    settings = merged_settings(settings)
    return {"version": 1,
            "courses": {c["slug"]: _profile(c, settings) for c in sorted(_live(courses), key=lambda c: c["slug"])}}


# Lab and server extensions a student-mode server must not load: grading and
# authoring belong to instructors. jupyter_lsp serves language servers, of
# which the environment has none; it costs about 0.2 CPU-s of every start
# (bench/server_start.py), which a deadline multiplies by every student.
STUDENT_DISABLED_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:course-list")
STUDENT_DISABLED_SERVER = ("nbgrader.server_extensions.formgrader", "nbgrader.server_extensions.course_list",
                           "jupyter_lsp")


# Instructor mode only: SQLite creates a database 0644, which the default ACL
# of /course cannot widen, so a second instructor could not write the
# gradebook the first one created.  Make it group-writable up front.
# Instructor mode only: autograde (and an instructor's validate) runs student
# code in the grading sandbox kernel (user_env role), which has no network, so
# nbgrader reaches it over ipc sockets.
_SANDBOX = [
    "# Student code is graded in the bubblewrap sandbox (no network: ipc sockets).",
    "c.Execute.kernel_name = %(kernel)s",
    "c.KernelManager.transport = \"ipc\"",
    "# An absolute socket prefix: nbgrader and the kernel run in different directories.",
    "# A private directory of its own: the sandbox sees these sockets and nothing else of the home.",
    "_sockets = os.path.join(os.path.expanduser(\"~\"), \".cache\", \"coursehub-grading\")",
    "os.makedirs(_sockets, mode=0o700, exist_ok=True)",
    "c.KernelManager.ip = os.path.join(_sockets, \"ipc\")",
]

_GRADEBOOK_GUARD = [
    "# The gradebook is shared by the course group: create it group-writable",
    "# (SQLite would make it 0644) and widen one this user made before.",
    "import os",
    "_gradebook = os.path.join(%(root)s, \"gradebook.db\")",
    "if os.access(%(root)s, os.W_OK):",
    "    os.close(os.open(_gradebook, os.O_CREAT | os.O_WRONLY, 0o660))",
    "    if os.stat(_gradebook).st_uid == os.getuid():",
    "        os.chmod(_gradebook, 0o660)",
]


def _submitters(course, settings):
    """A course that admits only its own people: collect refuses submissions of anyone else."""
    if course["allow_non_students"]:
        return []
    groups = [group_name(course["slug"], settings)] + list(filter(None, [students_group_name(course, settings)]))
    return ["# Only the course's instructors and listed students may submit.",
            "c.CoursehubExchange.allowed_groups = %s" % json.dumps(groups)]


def _nbgrader_config(course, settings, mode):
    lines = [
        "# Managed by coursehub (jupyter_course_profiles): nbgrader for course %s." % course["slug"],
        "c = get_config()  # noqa: F821",
        "c.CourseDirectory.course_id = %s" % json.dumps(course["slug"]),
        "c.CourseDirectory.root = %s" % json.dumps(settings["course_mount"]),
        "# Instructors share /course through the course group.",
        "c.CourseDirectory.groupshared = True",
        "c.CourseDirectory.max_file_size = %d" % int(settings["nbgrader_max_file_size_kb"]),
        "c.Exchange.root = %s" % json.dumps(settings["exchange_mount"]),
        "c.Exchange.path_includes_course = True",
        "c.Exchange.timezone = %s" % json.dumps(settings["nbgrader_timezone"]),
        "c.Autograde.create_student = True",
        "# coursehub's exchange: submissions and feedback readable only by their student and the",
        "# instructors (nbgrader's own leaves them world-readable); installed by the user_env role.",
        "c.ExchangeFactory.submit = %s" % json.dumps(settings["nbgrader_exchange_module"] + ".ExchangeSubmit"),
        "c.ExchangeFactory.release_feedback = %s" % json.dumps(
            settings["nbgrader_exchange_module"] + ".ExchangeReleaseFeedback"),
        "# Collect (and list --inbound) take from inbound only what the student whose name it bears",
        "# made: no links, devices or hard links, nothing of another owner; refusals are logged and",
        "# appended to the report in /course.",
        "c.ExchangeFactory.collect = %s" % json.dumps(settings["nbgrader_exchange_module"] + ".ExchangeCollect"),
        "c.ExchangeFactory.list = %s" % json.dumps(settings["nbgrader_exchange_module"] + ".ExchangeList"),
        "c.CoursehubExchange.refusal_report = %s" % json.dumps(settings["course_mount"] + "/" + COLLECT_REFUSALS),
    ] + _submitters(course, settings)
    lines += ([line % {"root": json.dumps(settings["course_mount"])} for line in _GRADEBOOK_GUARD]
              + ([line % {"kernel": json.dumps(settings["grading_kernel"])} for line in _SANDBOX]
                 if settings["grading_kernel"] else [])
              if mode == "instructor" else [])
    return "\n".join(lines) + "\n"


def _instructor_server_config(course, settings):
    # formgrader refuses a course directory outside the server's root
    # ("nbgrader_bad_setup"), and /course is outside the home: so an
    # instructor-mode server is rooted at "/" and its file browser opens in
    # the home.  The user runs as themselves either way; "/" shows nothing
    # their own shell could not.
    return "\n".join([
        "# Managed by coursehub (jupyter_course_profiles): instructor mode of %s." % course["slug"],
        "import os",
        "c = get_config()  # noqa: F821",
        "c.ServerApp.root_dir = \"/\"",
        "c.ContentsManager.preferred_dir = os.path.expanduser(\"~\").lstrip(\"/\")",
    ]) + "\n"


def desired_course_configs(courses, settings=None):
    """{path: text} of each live course's per-mode Jupyter config directory.

    ``<nbgrader_config_root>/<slug>/<mode>/`` goes on JUPYTER_CONFIG_PATH of
    a course server: nbgrader_config.py, and in student mode the lab page
    config and server config that switch the grading extensions off.
    """
    settings = merged_settings(settings)
    files = {}
    for course in sorted(_live(courses), key=lambda c: c["slug"]):
        if course["state"] == "archived":
            continue
        for mode in ("student", "instructor"):
            base = "%s/%s/%s" % (settings["nbgrader_config_root"], course["slug"], mode)
            files[base + "/nbgrader_config.py"] = _nbgrader_config(course, settings, mode)
            disabled_lab = STUDENT_DISABLED_LAB if mode == "student" else ()
            disabled_server = STUDENT_DISABLED_SERVER if mode == "student" else ()
            files[base + "/labconfig/page_config.json"] = json.dumps(
                {"disabledExtensions": {name: True for name in disabled_lab}}, indent=2, sort_keys=True) + "\n"
            files[base + "/jupyter_server_config.json"] = json.dumps(
                {"ServerApp": {"jpserver_extensions": {name: False for name in disabled_server}}},
                indent=2, sort_keys=True) + "\n"
            if mode == "instructor":
                files[base + "/jupyter_server_config.py"] = _instructor_server_config(course, settings)
    return files


def desired_exports(courses, settings=None, homes=False):
    """NFS exports for scale-out: the course tree, the exchange and shared data when a live course
    uses them, and the homes only when asked for (``homes``: compute nodes that run servers need them)."""
    settings = merged_settings(settings)
    live = _live(courses)
    wanted = [("homes", "home_root", "rw", bool(homes)),
              ("courses", "course_root", "rw", bool(live)),
              ("exchange", "exchange_root", "rw", any(c["exchange"] for c in live)),
              ("shareddata", "shareddata_root", "ro", any(c["shareddata"] for c in live))]
    return [{"what": what, "path": settings[key], "access": access} for what, key, access, used in wanted if used]


def desired_shares(courses, settings=None):
    """SMB shares: each course's files for its instructors (read-only once archived)."""
    settings = merged_settings(settings)
    return [{"name": c["slug"], "course": c["slug"], "path": _course_dir(c, settings) + "/files",
             "valid_groups": [group_name(c["slug"], settings)], "read_only": c["state"] == "archived"}
            for c in sorted(_live(courses), key=lambda c: c["slug"])]


def calendar_events(courses):
    """Schedule entries of courses on the host, sorted by date, then course."""
    events = [{"course": c["slug"], "date": e["date"], "kind": e["kind"], "what": e["what"]}
              for c in _live(courses) for e in c["schedule"]]
    return sorted(events, key=lambda e: (e["date"], e["course"], e["kind"], e["what"]))
