"""SMB with smbclient over 127.0.0.1, inside the instance: who gets in where,
and what new files look like on disk."""
import pathlib

import pytest
from conftest import PROJECT

A, B = "mlbp2026", "privsec2026"
COURSE = "/srv/coursehub/course"
EDIT = PROJECT / "molecule" / "default" / "vars" / "edited-mlbp2026.yml"
DENIED = "NT_STATUS_ACCESS_DENIED"


def test_smbd_runs_without_netbios(host):
    assert host.service("smbd").is_running
    assert not host.service("nmbd").is_running
    assert host.socket("tcp://0.0.0.0:445").is_listening
    assert not host.socket("tcp://0.0.0.0:139").is_listening


def test_instructor_file_keeps_the_course_group_and_group_write(host, smb):
    host.run(f"rm -f {COURSE}/{A}/files/from-smb.txt; rm -rf {COURSE}/{A}/files/smb-dir")
    rc, out = smb("teacher1", f"cd {A}/files; put /etc/hostname from-smb.txt; mkdir smb-dir; "
                              "cd smb-dir; put /etc/hostname inner.txt")
    assert rc == 0, out
    for path, kind in (("from-smb.txt", "file"), ("smb-dir", "dir"), ("smb-dir/inner.txt", "file")):
        made = host.file(f"{COURSE}/{A}/files/{path}")
        assert made.user == "teacher1" and made.group == f"jupyter-{A}", (path, made.user, made.group)
        assert made.mode & 0o060 == 0o060, f"{path} is {oct(made.mode)}: not group-writable"
        assert made.mode & 0o007 == 0, f"{path} is {oct(made.mode)}: open to others"
        if kind == "dir":
            assert made.mode & 0o2000, "a new directory lost setgid"
    # The other instructor can change what the first one put there.
    rc, out = smb("ta1", f"cd {A}/files/smb-dir; put /etc/os-release inner.txt")
    assert rc == 0, out
    host.run(f"rm -f {COURSE}/{A}/files/from-smb.txt; rm -rf {COURSE}/{A}/files/smb-dir")


def test_data_an_instructor_puts_is_readable_by_students(host, smb):
    host.run(f"rm -f {COURSE}/{A}/data/from-smb.csv")
    rc, out = smb("teacher1", f"put /etc/hostname {A}/data/from-smb.csv")
    assert rc == 0, out
    made = host.file(f"{COURSE}/{A}/data/from-smb.csv")
    assert made.group == f"jupyter-{A}" and made.mode & 0o064 == 0o064, oct(made.mode)
    rc, out = smb("student1", f"get {A}/data/from-smb.csv /tmp/from-smb.csv")
    assert rc == 0, out
    host.run(f"rm -f {COURSE}/{A}/data/from-smb.csv")


def test_instructor_is_denied_another_courses_files(smb):
    rc, out = smb("teacher1", f"ls {B}/files/*")
    assert DENIED in out, out


def test_student_is_denied_files_but_reads_data(host, smb):
    host.run(f"install -m 0664 -g jupyter-{A} /etc/hostname {COURSE}/{A}/data/notes.txt")
    rc, out = smb("student1", f"ls {A}/files/*")
    assert DENIED in out, out
    rc, out = smb("student1", f"get {A}/data/notes.txt /tmp/notes-over-smb.txt")
    assert rc == 0, out
    assert host.file("/tmp/notes-over-smb.txt").content_string == host.file("/etc/hostname").content_string
    # ...and cannot write there.
    rc, out = smb("student1", f"put /etc/hostname {A}/data/student.txt")
    assert DENIED in out and not host.file(f"{COURSE}/{A}/data/student.txt").exists, out


def test_private_course_data_is_for_its_students_only(smb):
    assert DENIED in smb("student1", f"ls {B}/data/*")[1]
    rc, out = smb("student2", f"ls {B}/data/*")
    assert rc == 0, out


@pytest.mark.parametrize("user", [None, "guest", "nosuchuser"])
def test_guest_and_unknown_users_are_refused(smb, user):
    rc, out = smb(user, "ls")
    assert rc != 0 and ("NT_STATUS_LOGON_FAILURE" in out or DENIED in out), out


def test_a_user_outside_every_course_group_is_refused(smb):
    rc, out = smb("outsider1", "ls")
    assert rc != 0 and DENIED in out, out


@pytest.mark.parametrize("protocol", ["NT1", "SMB2"])
def test_old_protocols_are_refused(smb, protocol):
    rc, out = smb("teacher1", "ls", protocol=protocol, extra=f"--option='client min protocol={protocol}'")
    assert rc != 0, out
    assert "NT_STATUS_CONNECTION" in out or "protocol negotiation failed" in out.lower(), out
    rc, out = smb("teacher1", "ls", protocol="SMB3")
    assert rc == 0, out


def test_smb_conf_passes_testparm(host):
    assert host.run("testparm -s --suppress-prompt /etc/samba/smb.conf").rc == 0


def test_instructor_change_changes_who_smb_lets_in(smb, converge):
    """ta1 leaves mlbp2026 and teacher2 joins (the default scenario's edit); converge; SMB follows."""
    assert smb("ta1", f"ls {A}/files/*")[0] == 0
    assert DENIED in smb("teacher2", f"ls {A}/files/*")[1]
    assert pathlib.Path(EDIT).is_file()
    try:
        converge(EDIT)
        assert DENIED in smb("ta1", f"ls {A}/files/*")[1], "ta1 still gets in after leaving the course"
        rc, out = smb("teacher2", f"ls {A}/files/*")
        assert rc == 0, out
    finally:
        converge()
    assert smb("ta1", f"ls {A}/files/*")[0] == 0
