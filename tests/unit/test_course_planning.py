"""Calendar, load forecast, maintenance windows, expiry and renewal (module_utils/course_planning.py, coursectl)."""

import datetime
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import icalendar
import pytest
import yaml

from course_helpers import REPO_ROOT, SAMPLES_DIR, course_text
from course_helpers import course_body as body, validated_courses as courses_of, validated_samples as samples
from module_utils import course_files, course_model as m, course_planning as cp

COURSECTL = os.path.join(REPO_ROOT, "bin", "coursectl")
STAMP = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
D = datetime.date


def coursectl(*args, cwd=REPO_ROOT, env=None):
    return subprocess.run([sys.executable, COURSECTL, *args], cwd=cwd, capture_output=True, text=True, check=False,
                          env=dict(os.environ, **(env or {})))


# --------------------------------------------------------------------------
# Calendar
# --------------------------------------------------------------------------

def parse_ics(text):
    calendar = icalendar.Calendar.from_ical(text)
    return calendar, {str(event["UID"]): event for event in calendar.walk("VEVENT")}


def test_calendar_of_samples_parses_with_icalendar():
    courses = samples()
    text = cp.ics_calendar(courses, STAMP)
    calendar, events = parse_ics(text)
    assert str(calendar["VERSION"]) == "2.0" and str(calendar["PRODID"]) == cp.ICS_PRODID
    expected = sum(len(c["schedule"]) for c in courses if c["state"] != "absent")
    assert len(list(calendar.walk("VEVENT"))) == expected == len(events) == 6
    deadline = events["mlbp2026-20261002T1600-deadline@coursehub"]
    start = deadline.decoded("DTSTART")
    # a time in the course file is local time at the university: a floating time, no zone, no DTEND
    assert start == datetime.datetime(2026, 10, 2, 16, 0) and start.tzinfo is None
    assert "DTEND" not in deadline
    assert str(deadline["SUMMARY"]) == "mlbp2026 deadline: Round 1"
    assert str(deadline["DESCRIPTION"]) == ("Machine Learning: Basic Principles\nOwner: teacher1\nDeputies: ta1\n"
                                            "Contact: teacher1\nAnnounce: teacher1@uni.example")
    assert deadline.decoded("DTSTAMP") == STAMP
    exam = events["mlbp2026-20261214-exam@coursehub"]
    # a date alone is an all-day event; DTEND is exclusive
    assert exam.decoded("DTSTART") == D(2026, 12, 14) and exam.decoded("DTEND") == D(2026, 12, 15)
    assert str(exam["SUMMARY"]) == "mlbp2026 exam"
    lecture = events["deeplearn2026-20260914-lecture@coursehub"]
    assert "Contact: ta1" in str(lecture["DESCRIPTION"]) and "Announce" not in str(lecture["DESCRIPTION"])


def test_calendar_lines_are_crlf_folded_at_75_octets_and_escaped():
    long_name = "Ääkköset, semicolons; and back\\slashes in a very long course name that needs folding " * 2
    courses = courses_of(demo2026=body(name=long_name.strip()[:200], announce=["a@uni.example", "b@uni.example"],
                                       schedule=[{"date": "2026-09-07", "kind": "lecture", "what": "Intro, part 1"}]))
    text = cp.ics_calendar(courses, STAMP)
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "")
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    assert "SUMMARY:demo2026 lecture: Intro\\, part 1\r\n" in text
    _, events = parse_ics(text)
    event = events["demo2026-20260907-lecture@coursehub"]
    assert str(event["SUMMARY"]) == "demo2026 lecture: Intro, part 1"
    assert str(event["DESCRIPTION"]).splitlines()[0] == long_name.strip()[:200]
    assert str(event["DESCRIPTION"]).endswith("Announce: a@uni.example, b@uni.example")


def test_fold_never_splits_a_character():
    line = "DESCRIPTION:" + "\u00e4" * 80
    folded = cp.ics_fold(line)
    assert folded.replace("\r\n ", "").rstrip("\r\n") == line
    assert all(len(part.encode("utf-8")) <= 75 for part in folded.split("\r\n"))


