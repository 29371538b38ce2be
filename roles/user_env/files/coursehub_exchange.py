"""nbgrader exchange classes for coursehub: a student's work is readable by that
student and the course's instructors, and what a student writes into the
exchange is hostile input to the instructor who collects it.

nbgrader's default exchange (0.9) leaves each submission world-readable, with
its top directory mode 0777, and gives a released feedback file the mode of the
instructor's copy.  Its collect runs as the instructor and trusts the inbound
directory: it follows links a student planted, takes the student id from the
entry's name (and only warns when the owner differs), and one malformed entry
stops the collection of everyone.  These subclasses keep nbgrader's layout and
protocol:

* ``ExchangeSubmit``: files only under the submitter's own name, and the
  submission tree becomes group-only (directories 0750, files 0640).  Its group
  is the course group (the inbound directory is setgid), so instructors
  collect it; other students get EACCES.
* ``ExchangeReleaseFeedback``: each released feedback file becomes 0640 with one
  named ACL entry, ``user:<student>:r--``.  If the ACL cannot be set the file
  stays 0640: the student cannot fetch it, and the error is logged (fail closed).
* ``ExchangeCollect``: collects a submission only if ``check_submission`` finds
  nothing wrong with it (see there) and it copies the same way, from file
  descriptors opened without following links; refused entries are dropped
  before the latest submission per student is chosen, so a planted entry cannot
  hide a student's real one.  Each refusal is logged as an error (formgrader's
  Collect shows the log) and appended to ``refusal_report`` in the course
  directory.  A refusal never stops the other students' collection.
* ``ExchangeList``: ``nbgrader list --inbound`` skips (and logs) the entries
  collect would refuse, instead of reading through their links or crashing.

The checks are plain functions of this module that use the standard library
only, so they are unit-tested without nbgrader; the classes at the end are
thin.  Per-course nbgrader configs select the classes (``c.ExchangeFactory``)
and set the policy (``c.CoursehubExchange``); the user_env role installs this
module into each environment.
"""
import collections
import datetime
import errno
import fnmatch
import glob
import grp
import os
import pwd
import re
import shutil
import stat
import subprocess
import tempfile
import time

SUBMISSION_DIR_MODE = 0o750
SUBMISSION_FILE_MODE = 0o640
FEEDBACK_FILE_MODE = 0o640
COLLECTED_DIR_MODE = 0o2770
COLLECTED_FILE_MODE = 0o660
REPORT_MODE = 0o660
SETFACL = "/usr/bin/setfacl"
# Deeper trees than this are refused: each level holds a descriptor open.
MAX_DEPTH = 32
# nbgrader's inbound names: <student>+<assignment>+<timestamp>[+<random>].
SUBMISSION_NAME = re.compile(r"^(?P<student>[^+/]+)\+(?P<assignment>[^+/]+)\+(?P<timestamp>[^+/]+)"
                             r"(?:\+(?P<random>[^+/]*))?$")
TIMESTAMP_FILE = "timestamp.txt"

Refusal = collections.namedtuple("Refusal", "entry reason")
Refusal.__doc__ = "Why a submission is not collected: entry is a path below inbound, reason says what is wrong."

_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in after lstat must not block the open; fstat then refuses it.
_O_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_KINDS = ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


class _Refused(Exception):
    """A submission is refused: stop walking it."""


def printable(text):
    """A name as it may go into a log line: control characters (a newline could forge a line) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def parse_submission_name(name):
    """{student, assignment, timestamp, random} of an inbound entry's name, or None if it is not one."""
    match = SUBMISSION_NAME.match(name)
    return match.groupdict() if match else None


def user_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def student_uid(student, allowed_groups=()):
    """(uid, None) if the unix user `student` may submit to a course open to `allowed_groups`
    (empty: to anyone), else (uid or None, reason).  Groups come through NSS, as the kernel sees them."""
    try:
        entry = pwd.getpwnam(student)
    except KeyError:
        return None, "there is no user %s" % printable(student)
    if allowed_groups:
        gids = set(os.getgrouplist(entry.pw_name, entry.pw_gid))
        for name in allowed_groups:
            try:
                if grp.getgrnam(name).gr_gid in gids:
                    return entry.pw_uid, None
            except KeyError:
                continue
        return entry.pw_uid, "%s is not in %s" % (student, " or ".join(allowed_groups))
    return entry.pw_uid, None


