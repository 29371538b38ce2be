"""NFS exports and the SMB share rendered from the sample courses (module_utils/course_storage.py)."""

import pytest

from course_helpers import validated_samples
from module_utils import course_model as m, course_storage as s

CLIENTS = ["10.0.0.0/24", "node1.uni.example"]


@pytest.fixture(scope="module")
def courses():
    return validated_samples()


def test_exports_from_the_model(courses):
    exports = s.nfs_exports(courses, clients=CLIENTS)
    assert [(e["id"], e["what"], e["path"], e["access"]) for e in exports] == [
        (1, "homes", "/home", "rw"),
        (2, "courses", "/srv/coursehub/course", "rw"),
        (3, "exchange", "/srv/nbgrader/exchange", "rw"),
        (4, "shareddata", "/srv/coursehub/shareddata", "ro"),
    ]
    assert all(e["clients"] == CLIENTS and e["sec"] == ["sys"] and e["squash"] == "root_squash" for e in exports)


def test_kernel_exports_file(courses):
    text = s.render_kernel_exports(s.nfs_exports(courses, clients=CLIENTS, sec=["krb5p", "sys"]))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    opts = "sync,root_squash,no_subtree_check,sec=krb5p:sys"
    assert lines == [
        "/home 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/coursehub/course 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/nbgrader/exchange 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/coursehub/shareddata 10.0.0.0/24(ro,%s) node1.uni.example(ro,%s)" % (opts, opts),
    ]
    assert "no_root_squash" not in text and "insecure" not in text


def test_ganesha_exports(courses):
    text = s.render_ganesha_exports(s.nfs_exports(courses, clients=["192.168.1.7"]))
    blocks = text.split("EXPORT {")[1:]
    assert len(blocks) == 4
    shared = blocks[3]
    assert 'Path = "/srv/coursehub/shareddata";' in shared and 'Pseudo = "/srv/coursehub/shareddata";' in shared
    assert "Export_Id = 4;" in shared and "Squash = Root_Squash;" in shared and "SecType = sys;" in shared
    # Only the listed client gets access, read-only for shared data.
    assert "    Access_Type = None;" in shared
    assert "Clients = 192.168.1.7/32;" in shared and "        Access_Type = RO;" in shared
    assert "        Access_Type = RW;" in blocks[1]


def test_exports_follow_the_courses(courses):
    # No course uses shared data or an exchange: those exports go.
    kept = [dict(c, shareddata=[], exchange=False) for c in courses]
    assert [e["what"] for e in s.nfs_exports(kept, clients=CLIENTS)] == ["homes", "courses"]
    assert [e["what"] for e in s.nfs_exports([], clients=CLIENTS)] == ["homes"]


def test_exports_move_with_the_settings(courses):
    exports = s.nfs_exports(courses, {"course_root": "/data/course"}, clients=CLIENTS)
    assert exports[1]["path"] == "/data/course"


@pytest.mark.parametrize("clients,named", [
    ([], "at least one"), (["*"], "'*'"), (["10.0.0.0/24", "bad host!"], "bad host!"), ("10.0.0.0/24", "a list"),
    ([""], "is not a network"),
])
def test_bad_clients_are_refused(courses, clients, named):
    with pytest.raises(ValueError, match="nfs_exports_clients") as exc:
        s.nfs_exports(courses, clients=clients)
    assert named in str(exc.value)


def test_bad_sec_and_squash_are_refused(courses):
    with pytest.raises(ValueError, match="nfs_exports_sec"):
        s.nfs_exports(courses, clients=CLIENTS, sec=["none"])
    with pytest.raises(ValueError, match="nfs_exports_squash"):
        s.nfs_exports(courses, clients=CLIENTS, squash="no_root_squash")


def test_smb_share_admits_the_course_groups(courses):
    share = s.smb_share(courses, extra_valid_users=["@students"])
    assert share["path"] == "/srv/coursehub/course" and share["name"] == "course"
    groups = sorted("@" + g["name"] for g in m.desired_groups(courses))
    assert share["valid_users"] == groups + ["@students"]
    assert {"@jupyter-mlbp2026", "@jupyter-privsec2026", "@jupyter-privsec2026-students"} <= set(groups)
    section = s.render_smb_share(share)
    assert section.startswith("[course]\n")
    for line in ("guest ok = no", "inherit acls = yes", "force create mode = 0660", "force directory mode = 2770",
                 "valid users = @jupyter-deeplearn2026 @jupyter-deeplearn2026-students @jupyter-mlbp2026"):
        assert line in section


def test_smb_share_follows_instructor_changes(courses):
    gone = [c for c in courses if c["slug"] != "mlbp2026"]
    assert "@jupyter-mlbp2026" not in s.smb_share(gone)["valid_users"]


def test_smb_share_with_no_course_admits_nobody():
    assert "valid users = root" in s.render_smb_share(s.smb_share([]))


@pytest.mark.parametrize("name,extra,option", [
    ("course share", [], "smb_shares_name"), ("course", ["bad user"], "smb_shares_valid_users"),
    ("course", "@students", "smb_shares_valid_users"),
])
def test_bad_smb_inputs_are_refused(courses, name, extra, option):
    with pytest.raises(ValueError, match=option):
        s.smb_share(courses, name=name, extra_valid_users=extra)