def test_calendar_uids_are_stable_and_unique_and_absent_courses_left_out():
    twice = [{"date": "2026-10-02", "kind": "deadline", "what": "A"},
             {"date": "2026-10-02", "kind": "deadline", "what": "B"}]
    courses = courses_of(demo2026=body(schedule=twice),
                         gone2026=body(state="absent", purge=True, schedule=[{"date": "2026-10-02", "kind": "exam"}]))
    first = cp.ics_calendar(courses, STAMP)
    _, events = parse_ics(first)
    assert sorted(events) == ["demo2026-20261002-deadline-2@coursehub", "demo2026-20261002-deadline@coursehub"]
    later = cp.ics_calendar(courses, STAMP + datetime.timedelta(days=3))
    assert sorted(parse_ics(later)[1]) == sorted(events)


def test_coursectl_calendar_writes_a_file(tmp_path):
    out = tmp_path / "courses.ics"
    result = coursectl("calendar", "-o", str(out), env={"SOURCE_DATE_EPOCH": "1767225600"})
    assert result.returncode == 0, result.stderr
    data = out.read_bytes()
    assert b"\r\nDTSTAMP:20260101T000000Z\r\n" in data and b"\r\r\n" not in data
    assert len(list(icalendar.Calendar.from_ical(data).walk("VEVENT"))) == 6


# --------------------------------------------------------------------------
# Load forecast
# --------------------------------------------------------------------------

CAPACITY = {"cpus": 20, "memory": "20G", "users": 22}


def small_case():
    """Two courses with loads, one without, one archived (the last two are not counted)."""
    return courses_of(
        a2026=body(start="2026-03-02", end="2026-03-06",
                   load={"students": 40, "cpu_per_student": 0.5, "memory_per_student": "1G", "data_gb": 1},
                   schedule=[{"date": "2026-03-03", "kind": "lecture"},
                             {"date": "2026-03-05 16:00", "kind": "deadline"}]),
        b2026=body(start="2026-03-04", end="2026-03-10",
                   load={"students": 25, "cpu_per_student": 1, "memory_per_student": "512M", "data_gb": 1},
                   schedule=[{"date": "2026-03-06", "kind": "exam"}]),
        c2026=body(start="2026-03-01", end="2026-03-10"),
        d2026=body(state="archived", start="2026-03-01", end="2026-03-10",
                   load={"students": 1000, "cpu_per_student": 1, "memory_per_student": "1G", "data_gb": 1}))


def test_forecast_small_case_worked_by_hand():
    result = cp.forecast(small_case(), cp.check_capacity(CAPACITY), D(2026, 3, 1), D(2026, 3, 7))
    assert result["courses"] == ["a2026", "b2026"]
    assert result["skipped"] == [("c2026", "no load estimate"), ("d2026", "archived")]
    rows = [(d["date"].day, d["users"], d["cpus"], d["memory_bytes"] / (1 << 30), d["over"]) for d in result["days"]]
    # Capacity: 22 users, 20 CPUs, 20G.  a2026: 40 students, 0.5 CPU and 1G each; b2026: 25 students, 1 CPU, 0.5G.
    # users = ceil(students * share / 100); CPUs and memory follow per user.
    assert rows == [
        # 1 Mar: neither course has started.
        (1, 0, 0.0, 0.0, []),
        # 2 Mar: a course day of a: 10% of 40 = 4 users -> 4 * 0.5 = 2 CPUs, 4 * 1G = 4G.
        (2, 4, 2.0, 4.0, []),
        # 3 Mar: a lecture of a: 30% of 40 = 12 users -> 6 CPUs, 12G.
        (3, 12, 6.0, 12.0, []),
        # 4 Mar: a's deadline is tomorrow: 35% of 40 = 14 -> 7 CPUs, 14G;
        #        b starts: 10% of 25 = 2.5 -> 3 users -> 3 CPUs, 1.5G.  Sum 17 users, 10 CPUs, 15.5G.
        (4, 17, 10.0, 15.5, []),
        # 5 Mar: a's deadline (at 16:00, counted for the day): 50% of 40 = 20 -> 10 CPUs, 20G; b: 3, 3, 1.5G.
        #        Sum 23 users > 22, 13 CPUs, 21.5G > 20G.
        (5, 23, 13.0, 21.5, ["users", "memory"]),
        # 6 Mar: a's last day, a course day: 4 users, 2 CPUs, 4G; b's exam: 80% of 25 = 20 -> 20 CPUs, 10G.
        #        Sum 24 users > 22, 22 CPUs > 20, 14G.
        (6, 24, 22.0, 14.0, ["users", "cpus"]),
        # 7 Mar: a has ended (end is 6 Mar); b: a course day, 3 users, 3 CPUs, 1.5G.
        (7, 3, 3.0, 1.5, []),
    ]
    assert result["days"][5]["courses"] == [("a2026", 4, "course day"), ("b2026", 20, "exam")]


