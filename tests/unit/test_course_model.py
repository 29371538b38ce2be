"""The course model: a table of invalid course files, each named by file and field, and the valid forms."""

import datetime
import os

import pytest
import yaml

from course_helpers import DROP, SAMPLES_DIR, base_course, course_text
from module_utils import course_files, course_model
from module_utils.course_model import CourseError, Problem


def one(**changes):
    return {"demo2026.yml": course_text(**changes)}


def raw(text, name="demo2026.yml"):
    return {name: text}


def case(case_id, files, field, file="demo2026.yml", schema=True, line=None):
    """One invalid case: field (dotted) must be named in a problem on file; schema says
    whether schemas/course.schema.json can express the rule (checked in test_course_schema)."""
    return pytest.param(files, file, field, schema, line, id=case_id)


K = "course_demo2026"
LONG = "a" * 33
INVALID_CASES = [
    # --- file shape and YAML
    case("unknown-key-instuctors", one(instuctors=["teacher1"]), K + ".instuctors"),
    case("unknown-nested-key", one(resources={"mem": "2G"}), K + ".resources.mem"),
    case("unknown-schedule-key", one(schedule=[{"date": "2026-09-07", "kind": "lecture", "room": "A1"}]),
         K + ".schedule[0].room"),
    case("two-keys-in-one-file", raw(course_text() + course_text(slug="other2026").split("\n", 1)[1]),
         "course_other2026"),
    case("list-at-top-level", raw("- course_demo2026: {}\n"), "(document)"),
    case("empty-file", raw("# nothing\n"), "(document)", schema=False),
    case("duplicate-key-in-file", raw(course_text() + "  name: Again\n"), K + ".name", schema=False, line=10),
    case("invalid-yaml-with-line", raw("course_demo2026:\n  name: [unclosed\n  owner: teacher1\n"), "(yaml)",
         schema=False, line=3),
    case("yaml-tab-indent", raw("course_demo2026:\n\tname: x\n"), "(yaml)", schema=False, line=2),
    case("merge-key", raw("x: &x {name: a}\n" + "course_demo2026:\n  <<: *x\n"), "course_demo2026.<<",
         schema=False),
    case("file-not-yml", raw(course_text(), name="demo2026.yaml"), K, file="demo2026.yaml", schema=False),
    # --- slug and key
    case("slug-not-file-name", raw(course_text(), name="other2026.yml"), K, file="other2026.yml", schema=False),
    case("slug-without-year", raw(course_text(slug="demo"), name="demo.yml"), "course_demo", file="demo.yml"),
    case("slug-capitals", raw(course_text(slug="Demo2026"), name="Demo2026.yml"), "course_Demo2026",
         file="Demo2026.yml"),
    case("key-without-prefix", raw(course_text(key="demo2026")), "demo2026"),
    case("slug-too-long", raw(course_text(slug="averyverylongname2026"), name="averyverylongname2026.yml"),
         "course_averyverylongname2026", file="averyverylongname2026.yml"),
    # --- cross-file
    case("duplicate-slug-across-files", {"a/demo2026.yml": course_text(), "b/demo2026.yml": course_text()}, K,
         file="b/demo2026.yml", schema=False),
    case("duplicate-gid-across-files", {"demo2026.yml": course_text(gid=72001),
                                        "zeta2026.yml": course_text(slug="zeta2026", gid=72001)},
         "course_zeta2026.gid", file="zeta2026.yml", schema=False),
    case("package-pin-conflict", {"demo2026.yml": course_text(packages=["numpy==1.26.4"]),
                                  "zeta2026.yml": course_text(slug="zeta2026", packages=["numpy>=2"])},
         "course_zeta2026.packages[0]", file="zeta2026.yml", schema=False),
    # --- required fields and types
    case("missing-name", one(name=DROP), K + ".name"),
    case("missing-start", one(start=DROP), K + ".start"),
    case("missing-instructors", one(instructors=DROP), K + ".instructors"),
    case("name-not-string", one(name=2026), K + ".name"),
    case("name-empty", one(name=" "), K + ".name"),
    case("name-jinja", one(name="{{ lookup('pipe', 'id') }}"), K + ".name"),
    case("course-body-null", raw("course_demo2026:\n"), K),
    case("resources-list", one(resources=["2G", 4]), K + ".resources"),
    case("students-null", one(students=None), K + ".students"),
    case("instructors-string", one(instructors="teacher1"), K + ".instructors"),
    case("bool-as-string", one(allow_non_students="yes"), K + ".allow_non_students"),
    case("int-as-bool", one(coursedata=1), K + ".coursedata"),
    # --- users
    case("empty-instructor-list", one(instructors=[]), K + ".instructors"),
    case("username-space", one(instructors=["teacher1", "ta 1"]), K + ".instructors[1]"),
    case("username-capitals", one(students=["Student1"]), K + ".students[0]"),
    case("username-semicolon", one(students=["x;rm"]), K + ".students[0]"),
    case("username-path", one(deputies=["../etc"]), K + ".deputies[0]"),
    case("username-too-long", one(students=[LONG]), K + ".students[0]"),
    case("username-duplicate", one(students=["student1", "student1"]), K + ".students[1]"),
    case("owner-not-instructor", one(owner="teacher2"), K + ".owner", schema=False),
    case("deputy-not-instructor", one(deputies=["teacher2"]), K + ".deputies[0]", schema=False),
    case("contact-invalid", one(contact="Teacher 1"), K + ".contact"),
    case("announce-not-email", one(announce=["teacher1"]), K + ".announce[0]"),
    # --- state
    case("state-archive", one(state="archive"), K + ".state"),
    case("state-capitalised", one(state="Public"), K + ".state"),
    case("purge-without-absent", one(purge=True), K + ".purge"),
    case("absent-without-purge", one(state="absent"), K + ".state"),
    case("private-allowing-non-students", one(state="private", allow_non_students=True),
         K + ".allow_non_students"),
    case("public-closed-without-students", one(allow_non_students=False), K + ".allow_non_students"),
    # --- gid
    case("gid-below-1000", one(gid=999), K + ".gid"),
    case("gid-bool", one(gid=True), K + ".gid"),
    case("gid-string", one(gid="72026"), K + ".gid"),
    case("gid-nogroup", one(gid=65534), K + ".gid"),
    case("gid-too-big", one(gid=2 ** 31), K + ".gid"),
    # --- resources
    case("memory-2-gigs", one(resources={"memory": "2 gigs"}), K + ".resources.memory"),
    case("memory-number", one(resources={"memory": 2}), K + ".resources.memory"),
    case("memory-lowercase-unit", one(resources={"memory": "2g"}), K + ".resources.memory"),
    case("memory-zero", one(resources={"memory": "0G"}), K + ".resources.memory"),
    case("cpus-zero", one(resources={"cpus": 0}), K + ".resources.cpus"),
    case("cpus-negative", one(resources={"cpus": -1}), K + ".resources.cpus"),
    case("cpus-bool", one(resources={"cpus": True}), K + ".resources.cpus"),
    case("cpus-too-many", one(resources={"cpus": 65}), K + ".resources.cpus"),
    case("cpus-string", one(resources={"cpus": "4"}), K + ".resources.cpus"),
    # --- dates
    case("start-after-end", one(start=datetime.date(2027, 1, 1)), K + ".end", schema=False),
    case("expires-before-end", one(expires=datetime.date(2026, 12, 1)), K + ".expires", schema=False),
    case("date-impossible", one(end="2026-02-30"), K + ".end", schema=False),
    case("date-prose", one(start="1 Sept 2026"), K + ".start"),
    case("date-with-time", raw(course_text().replace("2026-09-01", "2026-09-01 10:00:00")), K + ".start"),
    case("schedule-outside-course", one(schedule=[{"date": datetime.date(2025, 9, 7), "kind": "lecture"}]),
         K + ".schedule[0].date", schema=False),
    case("schedule-bad-time", one(schedule=[{"date": "2026-10-02 4pm", "kind": "deadline"}]),
         K + ".schedule[0].date"),
    case("schedule-kind-unknown", one(schedule=[{"date": "2026-10-02", "kind": "seminar"}]),
         K + ".schedule[0].kind"),
    case("schedule-kind-missing", one(schedule=[{"date": "2026-10-02"}]), K + ".schedule[0].kind"),
    case("schedule-not-list", one(schedule={"date": "2026-10-02", "kind": "exam"}), K + ".schedule"),
    # --- data, software, tests
    case("shareddata-slash", one(shareddata=["mnist/train"]), K + ".shareddata[0]"),
    case("shareddata-dotdot", one(shareddata=[".."]), K + ".shareddata[0]"),
    case("environment-spaces", one(environment="Bad Env"), K + ".environment"),
    case("package-not-pep508", one(packages=["scikit-learn>=>1"]), K + ".packages[0]"),
    case("package-url", one(packages=["foo @ https://example.org/foo.whl"]), K + ".packages[0]"),
    case("package-not-string", one(packages=[{"numpy": "2"}]), K + ".packages[0]"),
    case("package-twice", one(packages=["numpy>=1", "NumPy<3"]), K + ".packages[1]", schema=False),
    case("test-file-absolute", one(test_file="/etc/passwd"), K + ".test_file"),
    case("test-file-dotdot", one(test_file="../secrets.py"), K + ".test_file"),
    case("test-file-inner-dotdot", one(test_file="tests/../../x.py"), K + ".test_file"),
    case("load-missing-key", one(load={"students": 10, "cpu_per_student": 1, "memory_per_student": "1G"}),
         K + ".load.data_gb"),
    case("load-negative-students", one(load={"students": -1, "cpu_per_student": 1, "memory_per_student": "1G",
                                             "data_gb": 1}), K + ".load.students"),
    case("load-fractional-students", one(load={"students": 1.5, "cpu_per_student": 1,
                                               "memory_per_student": "1G", "data_gb": 1}), K + ".load.students"),
]


