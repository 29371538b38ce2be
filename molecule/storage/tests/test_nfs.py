"""NFS over the wire: NFS-Ganesha in the instance, libnfs clients on 127.0.0.1 (NFSv4)."""
import pytest

SERVER = "nfs://127.0.0.1"
EXPORTS = ["/home", "/srv/coursehub/course", "/srv/nbgrader/exchange", "/srv/coursehub/shareddata"]


def url(path, **params):
    query = "&".join(["version=4"] + [f"{k}={v}" for k, v in params.items()])
    return f"{SERVER}{path}?{query}"


def test_ganesha_runs_and_listens_on_2049(host):
    assert host.service("nfs-ganesha").is_running
    assert host.socket("tcp://0.0.0.0:2049").is_listening


def test_the_pseudo_root_lists_only_the_exports(host):
    root = host.run(f"nfs-ls '{url('/')}'")
    assert root.rc == 0, root.stderr
    assert sorted(line.split()[-1] for line in root.stdout.splitlines()) == ["home", "srv"]
    below = host.check_output(f"nfs-ls '{url('/srv')}'")
    assert sorted(line.split()[-1] for line in below.splitlines()) == ["coursehub", "nbgrader"]


@pytest.mark.parametrize("path", EXPORTS)
def test_each_export_can_be_listed(host, path):
    listed = host.run(f"nfs-ls '{url(path)}'")
    assert listed.rc == 0, f"{path}: {listed.stderr}"


def test_a_shareddata_file_reads_over_nfs(host):
    readme = "/srv/coursehub/shareddata/mnist/README.md"
    assert host.file(readme).exists
    assert host.check_output(f"nfs-cat '{url(readme)}'") == host.file(readme).content_string.rstrip("\n")


def test_root_is_squashed(host):
    target = "/srv/coursehub/course/squashed-by-nfs.txt"
    write = host.run(f"nfs-cp /etc/hostname '{url(target)}'")
    assert write.rc != 0, "root wrote into a root-owned 0755 directory: root_squash is off"
    assert not host.file(target).exists
    # shareddata is read-only for everyone, root included.
    write = host.run(f"nfs-cp /etc/hostname '{url('/srv/coursehub/shareddata/mnist/x')}'")
    assert write.rc != 0 and not host.file("/srv/coursehub/shareddata/mnist/x").exists


@pytest.mark.parametrize("path", ["/etc", "/etc/shadow", "/srv", "/var/lib/samba"])
def test_paths_outside_the_exports_are_refused(host, path):
    attempt = host.run(f"nfs-cat '{url(path)}' || nfs-ls '{url(path)}'")
    if path == "/srv":  # part of the pseudo tree: lists the exports under it, nothing else
        assert sorted(line.split()[-1] for line in attempt.stdout.splitlines()) == ["coursehub", "nbgrader"]
    else:
        assert attempt.rc != 0 and "root:" not in attempt.stdout, attempt.stdout


def test_course_access_rules_hold_over_nfs(host):
    """AUTH_SYS carries the uid and gid; modes and ACLs decide, as on the hub."""
    teacher = host.user("teacher1")
    student = host.user("student1")
    group = host.group("jupyter-mlbp2026").gid
    target = "/srv/coursehub/course/mlbp2026/files/from-nfs.txt"
    host.run(f"rm -f {target}")
    wrote = host.run(f"nfs-cp /etc/hostname '{url(target, uid=teacher.uid, gid=group)}'")
    assert wrote.rc == 0, wrote.stderr
    made = host.file(target)
    assert made.user == "teacher1" and made.group == "jupyter-mlbp2026" and made.mode & 0o060 == 0o060
    denied = host.run(f"nfs-ls '{url('/srv/coursehub/course/mlbp2026/files', uid=student.uid, gid=student.gid)}'")
    assert denied.rc != 0, denied.stdout
    readable = host.run(f"nfs-ls '{url('/srv/coursehub/course/mlbp2026/data', uid=student.uid, gid=student.gid)}'")
    assert readable.rc == 0, readable.stderr
    host.run(f"rm -f {target}")


def test_kernel_backend_exports_file(host):
    exports = host.file("/etc/exports.d/coursehub.exports")
    assert exports.user == "root" and exports.mode == 0o644
    lines = [line for line in exports.content_string.splitlines() if line and not line.startswith("#")]
    options = "sync,root_squash,no_subtree_check,sec=sys"
    assert lines == [
        f"/home 127.0.0.1/32(rw,{options})",
        f"/srv/coursehub/course 127.0.0.1/32(rw,{options})",
        f"/srv/nbgrader/exchange 127.0.0.1/32(rw,{options})",
        f"/srv/coursehub/shareddata 127.0.0.1/32(ro,{options})",
    ]