def test_exactly_at_capacity_is_not_over():
    capacity = cp.check_capacity(CAPACITY)
    assert cp.over_capacity({"users": 22, "cpus": 20.0, "memory_bytes": 20 << 30}, capacity) == []
    assert cp.over_capacity({"users": 23, "cpus": 20.5, "memory_bytes": (20 << 30) + 1}, capacity) == [
        "users", "cpus", "memory"]


def test_load_table_lists_days_and_flags():
    result = cp.forecast(small_case(), cp.check_capacity(CAPACITY), D(2026, 3, 1), D(2026, 3, 7))
    table = cp.render_load_table(result, "inv")
    assert "Capacity (inv): 22 users, 20 CPUs, 20G memory" in table
    assert "Not counted: c2026 (no load estimate), d2026 (archived)" in table
    row = [line for line in table.splitlines() if line.startswith("2026-03-05")][0]
    assert row.split()[:7] == ["2026-03-05", "Thu", "23", "13", "21.5G", "users,memory", "a2026"]
    assert table.rstrip().endswith("2 day(s) over capacity: 2026-03-05 (users,memory), 2026-03-06 (users,cpus)")


def test_shares_and_integer_rounding():
    # 0.3 * 300 is 90.00000000000001 in floating point; the integer formula gives 90
    assert cp.concurrent_users(300, cp.SHARE_LECTURE) == 90
    assert cp.concurrent_users(25, 10) == 3 and cp.concurrent_users(0, 80) == 0
    course = courses_of(a2026=body(schedule=[{"date": "2026-10-01", "kind": "deadline"},
                                             {"date": "2026-10-02", "kind": "exam"},
                                             {"date": "2026-10-02", "kind": "lecture"}]))[0]
    assert cp.course_share(course, D(2026, 8, 31)) == (0, None)
    assert cp.course_share(course, D(2026, 9, 1)) == (10, "course day")
    assert cp.course_share(course, D(2026, 9, 30)) == (35, "day before deadline")
    assert cp.course_share(course, D(2026, 10, 1)) == (50, "deadline")
    assert cp.course_share(course, D(2026, 10, 2)) == (80, "exam")  # the largest share wins, no sum


def test_default_span_and_bad_range():
    courses = small_case()
    assert cp.default_span(courses) == (D(2026, 3, 2), D(2026, 3, 10))
    assert cp.default_span(courses_of(c2026=body())) is None
    with pytest.raises(ValueError, match="before it starts"):
        cp.forecast(courses, cp.check_capacity(CAPACITY), D(2026, 3, 7), D(2026, 3, 1))


@pytest.mark.parametrize("value, message", [
    ([], "expected a mapping"),
    ({"cpus": 4, "memory": "8G"}, "users missing"),
    ({"cpus": 4, "memory": "8G", "users": 10, "disk": 1}, "unknown key"),
    ({"cpus": 0, "memory": "8G", "users": 10}, "cpus"),
    ({"cpus": True, "memory": "8G", "users": 10}, "cpus"),
    ({"cpus": 4, "memory": "8 GB", "users": 10}, "memory"),
    ({"cpus": 4, "memory": 8, "users": 10}, "memory"),
    ({"cpus": 4, "memory": "8G", "users": 2.5}, "users"),
])
def test_capacity_is_checked(value, message):
    with pytest.raises(ValueError, match=message):
        cp.check_capacity(value)


def test_capacity_accepts_numbers_and_sizes():
    assert cp.check_capacity({"cpus": 1.5, "memory": "512M", "users": 3}) == {
        "cpus": 1.5, "memory": "512M", "memory_bytes": 512 << 20, "users": 3}