def judge(st, expected_uid, window=None):
    """Why an entry with this lstat/fstat result may not be collected, or None.

    Only directories and regular files with one link, owned by the student,
    pass.  `window` is (not_before, not_after) in epoch seconds for the
    entry's ctime: the kernel sets it on every change, and no user can set it
    back, so content changed after the claimed submission time shows."""
    mode = st.st_mode
    for test, kind in _KINDS:
        if test(mode):
            return "is %s" % kind
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        return "is not a regular file or directory (mode %o)" % mode
    if st.st_uid != expected_uid:
        return "belongs to %s" % user_name(st.st_uid)
    if stat.S_ISREG(mode) and st.st_nlink != 1:
        return "is a hard link (%d links)" % st.st_nlink
    if window and not window[0] <= st.st_ctime <= window[1]:
        return "was changed at %s, not at the submission time" % time.strftime(
            "%Y-%m-%d %H:%M:%S UTC", time.gmtime(st.st_ctime))
    return None


def _open_dir(name, dir_fd, expected_uid, window, entry):
    """A descriptor of directory `name` in dir_fd, opened without following a link, and judged."""
    try:
        fd = os.open(name, _O_DIR, dir_fd=dir_fd)
    except OSError as exc:
        raise _Refused(Refusal(entry, _os_reason(exc, name, dir_fd)))
    reason = judge(os.fstat(fd), expected_uid, window)
    if reason:
        os.close(fd)
        raise _Refused(Refusal(entry, reason))
    return fd


def _os_reason(exc, name=None, dir_fd=None):
    """What an open that O_NOFOLLOW or O_DIRECTORY made fail says about the entry."""
    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and name is not None:
        try:
            mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
        except OSError:
            mode = 0
        if stat.S_ISLNK(mode):
            return "is a symbolic link"
    if exc.errno == errno.ELOOP:
        return "is a symbolic link"
    if exc.errno == errno.ENOTDIR:
        return "is not a directory"
    return "cannot be read (%s)" % os.strerror(exc.errno)


def _window(submitted_at, window):
    return (submitted_at - window, submitted_at + window) if submitted_at is not None and window else None


