"""NFS exports and the SMB share rendered from the sample courses (module_utils/course_storage.py)."""

import pytest

from course_helpers import validated_samples
from module_utils import course_model as m, course_storage as s

CLIENTS = ["10.0.0.0/24", "node1.uni.example"]


@pytest.fixture(scope="module")
def courses():
    return validated_samples()


def test_exports_from_the_model(courses):
    exports = s.nfs_exports(courses, clients=CLIENTS, homes=True)
    assert [(e["id"], e["what"], e["path"], e["access"]) for e in exports] == [
        (1, "homes", "/home", "rw"),
        (2, "courses", "/srv/coursehub/course", "rw"),
        (3, "exchange", "/srv/nbgrader/exchange", "rw"),
        (4, "shareddata", "/srv/coursehub/shareddata", "ro"),
    ]
    assert all(e["clients"] == CLIENTS and e["sec"] == ["sys"] and e["squash"] == "root_squash" for e in exports)


def test_kernel_exports_file(courses):
    text = s.render_kernel_exports(s.nfs_exports(courses, clients=CLIENTS, sec=["krb5p", "krb5i"], homes=True))
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    opts = "sync,root_squash,no_subtree_check,sec=krb5p:krb5i"
    assert lines == [
        "/home 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/coursehub/course 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/nbgrader/exchange 10.0.0.0/24(rw,%s) node1.uni.example(rw,%s)" % (opts, opts),
        "/srv/coursehub/shareddata 10.0.0.0/24(ro,%s) node1.uni.example(ro,%s)" % (opts, opts),
    ]
    assert "no_root_squash" not in text and "insecure" not in text


def test_ganesha_exports(courses):
    text = s.render_ganesha_exports(s.nfs_exports(courses, clients=["192.168.1.7"], homes=True))
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
    assert [e["what"] for e in s.nfs_exports(kept, clients=CLIENTS, homes=True)] == ["homes", "courses"]
    assert [e["what"] for e in s.nfs_exports([], clients=CLIENTS, homes=True)] == ["homes"]
    assert s.nfs_exports([], clients=CLIENTS) == []


def test_exports_move_with_the_settings(courses):
    exports = s.nfs_exports(courses, {"course_root": "/data/course"}, clients=CLIENTS)
    assert exports[0]["path"] == "/data/course"


# Rule: the homes are exported only when asked for.
@pytest.mark.parametrize("homes,exported", [(False, False), (True, True)])
def test_homes_only_when_asked(courses, homes, exported):
    for render in (s.render_kernel_exports, s.render_ganesha_exports):
        text = render(s.nfs_exports(courses, clients=CLIENTS, homes=homes))
        assert ("/home " in text or '"/home"' in text) is exported, text
    assert ("homes" in [e["what"] for e in s.nfs_exports(courses, clients=CLIENTS, homes=homes)]) is exported


def test_homes_default_is_off(courses):
    assert "homes" not in [e["what"] for e in s.nfs_exports(courses, clients=CLIENTS)]
    assert "homes" not in [e["what"] for e in m.desired_exports(courses)]


@pytest.mark.parametrize("homes", ["yes", 1, None])
def test_homes_must_be_a_boolean(courses, homes):
    with pytest.raises(ValueError, match="nfs_exports_homes"):
        s.nfs_exports(courses, clients=CLIENTS, homes=homes)


# Rule: each client is listed explicitly.
@pytest.mark.parametrize("clients,named", [
    ([], "at least one"),
    ("10.0.0.0/24", "a list"),
    ([""], "is not a network"),
    ([None], "is not a network"),
    (["*"], "'*' would export to every host"),
    (["10.0.0.0/24", "*"], "'*' would export to every host"),
    (["*.uni.example"], "'*.uni.example' is a wildcard"),
    (["node?.uni.example"], "is a wildcard"),
    (["node[1-4].uni.example"], "is a wildcard"),
    (["0.0.0.0/0"], "is every address"),
    (["::/0"], "is every address"),
    (["0.0.0.0/0.0.0.0"], "is every address"),
    (["@compute"], "netgroups are not accepted"),
    (["10.0.0.0/24", "bad host!"], "'bad host!'"),
    (["010.0.0.1"], "neither an IP network"),
    (["10.0.0.300"], "neither an IP network"),
    (["10.0.0.0/24", "10.0.0.7/24"], "listed twice"),
    (["node1.uni.example", "NODE1.uni.example"], "listed twice"),
])
def test_bad_clients_are_refused(courses, clients, named):
    with pytest.raises(ValueError, match="nfs_exports_clients") as exc:
        s.nfs_exports(courses, clients=clients)
    assert named in str(exc.value)


