"""The hub's view of the courses: courses.json, re-read when it changes, and a
user's groups through NSS. Used by both spawner backends."""
import grp
import json
import os
import pwd


class CourseCatalog:
    """courses.json, reloaded whenever the file changes (no hub restart)."""

    def __init__(self, path):
        self.path = path
        self._stamp = None
        self._courses = {}

    def courses(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._courses = None, {}
            return self._courses
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            with open(self.path, encoding="utf-8") as handle:
                self._courses = json.load(handle).get("courses", {})
            self._stamp = stamp
        return self._courses


def user_groups(username):
    """Names of the user's groups through NSS, so local groups, LDAP and sssd all count."""
    try:
        entry = pwd.getpwnam(username)
    except KeyError:
        return set()
    names = set()
    for gid in os.getgrouplist(username, entry.pw_gid):
        try:
            names.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            continue
    return names
