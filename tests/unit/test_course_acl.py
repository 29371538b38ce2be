"""The ACL codec of module_utils/course_acl.py: xattr bytes, texts, setfacl's mask."""

import os
import shutil
import struct
import subprocess

import pytest

from module_utils import course_acl as acl
from module_utils.course_acl import GROUP, GROUP_OBJ, MASK, OTHER, USER, USER_OBJ, AclError, Entry

USERS = {"root": 0, "teacher1": 1001}
GROUPS = {"root": 0, "jupyter-x": 72026, "jupyter-x-students": 72027}


def uid(name):
    return USERS[name]


def gid(name):
    return GROUPS[name]


def user_name(ident):
    return {v: k for k, v in USERS.items()}.get(ident, str(ident))


def group_name(ident):
    return {v: k for k, v in GROUPS.items()}.get(ident, str(ident))


FILES_ACL = ["user::rwx", "group::rwx", "group:jupyter-x:rwx", "mask::rwx", "other::---"]


@pytest.mark.parametrize("text, bits", [("rwx", 7), ("r-x", 5), ("-w-", 2), ("---", 0), ("--x", 1)])
def test_perm_bits_round_trip(text, bits):
    assert acl.perm_bits(text) == bits
    assert acl.perm_text(bits) == text


@pytest.mark.parametrize("text", ["rw", "rwxx", "xwr", "r-X", "7"])
def test_perm_bits_rejects(text):
    with pytest.raises(AclError):
        acl.perm_bits(text)


@pytest.mark.parametrize("text, entry", [
    ("user::rwx", Entry(USER_OBJ, None, 7)),
    ("user:teacher1:r-x", Entry(USER, "teacher1", 5)),
    ("group::r-x", Entry(GROUP_OBJ, None, 5)),
    ("group:jupyter-x:rwx", Entry(GROUP, "jupyter-x", 7)),
    ("mask::rw-", Entry(MASK, None, 6)),
    ("other::---", Entry(OTHER, None, 0)),
])
def test_parse_entry_and_back(text, entry):
    assert acl.parse_entry(text) == entry
    assert acl.entry_text(entry) == text


@pytest.mark.parametrize("text", ["g:jupyter-x:rwx", "group:rwx", "mask:x:rwx", "other:bob:r--", "default:user::rwx",
                                  "group:x:rwz"])
def test_parse_entry_rejects(text):
    with pytest.raises(AclError):
        acl.parse_entry(text)


def test_mask_is_union_of_group_class_like_setfacl():
    # setfacl -m g:x:r-x on a 0710 directory: group:: --x, named r-x -> mask r-x; user:: and other:: do not count
    entries = acl.access_acl(0o710, ["group:jupyter-x:r-x"])
    assert acl.acl_texts(entries) == ["user::rwx", "group::--x", "group:jupyter-x:r-x", "mask::r-x", "other::---"]
    assert acl.mask_of(acl.parse_acl(["user::rwx", "user:teacher1:-w-", "group::--x", "other::rwx"])) == 3


def test_access_acl_without_named_entries_has_no_mask():
    assert acl.acl_texts(acl.access_acl(0o2775, [])) == ["user::rwx", "group::rwx", "other::r-x"]
    assert not acl.is_extended(acl.access_acl(0o2775, []))


def test_access_acl_takes_only_named_entries():
    with pytest.raises(AclError):
        acl.access_acl(0o755, ["other::rwx"])


@pytest.mark.parametrize("mode, named, shown", [
    (0o2770, ["group:jupyter-x:rwx"], 0o2770),
    (0o750, ["group:jupyter-x-students:r-x"], 0o750),
    (0o3710, ["group:jupyter-x-students:-wx"], 0o3730),  # the mask widens the group bits stat shows
    (0o2755, [], 0o2755),
])
def test_stat_mode_shows_the_mask(mode, named, shown):
    assert acl.stat_mode(mode, acl.access_acl(mode, named)) == shown