def test_chart_is_svg_with_lines_capacity_and_flags():
    result = cp.forecast(small_case(), cp.check_capacity(CAPACITY), D(2026, 3, 1), D(2026, 3, 7))
    svg = ET.fromstring(cp.render_load_svg(result).split("\n", 1)[1])
    ns = {"s": "http://www.w3.org/2000/svg"}
    lines = svg.findall("s:polyline[@class='demand']", ns)
    assert [line.get("data-resource") for line in lines] == ["users", "cpus", "memory"]
    assert all(len(line.get("points").split()) == 7 for line in lines)
    # Peak: 6 Mar CPUs 22/20 = 110% -> the axis ends at 150% (steps of 50 above 100%).  The plot is
    # 440 - 50 - 60 = 330 px high from y=50, so 100% is at 50 + 330 * (1 - 100/150) = 160.
    capacity = svg.find("s:line[@class='capacity']", ns)
    assert (capacity.get("y1"), capacity.get("y2")) == ("160.0", "160.0")
    users = [float(point.split(",")[1]) for point in lines[0].get("points").split()]
    # 1 Mar: 0 users -> the axis at 380; 5 Mar: 23/22 = 104.5% -> 50 + 330 * (1 - 104.545/150) = 150.0
    assert (users[0], users[4]) == (380.0, 150.0)
    assert len(svg.findall("s:circle[@class='flag']", ns)) == 2
    assert len(svg.findall("s:rect[@class='over']", ns)) == 2
    labels = [t.text for t in svg.findall("s:text[@class='axis-label']", ns)]
    assert labels == ["date", "demand as % of host capacity"]


def test_chart_axis_top():
    assert cp.chart_top(0) == (100.0, 25.0)
    assert cp.chart_top(100) == (100.0, 25.0)
    assert cp.chart_top(101) == (150.0, 50.0)
    assert cp.chart_top(375) == (400.0, 100.0)


def test_committed_chart_is_well_formed():
    with open(os.path.join(REPO_ROOT, "docs", "images", "load.svg"), encoding="utf-8") as handle:
        svg = ET.fromstring(handle.read().split("\n", 1)[1])
    assert len(svg.findall("{http://www.w3.org/2000/svg}polyline")) == 3


def write_inventory(root, text):
    (root / "group_vars" / "hub").mkdir(parents=True)
    (root / "group_vars" / "hub" / "main.yml").write_text(text, encoding="utf-8")
    return root


def test_coursectl_load_on_the_samples_with_the_demo_inventory(tmp_path):
    chart = tmp_path / "load.svg"
    result = coursectl("load", "--from", "2026-09-06", "--to", "2026-09-08", "--chart", str(chart))
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:6] for line in result.stdout.splitlines() if line.startswith("2026-")]
    # mlbp2026 only (the other samples have no load): 300 students, 0.5 CPU and 2G each; demo capacity 32 CPUs.
    # 6 Sep: 10% -> 30 users, 15 CPUs, 60G; 7 Sep lecture: 30% -> 90 users, 45 CPUs > 32, 180G.
    assert rows == [["2026-09-06", "Sun", "30", "15", "60.0G", "-"],
                    ["2026-09-07", "Mon", "90", "45", "180.0G", "cpus"],
                    ["2026-09-08", "Tue", "30", "15", "60.0G", "-"]]
    assert ET.fromstring(chart.read_text(encoding="utf-8").split("\n", 1)[1]).tag.endswith("svg")


def test_coursectl_load_reads_capacity_from_an_inventory(tmp_path):
    inventory = write_inventory(tmp_path / "inv", "---\ncoursehub_capacity: {cpus: 100, memory: \"1T\", users: 500}\n")
    result = coursectl("load", "--inventory", str(inventory), "--from", "2026-09-07", "--to", "2026-09-07")
    assert result.returncode == 0, result.stderr
    assert "500 users, 100 CPUs, 1T memory" in result.stdout and "No day over capacity." in result.stdout


@pytest.mark.parametrize("text, message", [
    ("---\nother: 1\n", "defines no coursehub_capacity"),
    ("---\ncoursehub_capacity: {cpus: 4, memory: 8G}\n", "users missing"),
])
def test_coursectl_load_refuses_a_missing_or_bad_capacity(tmp_path, text, message):
    inventory = write_inventory(tmp_path / "inv", text)
    result = coursectl("load", "--inventory", str(inventory))
    assert result.returncode == 2 and message in result.stderr


