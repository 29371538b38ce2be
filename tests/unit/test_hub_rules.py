"""Who may start which course, and what a course server gets (hub extension rules)."""
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "module_utils"))  # the hub imports it as a top-level module
sys.path.insert(0, str(ROOT / "roles" / "jupyterhub" / "files"))
from module_utils import course_access as rules  # noqa: E402

SETTINGS = {
    "shareddata_root": "/srv/coursehub/shareddata",
    "shareddata_mount": "/mnt/jupyter/shareddata",
    "exchange_mount": "/srv/nbgrader/exchange",
    "nbgrader_config_root": "/etc/coursehub/nbgrader",
}


def course(slug, state="public", students_group=None, allow_non_students=True, shareddata=()):
    mount = {"source": f"/srv/coursehub/course/{slug}/data", "target": "/coursedata"}
    return {
        "name": slug.title(), "state": state, "private": state == "private",
        "instructors_group": f"jupyter-{slug}", "students_group": students_group,
        "allow_non_students": allow_non_students, "resources": {"memory": "1G", "cpus": 2},
        "image": "default", "shareddata": list(shareddata),
        "mounts": {
            "instructor": [{"source": f"/srv/coursehub/course/{slug}/files", "target": "/course", "read_only": False},
                           dict(mount, read_only=False)],
            "student": [dict(mount, read_only=True)],
        },
    }


COURSES = {
    "pub2026": course("pub2026", shareddata=["mnist"]),
    "priv2026": course("priv2026", state="private", students_group="jupyter-priv2026-students",
                       allow_non_students=False),
    "old2025": course("old2025", state="archived"),
    "listed2026": course("listed2026", students_group="jupyter-listed2026-students", allow_non_students=False),
}


@pytest.mark.parametrize(
    "groups,expected",
    [
        (set(), ["personal", "pub2026"]),
        ({"jupyter-priv2026-students"}, ["personal", "priv2026", "pub2026"]),
        ({"jupyter-pub2026"}, ["personal", "pub2026", "pub2026:instructor"]),
        ({"jupyter-old2025"}, ["personal", "pub2026"]),
        ({"jupyter-listed2026-students"}, ["listed2026", "personal", "pub2026"]),
        ({"jupyter-priv2026"}, ["personal", "priv2026", "priv2026:instructor", "pub2026"]),
    ],
)
def test_choices(groups, expected):
    assert sorted(value for value, _ in rules.choices(COURSES, groups)) == expected


@pytest.mark.parametrize(
    "groups,slug,mode,allowed",
    [
        (set(), "pub2026", "student", True),
        (set(), "pub2026", "instructor", False),
        (set(), "priv2026", "student", False),
        (set(), "old2025", "student", False),
        (set(), "nosuch2026", "student", False),
        ({"jupyter-priv2026-students"}, "priv2026", "student", True),
        ({"jupyter-priv2026-students"}, "priv2026", "instructor", False),
        ({"jupyter-pub2026"}, "priv2026", "instructor", False),
        ({"jupyter-pub2026"}, "pub2026", "instructor", True),
        (set(), "personal", "student", True),
    ],
)
def test_authorize(groups, slug, mode, allowed):
    reason = rules.authorize(COURSES, groups, slug, mode)
    assert (reason is None) == allowed, reason


@pytest.mark.parametrize("value", ["pub2026:root", "", "../x", "pub2026:instructor:x", "a b"])
def test_decode_rejects(value):
    with pytest.raises(ValueError):
        rules.decode(value)


def test_student_unit_has_no_course_dir_and_read_only_data():
    unit = rules.unit_settings(COURSES["pub2026"], "pub2026", "student", SETTINGS)
    props = unit["properties"]
    assert "/course" not in props.get("BindPaths", "")
    assert "/srv/coursehub/course/pub2026/data:/coursedata" in props["BindReadOnlyPaths"]
    assert "/srv/coursehub/shareddata:/mnt/jupyter/shareddata" in props["BindReadOnlyPaths"]
    assert "UMask" not in props
    assert unit["mem_limit"] == "1G" and unit["cpu_limit"] == 2.0
    assert unit["environment"]["COURSEHUB_COURSE"] == "pub2026"
    assert unit["environment"]["COURSEHUB"] == "1"


def test_instructor_unit_writes_course_and_shares_by_group():
    unit = rules.unit_settings(COURSES["pub2026"], "pub2026", "instructor", SETTINGS)
    props = unit["properties"]
    assert "/srv/coursehub/course/pub2026/files:/course" in props["BindPaths"]
    assert "/srv/coursehub/course/pub2026/data:/coursedata" in props["BindPaths"]
    assert props["UMask"] == "0007"
    assert props["SupplementaryGroups"] == "jupyter-pub2026"
    # git accepts the root-owned, group-shared /course only as a safe.directory.
    env = unit["environment"]
    assert (env["GIT_CONFIG_COUNT"], env["GIT_CONFIG_KEY_0"], env["GIT_CONFIG_VALUE_0"]) == ("1", "safe.directory", "/course")


@pytest.mark.parametrize("slug,mode", [(rules.PERSONAL, "student"), ("pub2026", "student"), ("pub2026", "instructor")])
def test_every_server_hides_the_exchanges_and_hidden_paths(slug, mode):
    """Personal servers too: an empty read-only tmpfs over the exchange mount; the host's
    exchange root, where it lies elsewhere, and the hidden paths are inaccessible."""
    settings = dict(SETTINGS, exchange_root="/data/exchange", hidden_paths=["/etc/coursehub"])
    props = rules.unit_settings(COURSES.get(slug), slug, mode, settings)["properties"]
    assert props["TemporaryFileSystem"] == "/srv/nbgrader/exchange:ro"
    assert props["InaccessiblePaths"].split() == ["-/etc/coursehub", "-/data/exchange"]


def test_exchange_root_at_the_mount_path_is_not_made_inaccessible():
    props = rules.unit_settings(None, rules.PERSONAL, "student",
                                dict(SETTINGS, exchange_root="/srv/nbgrader/exchange"))["properties"]
    assert props == {"TemporaryFileSystem": "/srv/nbgrader/exchange:ro"}


def test_student_unit_gets_no_git_override():
    unit = rules.unit_settings(COURSES["pub2026"], "pub2026", "student", SETTINGS)
    assert not any(key.startswith("GIT_") for key in unit["environment"])


def test_catalog_reloads_on_change(tmp_path):
    import coursehub_catalog

    path = tmp_path / "courses.json"
    catalog = coursehub_catalog.CourseCatalog(str(path))
    assert catalog.courses() == {}
    path.write_text('{"courses": {"a2026": {}}}')
    assert set(catalog.courses()) == {"a2026"}
    path.write_text('{"courses": {"a2026": {}, "b2026": {}}}')
    assert set(catalog.courses()) == {"a2026", "b2026"}