def validate_dir(directory):
    entries, problems = course_files.load_paths([str(directory)])
    courses, model_problems = course_model.validate_courses(entries, today=datetime.date(2026, 11, 1))
    return courses, problems + model_problems


def test_table_is_large_enough():
    assert len(INVALID_CASES) >= 40


@pytest.mark.parametrize("files, file, field, schema, line", INVALID_CASES)
def test_invalid_course_names_file_and_field(write_files, files, file, field, schema, line):
    directory = write_files(files)
    _, problems = validate_dir(directory)
    expected_file = os.path.join(str(directory), file)
    matching = [p for p in problems if p.file == expected_file and p.field == field]
    assert matching, "no problem for %s in %s; got:\n%s" % (field, file, "\n".join(map(str, problems)))
    if line is not None:
        assert matching[0].line == line
    assert str(matching[0]).startswith(expected_file)
    assert (": %s: " % field) in str(matching[0])


def test_messages_say_expected_and_got_types(write_files):
    _, problems = validate_dir(write_files(one(gid=True, instructors="teacher1")))
    messages = {p.field.rsplit(".", 1)[-1]: p.message for p in problems}
    assert messages["gid"] == "expected an integer, got boolean"
    assert messages["instructors"] == "expected a list, got string"


def test_misspellings_get_a_suggestion(write_files):
    _, problems = validate_dir(write_files(one(state="archive", instuctors=["x"])))
    text = "\n".join(p.message for p in problems)
    assert "did you mean 'archived'?" in text
    assert "did you mean 'instructors'?" in text