def test_inventories_define_a_valid_capacity():
    for inventory in ("demo", "production.example"):
        found = []
        for root, _, names in os.walk(os.path.join(REPO_ROOT, "inventories", inventory, "group_vars")):
            for name in names:
                if name.endswith(".yml"):
                    with open(os.path.join(root, name), encoding="utf-8") as handle:
                        data = yaml.safe_load(handle) or {}
                    if "coursehub_capacity" in data:
                        found.append(cp.check_capacity(data["coursehub_capacity"]))
        assert len(found) == 1, inventory


# --------------------------------------------------------------------------
# Maintenance windows
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, start, end", [
    ("2026-10-01..2026-10-01", datetime.datetime(2026, 10, 1), datetime.datetime(2026, 10, 2)),
    ("2026-10-01 18:00..2026-10-01 22:00", datetime.datetime(2026, 10, 1, 18), datetime.datetime(2026, 10, 1, 22)),
    ("2026-10-01T18:00..2026-10-02", datetime.datetime(2026, 10, 1, 18), datetime.datetime(2026, 10, 3)),
])
def test_parse_window(text, start, end):
    assert cp.parse_window(text) == (start, end)


@pytest.mark.parametrize("text", ["2026-10-01", "2026-10-02..2026-10-01", "2026-13-01..2026-10-01",
                                  "2026-10-01 22:00..2026-10-01 18:00", "a..b", "1..2..3"])
def test_parse_window_refuses(text):
    with pytest.raises(ValueError):
        cp.parse_window(text)


def maintenance_courses():
    return courses_of(
        demo2026=body(deputies=["ta1"], announce=["t1@uni.example"],
                      schedule=[{"date": "2026-10-02 16:00", "kind": "deadline", "what": "Round 1"},
                                {"date": "2026-10-05", "kind": "lecture"}]),
        gone2026=body(state="absent", purge=True, schedule=[{"date": "2026-10-02", "kind": "exam"}]))


@pytest.mark.parametrize("window, hits", [
    ("2026-10-01 22:00..2026-10-01 23:00", ["2026-10-02 16:00"]),  # the evening before a deadline
    ("2026-10-02 20:00..2026-10-02 21:00", ["2026-10-02 16:00"]),  # the deadline's own day
    ("2026-10-03..2026-10-04", []),                                  # a weekend between
    ("2026-10-04 23:59..2026-10-05 00:01", ["2026-10-05"]),          # touches the lecture day
    ("2026-09-30..2026-09-30", []),                                  # two days before the deadline
])
def test_maintenance_conflicts(window, hits):
    start, end = cp.parse_window(window)
    conflicts = cp.maintenance_conflicts(maintenance_courses(), start, end)
    assert [e["date"] for _, events in conflicts for e in events] == hits
    assert all(course["slug"] == "demo2026" for course, _ in conflicts)  # absent courses never conflict


def test_maintenance_report_names_contacts_or_says_no_conflicts():
    start, end = cp.parse_window("2026-10-02..2026-10-02")
    text = cp.render_maintenance(cp.maintenance_conflicts(maintenance_courses(), start, end), start, end)
    assert "1 course(s) with conflicts:" in text
    assert "notify: owner teacher1; deputies ta1; announce t1@uni.example" in text
    assert "- 2026-10-02 16:00 deadline: Round 1" in text
    start, end = cp.parse_window("2026-12-01..2026-12-02")
    assert "No conflicts" in cp.render_maintenance([], start, end)


def test_coursectl_maintenance_exits_0_either_way():
    busy = coursectl("maintenance", "--window", "2026-12-14..2026-12-14")
    assert busy.returncode == 0 and "mlbp2026" in busy.stdout and "exam" in busy.stdout
    quiet = coursectl("maintenance", "--window", "2026-08-01 10:00..2026-08-01 12:00")
    assert quiet.returncode == 0 and "No conflicts" in quiet.stdout
    assert coursectl("maintenance", "--window", "tomorrow").returncode == 2


# --------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------

