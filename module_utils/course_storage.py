# -*- coding: utf-8 -*-
"""NFS exports and the SMB share, rendered from the course model (pure: no I/O).

The same data goes to every backend, so a change of courses changes the kernel
exports file, NFS-Ganesha's EXPORT blocks and Samba's share alike:

* ``nfs_exports`` lists what compute nodes mount: homes, the course tree, the
  exchange (when a live course has one) and shared data (read-only), each to the
  client networks of the inventory, with root squashed and a security flavour.
* ``render_kernel_exports`` writes ``/etc/exports.d/coursehub.exports``.
* ``render_ganesha_exports`` writes the EXPORT blocks of ``ganesha.conf``
  (Pseudo = Path, so clients mount the same paths from either backend).
* ``smb_share`` describes the share ``course`` over the course tree: per-course
  access is left to the modes and ACLs the directory module sets, and ``valid
  users`` admits the course groups (plus any site-wide entries).
* ``render_smb_share`` writes its smb.conf section.

Every check raises ValueError with the option named, for the roles to report
before anything on a host changes.
"""

import ipaddress
import re

# Rendered on the controller (filter plugins, bin/coursectl), from the checkout.
from module_utils import course_model

# Stable ids: a client's file handles survive a re-render (0 is Ganesha's pseudo root).
EXPORT_IDS = {"homes": 1, "courses": 2, "exchange": 3, "shareddata": 4}
SEC_FLAVOURS = ("sys", "krb5", "krb5i", "krb5p")
SQUASH = {"root_squash": "Root_Squash", "all_squash": "All_Squash"}
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")
_SMB_NAME = re.compile(r"^@?[A-Za-z0-9_][A-Za-z0-9_.+\\-]*\$?$")
_SHARE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_clients(clients, option="nfs_exports_clients"):
    """Client networks or host names, normalised; '*' and empty lists are refused (exports are access control)."""
    if not isinstance(clients, (list, tuple)) or not clients:
        raise ValueError("%s: give at least one client network or host (a list), e.g. [10.0.0.0/24]" % option)
    result = []
    for client in clients:
        if not isinstance(client, str) or not client:
            raise ValueError("%s: %r is not a network or host name" % (option, client))
        try:
            result.append(str(ipaddress.ip_network(client, strict=False)))
            continue
        except ValueError:
            pass
        if not _HOSTNAME.match(client):
            raise ValueError("%s: %r is neither an IP network (10.0.0.0/24) nor a host name; "
                             "'*' (everyone) is not allowed" % (option, client))
        result.append(client)
    return result


def check_sec(sec, option="nfs_exports_sec"):
    flavours = [sec] if isinstance(sec, str) else sec
    if not isinstance(flavours, (list, tuple)) or not flavours or any(f not in SEC_FLAVOURS for f in flavours):
        raise ValueError("%s: %r is not a list of %s" % (option, sec, ", ".join(SEC_FLAVOURS)))
    return list(flavours)


def nfs_exports(courses, settings=None, clients=(), sec=("sys",), squash="root_squash"):
    """What compute nodes mount, from the course model; [{id, what, path, access, clients, sec, squash}]."""
    clients = check_clients(clients)
    sec = check_sec(sec)
    if squash not in SQUASH:
        raise ValueError("nfs_exports_squash: %r is not one of %s" % (squash, ", ".join(SQUASH)))
    return [dict(export, id=EXPORT_IDS[export["what"]], clients=clients, sec=sec, squash=squash)
            for export in course_model.desired_exports(courses, settings)]


def _kernel_options(export):
    return ",".join([export["access"], "sync", export["squash"], "no_subtree_check",
                     "sec=" + ":".join(export["sec"])])


def render_kernel_exports(exports):
    """The text of /etc/exports.d/coursehub.exports."""
    lines = ["# Managed by coursehub (nfs_exports, kernel backend): NFS exports from the course model.",
             "# Edits are overwritten; change the inventory or the course files instead."]
    for export in exports:
        options = _kernel_options(export)
        lines.append("%s %s" % (export["path"], " ".join("%s(%s)" % (c, options) for c in export["clients"])))
    return "\n".join(lines) + "\n"


def render_ganesha_exports(exports):
    """NFS-Ganesha EXPORT blocks for the same exports (NFSv4, VFS, nobody but the listed clients)."""
    blocks = []
    for export in exports:
        access = "RW" if export["access"] == "rw" else "RO"
        blocks.append("\n".join([
            "# %s" % export["what"],
            "EXPORT {",
            "    Export_Id = %d;" % export["id"],
            '    Path = "%s";' % export["path"],
            '    Pseudo = "%s";' % export["path"],
            "    Protocols = 4;",
            "    Transports = TCP;",
            "    # Clients not listed below get nothing.",
            "    Access_Type = None;",
            "    Squash = %s;" % SQUASH[export["squash"]],
            "    SecType = %s;" % ", ".join(export["sec"]),
            "    FSAL { Name = VFS; }",
            "    CLIENT {",
            "        Clients = %s;" % ", ".join(export["clients"]),
            "        Access_Type = %s;" % access,
            "    }",
            "}",
        ]))
    return "# Managed by coursehub (nfs_exports, ganesha backend): exports from the course model.\n" + \
        "\n\n".join(blocks) + "\n"


def check_smb_names(names, option="smb_shares_valid_users"):
    if not isinstance(names, (list, tuple)) or any(not isinstance(n, str) or not _SMB_NAME.match(n) for n in names):
        raise ValueError("%s: %r is not a list of user names or @groups" % (option, names))
    return list(names)


def smb_share(courses, settings=None, name="course", extra_valid_users=()):
    """The share over the course tree: {name, path, comment, valid_users}.

    valid users: each live course's instructor group and students group (for a
    private course with a student list), then the site-wide extra entries (for
    example the group of all students, so public courses' data can be read).
    Which course directory a user may open is decided by the modes and ACLs.
    """
    if not isinstance(name, str) or not _SHARE.match(name):
        raise ValueError("smb_shares_name: %r is not a share name (letters, digits, _ and -)" % (name,))
    extra = check_smb_names(extra_valid_users)
    settings = course_model.merged_settings(settings)
    groups = []
    for group in course_model.desired_groups(courses, settings):
        groups.append("@" + group["name"])
    valid = sorted(set(groups)) + [entry for entry in extra if entry not in groups]
    return {"name": name, "path": settings["course_root"], "valid_users": valid,
            "comment": "coursehub course files: <course>/files (instructors), <course>/data"}


def render_smb_share(share):
    """The smb.conf section of the share: no guests, group and group-write kept on new files."""
    valid = " ".join(share["valid_users"]) or "root"  # an empty list would admit everyone
    return "\n".join([
        "[%s]" % share["name"],
        "   comment = %s" % share["comment"],
        "   path = %s" % share["path"],
        "   read only = no",
        "   browseable = yes",
        "   guest ok = no",
        "   valid users = %s" % valid,
        "   # Modes and POSIX ACLs from the directory module decide per course. New files",
        "   # and directories keep the course group (setgid directories) and group-write:",
        "   # the masks below leave the group bits, which cap the default ACL's entries,",
        "   # at rw (Samba's defaults, 0744/0755, would cut them to r).",
        "   inherit acls = yes",
        "   inherit owner = no",
        "   map acl inherit = yes",
        "   nt acl support = yes",
        "   create mask = 0775",
        "   force create mode = 0660",
        "   directory mask = 2775",
        "   force directory mode = 2770",
        "   map archive = no",
        "   hide dot files = yes",
    ]) + "\n"