def test_problem_lines_point_at_the_field(write_files):
    text = course_text(resources={"memory": "2 gigs"})
    _, problems = validate_dir(write_files(raw(text)))
    [problem] = problems
    line = [i for i, t in enumerate(text.splitlines(), 1) if "memory:" in t][0]
    assert problem.line == line


# --- valid input ---------------------------------------------------------------------------------------

def samples():
    entries, problems = course_files.load_paths([SAMPLES_DIR])
    assert problems == []
    return entries


def test_samples_are_valid():
    courses, problems = course_model.validate_courses(samples(), today=datetime.date(2026, 11, 1))
    assert problems == []
    assert [c["slug"] for c in courses] == ["deeplearn2026", "mlbp2026", "oldstats2025", "privsec2026"]


def test_defaults_are_applied():
    courses, _ = course_model.validate_courses(samples(), today=datetime.date(2026, 11, 1))
    by_slug = {c["slug"]: c for c in courses}
    mlbp = by_slug["mlbp2026"]
    assert mlbp["expires"] == "2027-06-18"
    assert mlbp["contact"] == "teacher1"
    assert mlbp["students"] == [] and mlbp["allow_non_students"] is True
    assert mlbp["resources"] == {"memory": "2G", "cpus": 2.0, "memory_bytes": 2 << 30}
    assert mlbp["load"]["memory_per_student_bytes"] == 2 << 30
    assert mlbp["schedule"][2] == {"date": "2026-12-14", "kind": "exam", "what": "exam"}
    assert mlbp["file"].endswith("mlbp2026.yml") and mlbp["key"] == "course_mlbp2026"
    assert by_slug["privsec2026"]["allow_non_students"] is False
    assert by_slug["oldstats2025"]["expired"] is True and mlbp["expired"] is False
    assert by_slug["oldstats2025"]["resources"]["cpus"] == 4.0


def entry(**changes):
    data = base_course()
    data.update(changes)
    return {"file": "courses/demo2026.yml", "key": "course_demo2026", "data": data}


def validate_one(**changes):
    courses, problems = course_model.validate_courses([entry(**changes)], today=datetime.date(2026, 1, 1))
    assert problems == [], "\n".join(map(str, problems))
    return courses[0]