def expiry_courses():
    return courses_of(
        old2025=body(state="archived", start="2025-01-01", end="2025-05-31"),         # expires 2025-11-30
        late2026=body(start="2026-01-01", end="2026-03-31"),                          # expires 2026-09-30
        soon2026=body(end="2026-12-18", expires="2027-01-15"),
        edge2026=body(end="2026-12-18", expires="2027-01-31"),
        later2026=body(end="2026-12-18"),                                             # expires 2027-06-18
        gone2026=body(state="absent", purge=True, start="2025-01-01", end="2025-02-01"))


def test_expiry_report():
    report = cp.expiry_report(expiry_courses(), D(2027, 1, 1), within=30)
    assert [c["slug"] for c in report["expired"]] == ["old2025", "late2026"]
    # 2027-01-31 is exactly 30 days after 2027-01-01: still listed
    assert [(c["slug"], left) for c, left in report["expiring"]] == [("soon2026", 14), ("edge2026", 30)]
    report = cp.expiry_report(expiry_courses(), D(2027, 1, 1), within=29)
    assert [c["slug"] for c, _ in report["expiring"]] == ["soon2026"]
    # the expiry day itself is not yet expired (the model: expired when today > expires)
    report = cp.expiry_report(expiry_courses(), D(2027, 1, 15), within=0)
    assert [c["slug"] for c, _ in report["expiring"]] == ["soon2026"]


def test_expiry_text_says_what_to_do_and_whom_to_tell():
    text = cp.render_expiry(cp.expiry_report(expiry_courses(), D(2027, 1, 1), 30), D(2027, 1, 1), 30)
    assert "- old2025 (Demo course): expired 2025-11-30; archived: once the owner agrees, set state: absent " \
           "with purge: true" in text
    assert "- late2026 (Demo course): expired 2026-09-30; still public: archive it" in text
    assert "expires 2027-01-15, in 14 day(s)" in text
    assert text.count("notify: owner teacher1; announce (none)") == 4
    assert "gone2026" not in text
    assert "Nothing expired" in cp.render_expiry({"expired": [], "expiring": []}, D(2027, 1, 1), 30)


def test_coursectl_expiry():
    result = coursectl("expiry", "--today", "2027-06-01")
    assert result.returncode == 0
    assert "privsec2026 (Privacy and Security Lab): expired 2027-03-31" in result.stdout
    assert "mlbp2026 (Machine Learning: Basic Principles, public): expires 2027-06-18, in 17 day(s)" in result.stdout
    assert "deeplearn2026" in result.stdout  # 2027-06-30, 29 days
    narrow = coursectl("expiry", "--today", "2027-06-01", "--within", "20")
    assert "deeplearn2026" not in narrow.stdout
    assert coursectl("expiry", "--within", "-1").returncode == 2


# --------------------------------------------------------------------------
# Renewal
# --------------------------------------------------------------------------

@pytest.mark.parametrize("value, years, shifted", [
    (D(2026, 9, 1), 1, "2027-09-01"),
    ("2026-09-01", 1, "2027-09-01"),
    ("2026-10-02 16:00", 1, "2027-10-02 16:00"),
    (datetime.datetime(2026, 10, 2, 16, 0), 1, "2027-10-02 16:00"),
    ("2028-02-29", 1, "2029-02-28"),       # no 29 February in 2029
    ("2028-02-29 09:00", 4, "2032-02-29 09:00"),
    ("2026-12-31", 2, "2028-12-31"),
    ("not a date", 1, "not a date"),       # left for validation to report
])
def test_shift_date(value, years, shifted):
    assert cp.shift_date(value, years) == shifted


@pytest.mark.parametrize("new, message", [("mlbp2026", "must differ"), ("mlbp27", "not a valid slug"),
                                          ("MLBP2027", "not a valid slug"), ("mlbp2027", None)])
def test_check_new_slug(new, message):
    why = cp.check_new_slug("mlbp2026", new)
    assert why is None if message is None else message in why


def test_renew_moves_dates_clears_students_drops_gid():
    data = body(gid=72026, students=["s1"], start=D(2028, 2, 29), end="2028-06-30", expires="2028-12-31",
                schedule=[{"date": "2028-02-29 10:00", "kind": "lecture"}, {"date": D(2028, 3, 6), "kind": "exam"}])
    new, notes = cp.renew_course(data, "demo2028", "demo2029")
    assert (new["start"], new["end"], new["expires"]) == ("2029-02-28", "2029-06-30", "2029-12-31")
    assert [e["date"] for e in new["schedule"]] == ["2029-02-28 10:00", "2029-03-06"]
    assert new["students"] == [] and "gid" not in new
    assert new.get("state", "public") == "public"
    assert any(note.startswith("gid 72026 dropped: gids must be unique") for note in notes)
    assert any(note.startswith("students cleared") for note in notes)
    assert data["gid"] == 72026 and data["students"] == ["s1"]  # the input is not changed


