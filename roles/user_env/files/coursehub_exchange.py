"""nbgrader exchange classes for coursehub: a student's work is readable by that
student and the course's instructors, and by nobody else.

nbgrader's default exchange (0.9) leaves each submission world-readable, with
its top directory mode 0777, and gives a released feedback file the mode of the
instructor's copy.  Names are random, and inbound and feedback cannot be listed,
but anyone who learns a name could read another student's submission (and its
submission secret, which names the feedback file).  These subclasses keep
nbgrader's layout and protocol and tighten the modes once nbgrader has written:

* ``ExchangeSubmit``: the submission tree becomes group-only (directories 0750,
  files 0640).  Its group is the course group (the inbound directory is
  setgid), so instructors collect it; other students get EACCES.
* ``ExchangeReleaseFeedback``: each released feedback file becomes 0640 with one
  named ACL entry, ``user:<student>:r--``.  If the ACL cannot be set the file
  stays 0640: the student cannot fetch it, and the error is logged (fail closed).

Per-course nbgrader configs select them (``c.ExchangeFactory``); the user_env
role installs this module into each environment.
"""
import glob
import os
import subprocess

from nbgrader.exchange.default.release_feedback import ExchangeReleaseFeedback as _ReleaseFeedback
from nbgrader.exchange.default.submit import ExchangeSubmit as _Submit
from nbgrader.utils import notebook_hash

SUBMISSION_DIR_MODE = 0o750
SUBMISSION_FILE_MODE = 0o640
FEEDBACK_FILE_MODE = 0o640
SETFACL = "/usr/bin/setfacl"


def restrict_tree(top, dir_mode=SUBMISSION_DIR_MODE, file_mode=SUBMISSION_FILE_MODE):
    """chmod a tree to owner and group only; the top directory last, so nothing opens up meanwhile."""
    for dirname, _, filenames in os.walk(top, topdown=False):
        for name in filenames:
            path = os.path.join(dirname, name)
            if not os.path.islink(path):
                os.chmod(path, file_mode)
        os.chmod(dirname, dir_mode)


class ExchangeSubmit(_Submit):
    """nbgrader submit, with the submission closed to everyone but its owner and the course group."""

    def copy_files(self):
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        restrict_tree(dest)
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
            yield student_id, os.path.join(self.dest_path, "%s.html" % notebook_hash(secret=secret, notebook_id=notebook_id))

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