@pytest.mark.parametrize("changes, field, expected", [
    pytest.param({"resources": {"memory": "1.5G"}}, "resources", {"memory": "1.5G", "cpus": 4.0,
                                                                   "memory_bytes": 1610612736}, id="memory-decimal"),
    pytest.param({"resources": {"memory": "512M", "cpus": 0.5}}, "resources",
                 {"memory": "512M", "cpus": 0.5, "memory_bytes": 512 << 20}, id="memory-megabytes"),
    pytest.param({"start": "2026-09-01", "end": "2026-12-18"}, "end", "2026-12-18", id="dates-as-strings"),
    pytest.param({"end": datetime.date(2027, 8, 31)}, "expires", "2028-02-29", id="expiry-clamped-leap"),
    pytest.param({"instructors": ["teacher1", "_svc", "build$"]}, "instructors", ["teacher1", "_svc", "build$"],
                 id="usernames-posix-forms"),
    pytest.param({"schedule": [{"date": datetime.datetime(2026, 10, 2, 16, 0), "kind": "deadline"}]}, "schedule",
                 [{"date": "2026-10-02 16:00", "kind": "deadline", "what": "deadline"}], id="schedule-datetime"),
    pytest.param({"packages": ["scikit-learn[alldeps]>=1.5,<2; python_version >= '3.10'"]}, "packages",
                 ["scikit-learn[alldeps]>=1.5,<2; python_version >= '3.10'"], id="package-extras-marker"),
    pytest.param({"state": "private"}, "allow_non_students", False, id="private-closed-by-default"),
    pytest.param({"state": "absent", "purge": True}, "purge", True, id="absent-purge"),
    pytest.param({"test_file": "tests/courses/demo.py"}, "test_file", "tests/courses/demo.py", id="test-file"),
    pytest.param({"gid": 72999}, "gid", 72999, id="gid"),
])
def test_valid_forms_normalise(changes, field, expected):
    assert validate_one(**changes)[field] == expected


def test_add_months_clamps_to_month_end():
    assert course_model.add_months(datetime.date(2026, 8, 31), 6) == datetime.date(2027, 2, 28)
    assert course_model.add_months(datetime.date(2026, 12, 18), 6) == datetime.date(2027, 6, 18)


def test_courses_from_vars_infers_files():
    hostvars = {"course_demo2026": base_course(), "courses_json": "/etc/x", "inventory_hostname": "hub"}
    courses, problems = course_model.courses_from_vars(hostvars, "group_vars/courses/")
    assert problems == []
    assert courses[0]["file"] == "group_vars/courses/demo2026.yml"


def test_courses_from_vars_reports_a_stray_course_variable():
    _, problems = course_model.courses_from_vars({"course_root": "/srv"})
    assert {(p.file, p.field) for p in problems} == {("group_vars/courses/root.yml", "course_root")}


def test_validation_without_packaging(monkeypatch):
    monkeypatch.setattr(course_model, "HAS_PACKAGING", False)
    assert validate_one(packages=["numpy>=1.26"])["packages"] == ["numpy>=1.26"]
    _, problems = course_model.validate_courses([entry(packages=["numpy>=>1"])])
    assert [p.field for p in problems] == ["course_demo2026.packages[0]"]


def test_problem_and_course_error_format():
    problems = [Problem("a.yml", 3, "course_a2026.name", "is required"), Problem("b.yml", None, "(yaml)", "bad")]
    assert str(problems[0]) == "a.yml:3: course_a2026.name: is required"
    assert str(problems[1]) == "b.yml: (yaml): bad"
    assert str(CourseError(problems)).splitlines() == [str(p) for p in problems]
    assert CourseError(problems).problems == problems


@pytest.mark.parametrize("settings", [{"course_rot": "/x"}, {"course_root": "srv/x"}, {"course_root": "/srv/../x"},
                                      {"course_root": "/srv/x/"}, {"exchange_root": "/srv//x"}])
def test_bad_settings_are_programming_errors(settings):
    with pytest.raises(ValueError):
        course_model.merged_settings(settings)


def test_billion_laughs_is_cheap(write_files):
    layers = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    layers += ["a%d: &a%d [%s]" % (i, i, ", ".join(["*a%d" % (i - 1)] * 9)) for i in range(1, 9)]
    directory = write_files(raw("\n".join(layers) + "\n"))
    _, problems = validate_dir(directory)
    assert problems and all(p.field.startswith("a") for p in problems)


def test_loader_is_safe(write_files):
    directory = write_files(raw("course_demo2026: !!python/object/apply:os.system ['true']\n"))
    _, problems = validate_dir(directory)
    assert [p.field for p in problems] == ["(yaml)"]


def test_dumped_samples_round_trip():
    """A normalised course dumps to plain YAML/JSON types (no date objects left)."""
    courses, _ = course_model.validate_courses(samples())
    assert yaml.safe_load(yaml.safe_dump(courses)) == courses