@pytest.mark.parametrize("changes, state, note", [
    ({"state": "private", "students": ["s1"]}, "private", None),
    ({"state": "archived"}, "public", "state archived became public"),
    ({"state": "absent", "purge": True}, "public", "purge dropped"),
    ({"students": ["s1"], "allow_non_students": False}, "private", "only valid as state: private"),
])
def test_renew_states(changes, state, note):
    new, notes = cp.renew_course(body(**changes), "demo2026", "demo2027")
    assert new.get("state", "public") == state
    assert "purge" not in new
    if note:
        assert any(note in n for n in notes), notes
    entries = [{"file": "demo2027.yml", "key": "course_demo2027", "data": yaml.safe_load(
        cp.render_course_file("course_demo2027", new))["course_demo2027"]}]
    assert m.validate_courses(entries)[1] == []


def test_renew_notes_year_in_name_and_test_file():
    _, notes = cp.renew_course(body(name="Stats (spring 2025)", test_file="tests/stats2025.py"),
                               "stats2025", "stats2026")
    assert any("mentions a year" in n for n in notes) and any("test_file" in n for n in notes)
    _, notes = cp.renew_course(body(schedule=[{"date": "2026-09-07", "kind": "lecture"}]), "demo2026", "demo2027")
    assert any("Mon \u2192 Tue" in n for n in notes)  # 7 Sep 2026 is a Monday, 7 Sep 2027 a Tuesday


@pytest.mark.parametrize("value", ["yes", "No", "on", "null", "~", "", "1.5", "2026-09-01", "0x10", "1_000",
                                   "a: b", "#x", "- x", "it's", 'say "hi"', "back\\slash", "tab\there",
                                   "line\nbreak", "Ääkköset", "@at", "*star", "&amp", "!tag", "{x}", "[x]",
                                   "2G", "1.5G", "teacher1", "t1@uni.example", "scikit-learn>=1.5", " padded "])
def test_yaml_scalar_round_trips(value):
    assert yaml.safe_load("k: %s\n" % cp.yaml_scalar(value)) == {"k": value}
    assert yaml.safe_load("k: [%s]\n" % cp.yaml_scalar(value)) == {"k": [value]}
    assert yaml.safe_load("k: {v: %s}\n" % cp.yaml_scalar(value)) == {"k": {"v": value}}


def test_render_course_file_round_trips_in_the_samples_style():
    data = {"name": "A: B", "state": "public", "owner": "t1", "instructors": ["t1", "t2"], "gid": 72001,
            "resources": {"memory": "2G", "cpus": 2.5}, "coursedata": False, "students": [],
            "load": {"students": 3, "cpu_per_student": 0.5, "memory_per_student": "1G", "data_gb": 0},
            "schedule": [{"date": "2026-09-07", "kind": "lecture", "what": "Intro"}],
            "long": ["user%03d" % i for i in range(40)], "start": D(2026, 9, 1)}
    text = cp.render_course_file("course_x2026", data, "# comment\n---\n")
    assert text.startswith("# comment\n---\ncourse_x2026:\n  name: \"A: B\"\n")
    assert "  instructors: [t1, t2]\n" in text and "  resources: {memory: 2G, cpus: 2.5}\n" in text
    assert "  schedule:\n    - {date: \"2026-09-07\", kind: lecture, what: Intro}\n" in text
    assert "  long:\n    - user000\n" in text  # too long for one line: a block list
    assert all(len(line) <= 120 for line in text.splitlines())
    loaded = yaml.safe_load(text)["course_x2026"]
    assert loaded == dict(data, start="2026-09-01")