def test_xattr_round_trip_and_kernel_order():
    entries = acl.parse_acl(["other::---", "group:jupyter-x-students:r-x", "mask::rwx", "group:jupyter-x:rwx",
                             "user:teacher1:rwx", "group::rwx", "user::rwx"])
    data = acl.encode(entries, uid, gid)
    header, = struct.unpack_from("<I", data)
    raw = list(struct.iter_unpack("<HHI", data[4:]))
    assert header == 2
    assert raw == [(USER_OBJ, 7, 0xFFFFFFFF), (USER, 7, 1001), (GROUP_OBJ, 7, 0xFFFFFFFF), (GROUP, 7, 72026),
                   (GROUP, 5, 72027), (MASK, 7, 0xFFFFFFFF), (OTHER, 0, 0xFFFFFFFF)]
    assert acl.acl_texts(acl.decode(data, user_name, group_name)) == acl.acl_texts(entries)


def test_decode_names_unknown_ids_by_number():
    data = acl.encode(acl.parse_acl(FILES_ACL), uid, gid)
    entries = acl.decode(data, user_name, lambda ident: str(ident))
    assert "group:72026:rwx" in acl.acl_texts(entries)


@pytest.mark.parametrize("data, message", [
    (b"\x02\x00\x00", "header"),
    (b"\x03\x00\x00\x00", "version"),
    (struct.pack("<IHHI", 2, 0x40, 7, 0), "tag"),
    (struct.pack("<IHHI", 2, 1, 7, 0) + b"\x00", "whole entries"),
])
def test_decode_rejects(data, message):
    with pytest.raises(AclError, match=message):
        acl.decode(data, user_name, group_name)


@pytest.mark.parametrize("texts, message", [
    (["user::rwx", "group::rwx"], "other"),
    (["user::rwx", "group::rwx", "group:jupyter-x:rwx", "other::---"], "mask"),
    (["user::rwx", "group::rwx", "group:jupyter-x:rwx", "group:jupyter-x:r-x", "mask::rwx", "other::---"], "twice"),
    (["user::rwx", "user::r-x", "group::rwx", "other::---"], "exactly one user"),
])
def test_check_acl_rejects_what_the_kernel_would(texts, message):
    with pytest.raises(AclError, match=message):
        acl.check_acl(acl.parse_acl(texts))


def test_acl_changes():
    have = acl.access_acl(0o2755, [])
    want = acl.access_acl(0o2770, ["group:jupyter-x:rwx"])
    assert acl.acl_changes(have, want) == ["-group::r-x", "-other::r-x", "+group::rwx", "+group:jupyter-x:rwx",
                                           "+mask::rwx", "+other::---"]
    assert acl.acl_changes(want, list(reversed(want))) == []


def _acls_supported(path):
    if not shutil.which("getfacl"):
        return False
    try:
        os.setxattr(path, acl.XATTR_ACCESS, acl.encode(acl.access_acl(0o750, ["group:root:r-x"]), uid, gid))
    except OSError:
        return False
    return True


def test_kernel_and_getfacl_agree(tmp_path):
    """What encode writes, the kernel accepts and getfacl reads back; what the kernel stores, decode reads."""
    target = tmp_path / "d"
    target.mkdir()
    if not _acls_supported(str(target)):
        pytest.skip("the file system of %s does not take POSIX ACL xattrs" % tmp_path)
    os.chmod(target, 0o2770)
    want = acl.access_acl(0o2770, ["group:root:r-x", "user:root:rwx"])
    default = acl.parse_acl(["user::rwx", "group::rwx", "group:root:rwx", "mask::rwx", "other::---"])
    os.setxattr(target, acl.XATTR_ACCESS, acl.encode(want, uid, gid))
    os.setxattr(target, acl.XATTR_DEFAULT, acl.encode(default, uid, gid))
    out = subprocess.run(["getfacl", "-c", "-E", str(target)], capture_output=True, text=True, check=True).stdout
    assert out.split() == acl.acl_texts(want) + ["default:" + t for t in acl.acl_texts(default)]
    assert os.stat(target).st_mode & 0o7777 == acl.stat_mode(0o2770, want)
    subprocess.run(["setfacl", "-m", "g:root:--x", str(target)], check=True)
    stored = acl.decode(os.getxattr(target, acl.XATTR_ACCESS), user_name, group_name)
    assert "group:root:--x" in acl.acl_texts(stored)