@pytest.mark.parametrize("clients,normalised", [
    (["10.0.0.7"], ["10.0.0.7/32"]),
    (["10.0.0.7/24"], ["10.0.0.0/24"]),
    (["fd00::1"], ["fd00::1/128"]),
    (["Node1.Uni.Example"], ["node1.uni.example"]),
    (["node1", "10.1.0.0/16"], ["node1", "10.1.0.0/16"]),
])
def test_good_clients_are_normalised(courses, clients, normalised):
    assert all(e["clients"] == normalised for e in s.nfs_exports(courses, clients=clients))


# Rule: root is squashed (no_root_squash does not exist here).
@pytest.mark.parametrize("squash,ok", [
    ("root_squash", True), ("all_squash", True), ("no_root_squash", False), ("no_all_squash", False),
    ("", False), (None, False),
])
def test_squash(courses, squash, ok):
    if ok:
        text = s.render_kernel_exports(s.nfs_exports(courses, clients=CLIENTS, squash=squash))
        assert "," + squash + "," in text and "no_root_squash" not in text
    else:
        with pytest.raises(ValueError, match="nfs_exports_squash"):
            s.nfs_exports(courses, clients=CLIENTS, squash=squash)


# Rule: AUTH_SYS alone or Kerberos alone; krb5p is an option.
@pytest.mark.parametrize("sec,kernel,ganesha", [
    (["sys"], "sec=sys", "SecType = sys;"),
    ("sys", "sec=sys", "SecType = sys;"),
    (["krb5p"], "sec=krb5p", "SecType = krb5p;"),
    (["krb5p", "krb5i", "krb5"], "sec=krb5p:krb5i:krb5", "SecType = krb5p, krb5i, krb5;"),
])
def test_good_sec(courses, sec, kernel, ganesha):
    exports = s.nfs_exports(courses, clients=CLIENTS, sec=sec)
    assert kernel + ")" in s.render_kernel_exports(exports)
    assert ganesha in s.render_ganesha_exports(exports)


@pytest.mark.parametrize("sec,named", [
    (["none"], "is not a list of"),
    ([], "is not a list of"),
    (["krb5p", "sys"], "claim any uid"),
    (["sys", "krb5"], "claim any uid"),
    (["krb5p", "krb5p"], "twice"),
    ("krb5p:sys", "is not a list of"),
])
def test_bad_sec_is_refused(courses, sec, named):
    with pytest.raises(ValueError, match="nfs_exports_sec") as exc:
        s.nfs_exports(courses, clients=CLIENTS, sec=sec)
    assert named in str(exc.value)


# The renderers hold the rules too, whatever export list they are given.
@pytest.mark.parametrize("change,option", [
    ({"squash": "no_root_squash"}, "nfs_exports_squash"),
    ({"clients": ["*"]}, "nfs_exports_clients"),
    ({"clients": ["0.0.0.0/0"]}, "nfs_exports_clients"),
    ({"sec": ["krb5p", "sys"]}, "nfs_exports_sec"),
    ({"access": "rw,no_root_squash"}, "access must be"),
])
@pytest.mark.parametrize("render", [s.render_kernel_exports, s.render_ganesha_exports])
def test_renderers_refuse_a_bad_export(courses, change, option, render):
    export = dict(s.nfs_exports(courses, clients=CLIENTS)[0], **change)
    with pytest.raises(ValueError, match=option):
        render([export])


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