def test_leading_block_keeps_comments_and_adds_a_document_start():
    text = "# one\n# two\n---\n# three\ncourse_x2026:\n  # inner\n  name: x  # trailing\n"
    assert cp.leading_block(text) == "# one\n# two\n---\n# three\n"
    assert cp.inner_comments(text) == 1
    assert cp.leading_comments("# yaml-language-server: $schema=x\n# why\n---\ncourse_x2026:\n") == ["# why"]
    assert cp.leading_block("course_x2026:\n  name: x\n") == "---\n"
    assert cp.leading_block("# only\n\ncourse_x2026: {}\n") == "# only\n---\n"


def copy_samples(tmp_path):
    target = tmp_path / "courses"
    shutil.copytree(SAMPLES_DIR, target)
    return target


@pytest.mark.parametrize("slug, new", [("mlbp2026", "mlbp2027"), ("deeplearn2026", "deeplearn2027"),
                                       ("oldstats2025", "oldstats2026"), ("privsec2026", "privsec2027")])
def test_coursectl_renew_each_sample_validates(tmp_path, slug, new):
    courses = copy_samples(tmp_path)
    result = coursectl("renew", slug, new, "--courses-dir", str(courses))
    assert result.returncode == 0, result.stderr
    text = (courses / (new + ".yml")).read_text(encoding="utf-8")
    original = (courses / (slug + ".yml")).read_text(encoding="utf-8")
    # leading comments kept, key renamed, gid dropped
    assert text.startswith(original[:original.index("course_")])
    assert ("\ncourse_%s:\n" % new) in text and "gid:" not in text
    # the whole directory, old and new courses together, validates
    entries, problems = course_files.load_paths([str(courses)])
    renewed, model_problems = m.validate_courses(entries)
    assert problems + model_problems == []
    old, fresh = {c["slug"]: c for c in renewed}[slug], {c["slug"]: c for c in renewed}[new]
    assert fresh["start"] == cp.shift_date(old["start"], 1) and fresh["end"] == cp.shift_date(old["end"], 1)
    assert [e["date"] for e in fresh["schedule"]] == [cp.shift_date(e["date"], 1) for e in old["schedule"]]
    assert fresh["students"] == [] and fresh["gid"] is None
    assert fresh["state"] in ("public", "private")
    lint = subprocess.run([sys.executable, "-m", "yamllint", "-s", "-c", os.path.join(REPO_ROOT, ".yamllint"),
                           str(courses / (new + ".yml"))], capture_output=True, text=True, check=False)
    assert lint.returncode == 0, lint.stdout


def test_coursectl_renew_moves_an_explicit_expires_and_keeps_private(tmp_path):
    courses = copy_samples(tmp_path)
    assert coursectl("renew", "privsec2026", "privsec2028", "--years", "2", "--courses-dir",
                     str(courses)).returncode == 0
    data = yaml.safe_load((courses / "privsec2028.yml").read_text(encoding="utf-8"))["course_privsec2028"]
    assert (data["state"], data["start"], data["end"], data["expires"]) == (
        "private", "2028-10-01", "2028-12-11", "2029-03-31")
    assert data["schedule"] == [{"date": "2028-11-20 12:00", "kind": "deadline", "what": "Lab report"}]


@pytest.mark.parametrize("args, message", [
    (["mlbp2026", "deeplearn2026"], "exists already"),
    (["mlbp2026", "mlbp27"], "not a valid slug"),
    (["mlbp2026", "mlbp2026"], "must differ"),
    (["nope2026", "nope2027"], "cannot read course nope2026"),
])
def test_coursectl_renew_refuses(tmp_path, args, message):
    courses = copy_samples(tmp_path)
    before = sorted(os.listdir(courses))
    result = coursectl("renew", *args, "--courses-dir", str(courses))
    assert result.returncode == 2 and message in result.stderr
    assert sorted(os.listdir(courses)) == before


def test_coursectl_renew_writes_nothing_that_would_not_validate(tmp_path):
    courses = tmp_path / "courses"
    courses.mkdir()
    (courses / "demo2026.yml").write_text(course_text("demo2026"), encoding="utf-8")
    # a valid slug whose students group name would exceed 32 characters
    long_slug = "averyveryverylongcourse2027"
    result = coursectl("renew", "demo2026", long_slug, "--courses-dir", str(courses))
    assert result.returncode == 1 and "too long" in result.stderr and "nothing written" in result.stderr
    assert not (courses / (long_slug + ".yml")).exists()
