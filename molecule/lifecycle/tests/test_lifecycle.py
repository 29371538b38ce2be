"""A course's life through the real courses play: archived, then absent without
purge (refused), then absent with purge (archived to a verified tarball, then
removed). The tests run in file order on one course."""
import json

from conftest import INSTANCE
from recap import changed

SLUG = "mlbp2026"
BASE = f"/srv/coursehub/course/{SLUG}"
EXCHANGE = f"/srv/nbgrader/exchange/{SLUG}"
ARCHIVE = "/srv/coursehub/archive"
TREES = f"{BASE} {EXCHANGE}"


def checksums(host, root=""):
    """sha256 of every file of the course, relative paths, as root sees them."""
    out = host.check_output(f"cd {root or '/'} && find {TREES.replace('/srv', 'srv')} -type f -print0 "
                            "| sort -z | xargs -0 sha256sum")
    return out


def state_of(host):
    return json.loads(host.file("/etc/jupyterhub/courses.json").content_string)["courses"].get(SLUG, {}).get("state")


def test_0_course_has_work_in_it(host):
    host.run(f"install -d -g jupyter-{SLUG} -m 2770 {BASE}/files/source/ps1")
    host.run(f"echo '{{\"cells\": []}}' > {BASE}/files/source/ps1/ps1.ipynb")
    host.run(f"head -c 100000 /dev/urandom > {BASE}/data/sample.bin")
    host.run(f"echo submitted > '{EXCHANGE}/inbound/student1+ps1+2026-11-22 10:00:00 UTC+abc'")
    assert host.file(f"{BASE}/data/sample.bin").size == 100000
    assert state_of(host) == "public"


def test_1_archiving_keeps_data_read_only_and_hides_the_profile(host, converge):
    before = checksums(host)
    done = converge(SLUG, state="archived")
    assert done.returncode == 0, done.stdout[-3000:]
    assert checksums(host) == before, "archiving changed the course's files"
    assert oct(host.file(f"{BASE}/files").mode) == "0o2550"
    assert oct(host.file(f"{BASE}/data").mode) == "0o2555"
    # Not even the instructors can write now.
    refused = host.run(f"runuser -u teacher1 -- touch {BASE}/files/new.txt")
    assert refused.rc != 0 and "Permission denied" in refused.stderr
    assert state_of(host) == "archived"
    # The hub offers nothing for it (the same rules the spawner uses).
    courses = json.loads(host.file("/etc/jupyterhub/courses.json").content_string)["courses"]
    import sys
    from conftest import PROJECT
    sys.path.insert(0, str(PROJECT / "module_utils"))
    import course_access
    offered = [value for value, _ in course_access.choices(courses, {f"jupyter-{SLUG}"})]
    assert not any(value.startswith(SLUG) for value in offered), offered


def test_2_absent_without_purge_fails_and_removes_nothing(host, converge):
    before = checksums(host), host.group(f"jupyter-{SLUG}").members, host.file("/etc/jupyterhub/courses.json").sha256sum
    done = converge(SLUG, state="absent")
    assert done.returncode != 0
    said = done.stdout + done.stderr
    assert f"course_{SLUG}.state" in said and "purge: true" in said, said[-2000:]
    assert f"{SLUG}.yml" in said
    after = checksums(host), host.group(f"jupyter-{SLUG}").members, host.file("/etc/jupyterhub/courses.json").sha256sum
    assert after == before
    assert not host.file(ARCHIVE).exists or host.run(f"ls {ARCHIVE}").stdout.strip() == ""


def test_3_absent_with_purge_archives_verifies_then_removes(host, converge):
    before = checksums(host)
    done = converge(SLUG, state="absent", purge=True)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert not host.file(BASE).exists and not host.file(EXCHANGE).exists
    assert not host.group(f"jupyter-{SLUG}").exists
    assert state_of(host) is None
    tarballs = host.check_output(f"ls {ARCHIVE}/{SLUG}-*.tar.gz").split()
    assert len(tarballs) == 1
    tarball = tarballs[0]
    assert oct(host.file(tarball).mode) == "0o600" and oct(host.file(ARCHIVE).mode) == "0o700"
    assert host.run(f"cd {ARCHIVE} && sha256sum -c {tarball}.sha256").rc == 0
    # It restores the files, byte for byte. ACLs are stored by name, so the restore
    # procedure first brings the groups back (a converge of the course does that;
    # here, groupadd with the course's gid), then extracts.
    host.run("rm -rf /tmp/restore && mkdir /tmp/restore")
    host.check_output(f"groupadd -g 72026 jupyter-{SLUG}")
    try:
        host.check_output(f"tar --acls --xattrs -xpzf {tarball} -C /tmp/restore")
        assert checksums(host, "/tmp/restore") == before
        assert host.check_output(f"stat -c %g /tmp/restore{BASE}/files") == "72026"
        assert f"group:jupyter-{SLUG}:r-x" in host.check_output(f"getfacl -p /tmp/restore{BASE}/files")
    finally:
        host.run(f"groupdel jupyter-{SLUG}")


def test_4_rerun_changes_nothing(host, converge):
    done = converge(SLUG, state="absent", purge=True)
    assert done.returncode == 0 and changed(done.stdout, INSTANCE) == 0, done.stdout[-2000:]
