# -*- coding: utf-8 -*-
"""POSIX ACLs as data: the kernel's xattr format, getfacl's text form, setfacl's mask.

The dirs module reads and writes ACLs in-process, through the
``system.posix_acl_access`` and ``system.posix_acl_default`` extended
attributes, instead of running getfacl/setfacl per directory: a host with 200
courses has over a thousand course directories, and a process per directory
would make an unchanged run take seconds.

Why it is written this way
--------------------------
* Pure: no system calls.  Names and ids are translated by functions the
  caller passes in (``grp``/``pwd`` lookups in the module, dicts in tests), so
  the codec is tested without users, groups or a file system.
* An ACL is a list of ``Entry`` tuples that name users and groups, because
  course files and getfacl speak names.  Two ACLs are compared as sets of
  their text forms: the kernel keeps entries in one canonical order, so the
  order carries no meaning.
* ``encode`` sorts entries into the order the kernel insists on (user::,
  named users by uid, group::, named groups by gid, mask::, other::), as
  libacl does; an unsorted list would be rejected with EINVAL.
* The access mask is computed as setfacl computes it (without ``-n``): the
  union of the group-class entries (group::, named users, named groups).
  An ACL with named entries always needs one.
* With an extended access ACL the group bits of ``st_mode`` show the mask,
  not ``group::`` (POSIX.1e), so the mode a directory should show is derived
  here too (``stat_mode``).
"""

import collections
import struct

XATTR_ACCESS = "system.posix_acl_access"
XATTR_DEFAULT = "system.posix_acl_default"
XATTR_VERSION = 2
UNDEFINED_ID = 0xFFFFFFFF

USER_OBJ, USER, GROUP_OBJ, GROUP, MASK, OTHER = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
TAG_NAMES = {USER_OBJ: "user", USER: "user", GROUP_OBJ: "group", GROUP: "group", MASK: "mask", OTHER: "other"}
_TAGS_BY_TEXT = {("user", False): USER_OBJ, ("user", True): USER, ("group", False): GROUP_OBJ,
                 ("group", True): GROUP, ("mask", False): MASK, ("other", False): OTHER}
NAMED_TAGS = (USER, GROUP)
_HEADER = struct.Struct("<I")
_ENTRY = struct.Struct("<HHI")


class AclError(ValueError):
    """Malformed ACL text or xattr data."""


Entry = collections.namedtuple("Entry", "tag name perms")
Entry.__doc__ = "One ACL entry: tag (USER_OBJ ...), name (None for the base entries), perms (0..7)."


def perm_bits(text):
    """'r-x' -> 5.  Exactly three characters, each its letter or '-'."""
    if len(text) != 3 or any(char not in (letter, "-") for char, letter in zip(text, "rwx")):
        raise AclError("permissions %r are not of the form rwx, r-x, ---" % (text,))
    return sum(bit for bit, char in zip((4, 2, 1), text) if char != "-")


def perm_text(bits):
    """5 -> 'r-x'."""
    return "".join(char if bits & bit else "-" for bit, char in zip((4, 2, 1), "rwx"))


def parse_entry(text):
    """'group:jupyter-x:rwx' -> Entry(GROUP, 'jupyter-x', 7); base entries have an empty name field."""
    parts = text.split(":")
    if len(parts) != 3:
        raise AclError("ACL entry %r is not of the form tag:name:perms" % (text,))
    kind, name, perms = parts
    tag = _TAGS_BY_TEXT.get((kind, bool(name)))
    if tag is None:
        raise AclError("ACL entry %r: unknown tag %r%s" % (text, kind, " with a name" if name else ""))
    return Entry(tag, name or None, perm_bits(perms))


def entry_text(entry):
    """Entry(GROUP, 'jupyter-x', 7) -> 'group:jupyter-x:rwx' (getfacl's form)."""
    return "%s:%s:%s" % (TAG_NAMES[entry.tag], entry.name or "", perm_text(entry.perms))


def parse_acl(texts):
    """A list of entry texts -> a list of entries."""
    return [parse_entry(text) for text in texts]


