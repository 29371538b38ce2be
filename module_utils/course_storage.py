# -*- coding: utf-8 -*-
"""NFS exports and the SMB share, rendered from the course model (pure: no I/O).

The same data goes to every backend, so a change of courses changes the kernel
exports file, NFS-Ganesha's EXPORT blocks and Samba's share alike:

* ``nfs_exports`` lists what compute nodes mount: the course tree, the
  exchange (when a live course has one), shared data (read-only) and, only when
  asked for, the homes; each to the clients of the inventory, listed one by one
  (no wildcards, no network that is every address), with root squashed and
  either AUTH_SYS or Kerberos (never both: a client could pick AUTH_SYS).
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
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*$")
_WILDCARD = re.compile(r"[*?\[\]]")
_NUMERIC = re.compile(r"^[0-9.]+$")
_SMB_NAME = re.compile(r"^@?[A-Za-z0-9_][A-Za-z0-9_.+\\-]*\$?$")
_SHARE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def check_clients(clients, option="nfs_exports_clients"):
    """Client networks or host names, each listed explicitly, normalised.

    Exports are access control, so what would admit hosts nobody listed is
    refused: an empty list, '*' and other wildcards (``*.uni.example`` admits
    whoever controls a reverse DNS entry in the domain), netgroups, a network
    that is every address (0.0.0.0/0, ::/0), and a client listed twice.
    """
    if not isinstance(clients, (list, tuple)) or not clients:
        raise ValueError("%s: give at least one client network or host (a list), e.g. [10.0.0.0/24]" % option)
    result = []
    for client in clients:
        if not isinstance(client, str) or not client:
            raise ValueError("%s: %r is not a network or host name" % (option, client))
        if client == "*":
            raise ValueError("%s: '*' would export to every host; list each client network or host name" % option)
        if _WILDCARD.search(client):
            raise ValueError("%s: %r is a wildcard; list each client host or its network instead" % (option, client))
        try:
            network = ipaddress.ip_network(client, strict=False)
        except ValueError:
            network = None
        if network is not None and network.prefixlen == 0:
            raise ValueError("%s: %r is every address, as '*' would be; list the client networks" % (option, client))
        # A dotted number that is no address (010.0.0.1, 10.0.0.300) is not a host name either.
        if network is None and (not _HOSTNAME.match(client) or _NUMERIC.match(client)):
            raise ValueError("%s: %r is neither an IP network (10.0.0.0/24) nor a host name "
                             "(netgroups are not accepted)" % (option, client))
        name = str(network) if network is not None else client.lower()
        if name in result:
            raise ValueError("%s: %r is listed twice" % (option, client))
        result.append(name)
    return result


def check_sec(sec, option="nfs_exports_sec"):
    """Security flavours, in order of preference: AUTH_SYS alone, or Kerberos flavours alone.

    An export offers every flavour it lists and the client picks one, so
    ``sys`` next to ``krb5p`` lets any client mount with AUTH_SYS and claim
    any uid: Kerberos would protect nothing.
    """
    flavours = [sec] if isinstance(sec, str) else sec
    if not isinstance(flavours, (list, tuple)) or not flavours or any(f not in SEC_FLAVOURS for f in flavours):
        raise ValueError("%s: %r is not a list of %s" % (option, sec, ", ".join(SEC_FLAVOURS)))
    if len(set(flavours)) != len(flavours):
        raise ValueError("%s: %r lists a flavour twice" % (option, sec))
    if "sys" in flavours and len(flavours) > 1:
        raise ValueError("%s: %r offers sys next to Kerberos, and a client may choose sys and claim any uid; "
                         "give [sys] or only Kerberos flavours (krb5, krb5i, krb5p)" % (option, sec))
    return list(flavours)


def check_squash(squash, option="nfs_exports_squash"):
    """root_squash or all_squash; no_root_squash (client root is root here) is not offered."""
    if squash not in SQUASH:
        raise ValueError("%s: %r is not one of %s (no_root_squash is not offered: client root would be root "
                         "on the exported trees)" % (option, squash, ", ".join(SQUASH)))
    return squash


def nfs_exports(courses, settings=None, clients=(), sec=("sys",), squash="root_squash", homes=False):
    """What compute nodes mount, from the course model; [{id, what, path, access, clients, sec, squash}].

    The homes are exported only with ``homes`` true (nfs_exports_homes).
    """
    clients = check_clients(clients)
    sec = check_sec(sec)
    squash = check_squash(squash)
    if not isinstance(homes, bool):
        raise ValueError("nfs_exports_homes: %r is not true or false" % (homes,))
    return [dict(export, id=EXPORT_IDS[export["what"]], clients=clients, sec=sec, squash=squash)
            for export in course_model.desired_exports(courses, settings, homes=homes)]


def _checked(export):
    """The rules hold for whatever reaches a renderer, not only for nfs_exports' own result."""
    if export.get("access") not in ("rw", "ro"):
        raise ValueError("export %r: access must be rw or ro" % (export.get("path"),))
    return dict(export, clients=check_clients(export.get("clients")), sec=check_sec(export.get("sec")),
                squash=check_squash(export.get("squash")))


def _kernel_options(export):
    return ",".join([export["access"], "sync", export["squash"], "no_subtree_check",
                     "sec=" + ":".join(export["sec"])])


def render_kernel_exports(exports):
    """The text of /etc/exports.d/coursehub.exports."""
    lines = ["# Managed by coursehub (nfs_exports, kernel backend): NFS exports from the course model.",
             "# Edits are overwritten; change the inventory or the course files instead."]
    for export in map(_checked, exports):
        options = _kernel_options(export)
        lines.append("%s %s" % (export["path"], " ".join("%s(%s)" % (c, options) for c in export["clients"])))
    return "\n".join(lines) + "\n"


def render_ganesha_exports(exports):
    """NFS-Ganesha EXPORT blocks for the same exports (NFSv4, VFS, nobody but the listed clients)."""
    blocks = []
    for export in map(_checked, exports):
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