class _Walk:
    """One pass over a submission below an inbound directory, never following a link.

    With dest, it also copies: each file from the descriptor it judged, each
    directory made afresh; the first refusal stops it."""

    def __init__(self, expected_uid, submitted_at=None, window=0, dest=None, exclude=(), include=("*",),
                 max_file_size_kb=None, max_dir_size_kb=None, warn=None):
        self.uid, self.window = expected_uid, _window(submitted_at, window)
        self.dest, self.exclude, self.include = dest, list(exclude or ()), list(include or ("*",))
        self.max_file = 1000 * max_file_size_kb if max_file_size_kb else None
        self.max_total = 1000 * max_dir_size_kb if max_dir_size_kb else None
        self.warn = warn or (lambda msg: None)
        self.total = 0
        self.has_timestamp, self.timestamp = False, None

    def run(self, inbound, name):
        inbound_fd = os.open(inbound, _O_DIR)
        try:
            top = _open_dir(name, inbound_fd, self.uid, self.window, name)
            try:
                if self.dest:
                    os.mkdir(self.dest, COLLECTED_DIR_MODE)
                    os.chmod(self.dest, COLLECTED_DIR_MODE)
                self._dir(top, name, self.dest, 1)
                # Read last: whatever else is wrong is named first.
                if self.has_timestamp:
                    self.timestamp = self._read_timestamp(top, TIMESTAMP_FILE, name + "/" + TIMESTAMP_FILE)
            finally:
                os.close(top)
        finally:
            os.close(inbound_fd)

    def _dir(self, fd, entry, dest, depth):
        for name in sorted(os.listdir(fd)):
            path = entry + "/" + name
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as exc:
                raise _Refused(Refusal(path, _os_reason(exc)))
            reason = judge(st, self.uid, self.window)
            if reason:
                raise _Refused(Refusal(path, reason))
            target = os.path.join(dest, name) if dest else None
            skipped = self.dest and self._skipped(name, st, path)
            if stat.S_ISDIR(st.st_mode):
                if depth >= MAX_DEPTH:
                    raise _Refused(Refusal(path, "is nested deeper than %d directories" % MAX_DEPTH))
                sub = _open_dir(name, fd, self.uid, self.window, path)
                try:
                    if target and not skipped:
                        os.mkdir(target, COLLECTED_DIR_MODE)
                        os.chmod(target, COLLECTED_DIR_MODE)
                    self._dir(sub, path, None if skipped else target, depth + 1)
                finally:
                    os.close(sub)
            else:
                self.total += st.st_size
                if self.max_total and self.total > self.max_total:
                    raise _Refused(Refusal(entry, "is larger than %d kB in all" % (self.max_total // 1000)))
                if depth == 1 and name == TIMESTAMP_FILE:
                    self.has_timestamp = True
                if target and not skipped:
                    self._copy_file(fd, name, path, target)

    def _skipped(self, name, st, path):
        """nbgrader's CourseDirectory.ignore / include / max_file_size, as its collect applies them."""
        if any(fnmatch.fnmatch(name, pattern) for pattern in self.exclude):
            return True
        if stat.S_ISREG(st.st_mode):
            if not any(fnmatch.fnmatch(name, pattern) for pattern in self.include):
                return True
            if self.max_file and st.st_size > self.max_file:
                self.warn("Ignoring file too large %r (see config option CourseDirectory.max_file_size)" % path)
                return True
        return False

    def _open_file(self, dir_fd, name, path):
        try:
            fd = os.open(name, _O_FILE, dir_fd=dir_fd)
        except OSError as exc:
            raise _Refused(Refusal(path, _os_reason(exc, name, dir_fd)))
        reason = judge(os.fstat(fd), self.uid, self.window)
        if reason:
            os.close(fd)
            raise _Refused(Refusal(path, reason))
        return fd

    def _read_timestamp(self, dir_fd, name, path):
        fd = self._open_file(dir_fd, name, path)
        try:
            return os.read(fd, 4096).decode("utf-8", "replace").strip()
        finally:
            os.close(fd)

    def _copy_file(self, dir_fd, name, path, target):
        src = self._open_file(dir_fd, name, path)
        try:
            st = os.fstat(src)
            out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                          COLLECTED_FILE_MODE)
            try:
                copied = 0
                while True:
                    chunk = os.read(src, 1 << 20)
                    if not chunk:
                        break
                    copied += len(chunk)
                    if self.max_total and self.total - st.st_size + copied > self.max_total:
                        raise _Refused(Refusal(path, "grew while it was copied"))
                    os.write(out, chunk)
                os.fchmod(out, COLLECTED_FILE_MODE | (st.st_mode & 0o110))
                os.utime(out, ns=(st.st_atime_ns, st.st_mtime_ns))
            finally:
                os.close(out)
            # Copy, then verify: what was read came from a file that still passes.
            reason = judge(os.fstat(src), self.uid, self.window)
            if reason:
                raise _Refused(Refusal(path, reason))
        finally:
            os.close(src)


def check_submission(inbound, name, expected_uid, submitted_at=None, window=0):
    """Every reason not to collect inbound/<name> (a list of Refusal; [] means none), found with
    lstat and O_NOFOLLOW, never following a link.

    Refused: a top entry that is not a directory; anything in it that is not a
    directory or a regular file with one link (symbolic links, dangling or not,
    FIFOs, sockets, devices, hard links); anything not owned by expected_uid;
    a tree deeper than MAX_DEPTH; a name in nbgrader's form whose top-level
    timestamp.txt is missing or says another time; with submitted_at (epoch
    seconds) and window (seconds), anything changed (ctime) outside
    submitted_at +- window."""
    walk = _Walk(expected_uid, submitted_at, window)
    return _finish(walk, inbound, name)


def copy_submission(inbound, name, dest, expected_uid, submitted_at=None, window=0, exclude=(), include=("*",),
                    max_file_size_kb=None, max_dir_size_kb=None, warn=None):
    """Copy inbound/<name> to dest (which must not exist), checking as check_submission does while
    copying: each file is read from a descriptor opened with O_NOFOLLOW and judged by fstat
    before and after.  Returns the refusals; on any, dest is removed again."""
    walk = _Walk(expected_uid, submitted_at, window, dest, exclude, include, max_file_size_kb, max_dir_size_kb, warn)
    refusals = _finish(walk, inbound, name)
    if refusals:
        shutil.rmtree(dest, ignore_errors=True)
    return refusals


def _finish(walk, inbound, name):
    try:
        walk.run(inbound, name)
    except _Refused as refused:
        return [refused.args[0]]
    except OSError as exc:
        return [Refusal(name, _os_reason(exc))]
    fields = parse_submission_name(name)
    if fields and walk.timestamp != fields["timestamp"]:
        # autograde dates the submission by this file: it must say what the name says.
        return [Refusal(name + "/" + TIMESTAMP_FILE, "is missing" if walk.timestamp is None
                        else "does not hold the timestamp of the name")]
    return []


def append_report(path, lines):
    """Append lines to the refusal report (created REPORT_MODE; never through a link)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, REPORT_MODE)
    try:
        if os.fstat(fd).st_uid == os.geteuid():
            os.fchmod(fd, REPORT_MODE)
        os.write(fd, "".join(line + "\n" for line in lines).encode("utf-8"))
    finally:
        os.close(fd)


def epoch(utc):
    """Epoch seconds of a naive UTC datetime (what nbgrader's parse_utc returns)."""
    return utc.replace(tzinfo=datetime.timezone.utc).timestamp()


def choose(records, duedate=None, before_duedate=False):
    """The records of one student, most preferred first: nbgrader's choice (the latest; with
    before_duedate, the latest on time if any) and then the rest, to fall back on."""
    latest = sorted(records, key=lambda r: r["timestamp"], reverse=True)
    if duedate is None or not before_duedate:
        return latest
    on_time = [r for r in latest if r["timestamp"] <= duedate]
    return on_time + [r for r in latest if r not in on_time]


def restrict_tree(top, dir_mode=SUBMISSION_DIR_MODE, file_mode=SUBMISSION_FILE_MODE):
    """chmod a tree to owner and group only; the top directory last, so nothing opens up meanwhile."""
    for dirname, _, filenames in os.walk(top, topdown=False):
        for name in filenames:
            path = os.path.join(dirname, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)
        os.chmod(dirname, dir_mode)


# ---------------------------------------------------------------------------
# The nbgrader classes.  Everything above uses the standard library only; these
# exist where nbgrader is installed (every user environment).
try:
    from nbgrader.exchange import ExchangeError
    from nbgrader.exchange.default.collect import ExchangeCollect as _Collect
    from nbgrader.exchange.default.list import ExchangeList as _List
    from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback as _ReleaseFeedback
    from nbgrader.exchange.default.submit import ExchangeSubmit as _Submit
    from nbgrader.utils import get_username, notebook_hash, parse_utc
    from traitlets import Integer, List, Unicode
    from traitlets.config import LoggingConfigurable
except ImportError:  # the controller's unit tests import the checks above without nbgrader
    _Collect = None

if _Collect is not None:
    class CoursehubExchange(LoggingConfigurable):
        """The course's policy for what an instructor takes from inbound (``c.CoursehubExchange``)."""

        allowed_groups = List(Unicode(), help=(
            "Groups whose members may submit; empty: anyone (a public course). A submission by "
            "anyone else is refused.")).tag(config=True)
        timestamp_window = Integer(60, help=(
            "Seconds between the time in a submission's name and the last change (ctime) of anything "
            "in it; beyond that it is refused as back-dated or changed later. 0 turns the check off "
            "(e.g. after restoring the exchange from a backup, which renews every ctime).")).tag(config=True)
        refusal_report = Unicode("", help=(
            "File in the course directory to which each refusal is appended (0660, course group); "
            "empty for none.")).tag(config=True)

        def _claimed(self, fields):
            """The name's timestamp in epoch seconds, or None if it does not parse."""
            try:
                return epoch(parse_utc(fields["timestamp"]))
            except (ValueError, OverflowError, TypeError):
                return None

        def submission_refusals(self, inbound, name, assignment_id=None):
            """(student, refusals) of inbound/<name>, by check_submission and the course's policy."""
            fields = parse_submission_name(name)
            if fields is None:
                return None, [Refusal(name, "is not named <student>+<assignment>+<timestamp>[+<random>]")]
            student = fields["student"]
            if assignment_id and fields["assignment"] != assignment_id:
                return student, [Refusal(name, "is not a submission of %s" % assignment_id)]
            claimed = self._claimed(fields)
            if claimed is None:
                return student, [Refusal(name, "has no valid timestamp in its name")]
            uid, reason = student_uid(student, self.allowed_groups)
            if reason:
                return student, [Refusal(name, reason)]
            return student, check_submission(inbound, name, uid, claimed, self.timestamp_window)

    class ExchangeCollect(CoursehubExchange, _Collect):
        """nbgrader collect that refuses what check_submission refuses, and reports each refusal."""

        def init_src(self):
            if self.coursedir.course_id == "":
                self.fail("No course id specified. Re-run with --course flag.")
            self.course_path = os.path.join(self.root, self.coursedir.course_id)
            self.inbound_path = os.path.join(self.course_path, "inbound")
            if not os.path.isdir(self.inbound_path):
                self.fail("Course not found: {}".format(self.inbound_path))
            if not os.access(self.inbound_path, os.R_OK | os.X_OK):
                self.fail("You don't have read permissions for the directory: {}".format(self.inbound_path))
            student_id = self.coursedir.student_id or "*"
            pattern = "{}+{}+*".format(glob.escape(student_id) if student_id != "*" else "*",
                                       glob.escape(self.coursedir.assignment_id))
            self.refusals = []
            by_student = collections.defaultdict(list)
            for name in sorted(fnmatch.filter(os.listdir(self.inbound_path), pattern)):
                student, refusals = self.submission_refusals(self.inbound_path, name, self.coursedir.assignment_id)
                if refusals:
                    self.refusals += [(student, r) for r in refusals]
                    continue
                by_student[student].append({"username": student, "filename": name,
                                            "timestamp": parse_utc(parse_submission_name(name)["timestamp"])})
            self.duedate = self._duedate()
            # Refused entries are gone before the choice: none can hide a student's real submission.
            self.candidates = {student: choose(records, self.duedate, self.before_duedate)
                               for student, records in sorted(by_student.items())}
            self.src_records = [records[0] for records in self.candidates.values()]

        def _duedate(self):
            from nbgrader.api import Gradebook, MissingEntry
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gb:
                try:
                    return gb.find_assignment(self.coursedir.assignment_id).duedate
                except MissingEntry:
                    return None

        def copy_files(self):
            assignment = self.coursedir.assignment_id
            if not self.candidates:
                self.log.warning("No submissions of '%s' for course '%s' to collect",
                                 assignment, self.coursedir.course_id)
            else:
                self.log.info("Processing %d submissions of '%s' for course '%s'",
                              len(self.candidates), assignment, self.coursedir.course_id)
            for student, records in self.candidates.items():
                try:
                    self._collect_student(student, records)
                except Exception as exc:  # one student's trouble never stops the others
                    self.refusals.append((student, Refusal(records[0]["filename"], "could not be collected: %s"
                                                           % printable(str(exc)))))
            self._report()

        def _collect_student(self, student, records):
            assignment = self.coursedir.assignment_id
            dest_path = self.coursedir.format_path(self.coursedir.submitted_directory, student, assignment)
            for rec in records:
                if os.path.isdir(dest_path):
                    existing = self._existing_timestamp(dest_path)
                    newer = existing is None or rec["timestamp"] > existing
                    if not ((self.update and newer) or (self.before_duedate and existing != rec["timestamp"])):
                        self.log.info("No newer submission to collect: %s %s" if self.update else
                                      "Submission already exists, use --update to update: %s %s",
                                      student, assignment)
                        return
                refusals = self._copy(rec, student, dest_path)
                if not refusals:
                    return
                # Changed between the check and the copy: refused too; fall back on an earlier one.
                self.refusals += [(student, r) for r in refusals]

        def _existing_timestamp(self, dest_path):
            try:
                return self.coursedir.get_existing_timestamp(dest_path)
            except (ExchangeError, ValueError, OverflowError):
                return None  # a collected timestamp.txt that does not parse: take the submission again

        def _copy(self, rec, student, dest_path):
            parent = os.path.dirname(dest_path)
            os.makedirs(parent, exist_ok=True)
            staging = tempfile.mkdtemp(prefix=".collect-", dir=parent)
            try:
                incoming = os.path.join(staging, "submission")
                refusals = copy_submission(
                    self.inbound_path, rec["filename"], incoming, pwd.getpwnam(student).pw_uid,
                    epoch(rec["timestamp"]), self.timestamp_window, exclude=self.coursedir.ignore,
                    include=self.coursedir.include, max_file_size_kb=self.coursedir.max_file_size,
                    max_dir_size_kb=self.coursedir.max_dir_size, warn=self.log.warning)
                if refusals:
                    return refusals
                updating = os.path.isdir(dest_path)
                self.log.info("%s submission: %s %s", "Updating" if updating else "Collecting",
                              student, self.coursedir.assignment_id)
                if updating:
                    shutil.rmtree(dest_path)
                os.rename(incoming, dest_path)
                return []
            finally:
                shutil.rmtree(staging, ignore_errors=True)

        def _report(self):
            if not self.refusals:
                return
            who = get_username()
            now = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
            lines = []
            for student, refusal in self.refusals:
                self.log.error("coursehub: refused a submission of %s for %s: %s %s",
                               printable(student or "?"), self.coursedir.assignment_id,
                               printable(refusal.entry), refusal.reason)
                lines.append("\t".join([now, "collect by " + who, "assignment " + self.coursedir.assignment_id,
                                        "student " + printable(student or "?"), printable(refusal.entry),
                                        refusal.reason]))
            if self.refusal_report:
                try:
                    append_report(self.refusal_report, lines)
                    self.log.error("coursehub: %d refused; listed in %s", len(lines), self.refusal_report)
                except OSError as exc:
                    self.log.error("coursehub: could not write %s: %s", self.refusal_report, exc)

    class ExchangeList(CoursehubExchange, _List):
        """nbgrader list; with --inbound, without the entries collect would refuse."""

        def init_dest(self):
            super().init_dest()
            if not self.inbound:
                return
            kept = []
            for path in self.assignments:
                inbound, name = os.path.split(path)
                student, refusals = self.submission_refusals(inbound, name)
                if refusals:
                    for refusal in refusals:
                        self.log.warning("coursehub: skipped %s (would not be collected): %s %s",
                                         printable(name), printable(refusal.entry), refusal.reason)
                else:
                    kept.append(path)
            self.assignments = kept

    class ExchangeSubmit(_Submit):
        """nbgrader submit under the submitter's own name only, closed to everyone but them and the course group."""

        def init_dest(self):
            super().init_dest()
            own = get_username()
            if self.assignment_filename.split("+", 1)[0] != own:
                self.fail("You can submit only as yourself (%s); collect would refuse it." % own)

        def copy_files(self):
            super().copy_files()
            dest = os.path.join(self.inbound_path, self.assignment_filename)
            restrict_tree(dest)
            # nbgrader's copy clears the setgid bit it inherited (the student is not in the course
            # group), so timestamp.txt and submission_secret.txt get the student's own group. A named
            # ACL entry for inbound's group lets the instructors read every file, whatever its group.
            result = subprocess.run([SETFACL, "-R", "-P", "-m", "g:%d:rX" % os.stat(self.inbound_path).st_gid, dest],
                                    capture_output=True, text=True, check=False)
            if result.returncode != 0:
                self.log.warning("coursehub: the instructors may not be able to read all of %s (%s)",
                                 dest, result.stderr.strip())
            self.log.info("coursehub: %s is readable by you and the course instructors only", dest)

    class ExchangeReleaseFeedback(_ReleaseFeedback):
        """nbgrader release_feedback, with each feedback file readable by its student only (and instructors)."""

        def _released(self):
            """(student_id, feedback file in the exchange) for each HTML file nbgrader releases from src_path."""
            for html_file in sorted(glob.glob(os.path.join(self.src_path, "*.html"))):
                feedback_dir = os.path.dirname(html_file)  # <root>/feedback/<student>/<assignment>
                student_id = os.path.basename(os.path.dirname(feedback_dir))
                secret_file = os.path.join(feedback_dir, "submission_secret.txt")
                if not os.path.exists(secret_file):
                    continue  # nbgrader skipped it too (it needs the secret to name the file)
                with open(secret_file) as fh:
                    secret = fh.read()
                notebook_id = os.path.splitext(os.path.basename(html_file))[0]
                yield student_id, os.path.join(self.dest_path,
                                               "%s.html" % notebook_hash(secret=secret, notebook_id=notebook_id))

        def copy_files(self):
            super().copy_files()
            excluded = set(filter(None, (self.coursedir.student_id_exclude or "").split(",")))
            for student_id, path in self._released():
                if student_id in excluded or not os.path.exists(path):
                    continue
                os.chmod(path, FEEDBACK_FILE_MODE)
                result = subprocess.run([SETFACL, "-m", "u:%s:r" % student_id, path],
                                        capture_output=True, text=True, check=False)
                if result.returncode != 0:
                    self.log.error("coursehub: could not let %s read %s (%s); it stays closed",
                                   student_id, path, result.stderr.strip())