def acl_texts(entries):
    """Entries -> their texts in the kernel's (and getfacl's) order, names sorted within a tag."""
    return [entry_text(e) for e in sorted(entries, key=lambda e: (e.tag, e.name or ""))]


def is_extended(entries):
    """True when the ACL holds more than the three entries a mode can express."""
    return any(e.tag not in (USER_OBJ, GROUP_OBJ, OTHER) for e in entries)


def mode_acl(mode):
    """The minimal ACL a mode stands for (user::, group::, other::)."""
    return [Entry(USER_OBJ, None, (mode >> 6) & 7), Entry(GROUP_OBJ, None, (mode >> 3) & 7),
            Entry(OTHER, None, mode & 7)]


def mask_of(entries):
    """The mask setfacl computes: the union of group::, named users and named groups."""
    bits = 0
    for entry in entries:
        if entry.tag in (USER, GROUP, GROUP_OBJ):
            bits |= entry.perms
    return bits


def access_acl(mode, named):
    """The full access ACL for a mode and named entries (texts), with setfacl's mask when needed."""
    entries = mode_acl(mode) + [e for e in parse_acl(named) if e.tag in NAMED_TAGS]
    if len(entries) != 3 + len(named):
        raise AclError("access ACL entries must be named users or groups, got %r" % (list(named),))
    if is_extended(entries):
        entries.append(Entry(MASK, None, mask_of(entries)))
    return entries


def stat_mode(mode, entries):
    """The permission bits stat() shows once the ACL is set: group bits are the mask if there is one."""
    for entry in entries:
        if entry.tag == MASK:
            return (mode & ~0o070) | (entry.perms << 3)
    return mode


def check_acl(entries):
    """Reject an ACL the kernel would refuse; a default ACL from a course file passes through here."""
    tags = collections.Counter(e.tag for e in entries)
    for tag in (USER_OBJ, GROUP_OBJ, OTHER):
        if tags[tag] != 1:
            raise AclError("an ACL needs exactly one %s:: entry" % TAG_NAMES[tag])
    if tags[MASK] > 1 or (tags[MASK] == 0 and is_extended(entries)):
        raise AclError("an ACL with named entries needs exactly one mask:: entry")
    named = [(e.tag, e.name) for e in entries if e.tag in NAMED_TAGS]
    if len(set(named)) != len(named):
        raise AclError("an ACL names the same user or group twice")
    return entries


def decode(data, user_name, group_name):
    """Xattr bytes -> entries; user_name(uid) and group_name(gid) give names (or str(id) if unknown)."""
    if len(data) < _HEADER.size or (len(data) - _HEADER.size) % _ENTRY.size:
        raise AclError("ACL xattr of %d bytes is not a header plus whole entries" % len(data))
    (version,) = _HEADER.unpack_from(data)
    if version != XATTR_VERSION:
        raise AclError("ACL xattr version %d, expected %d" % (version, XATTR_VERSION))
    entries = []
    for tag, perms, ident in _ENTRY.iter_unpack(data[_HEADER.size:]):
        if tag not in TAG_NAMES:
            raise AclError("unknown ACL tag 0x%x" % tag)
        name = user_name(ident) if tag == USER else group_name(ident) if tag == GROUP else None
        entries.append(Entry(tag, name, perms & 7))
    return entries


def encode(entries, user_id, group_id):
    """Entries -> xattr bytes in the kernel's order; user_id(name) and group_id(name) give ids."""
    raw = []
    for entry in check_acl(entries):
        ident = user_id(entry.name) if entry.tag == USER else group_id(entry.name) if entry.tag == GROUP \
            else UNDEFINED_ID
        raw.append((entry.tag, ident, entry.perms))
    raw.sort()
    return _HEADER.pack(XATTR_VERSION) + b"".join(_ENTRY.pack(tag, perms, ident) for tag, ident, perms in raw)


def acl_changes(current, desired):
    """What differs between two ACLs, as '-old' and '+new' entry texts (empty when equal)."""
    have, want = set(acl_texts(current)), set(acl_texts(desired))
    return ["-" + t for t in acl_texts(parse_acl(have - want))] + ["+" + t for t in acl_texts(parse_acl(want - have))]
