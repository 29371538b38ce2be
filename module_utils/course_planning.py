# -*- coding: utf-8 -*-
"""Planning around courses for operations: calendar, load forecast, maintenance windows, expiry, renewal.

Pure functions over the validated courses of ``course_model.validate_courses``
(and, for renewal, over the raw data of one course file): no file I/O, no
clock (callers pass ``today`` or a timestamp), standard library only.
``bin/coursectl`` reads the files and writes the results; docs/operations.md
is the guide for people.

Calendar (``ics_calendar``)
---------------------------
RFC 5545, written here line by line: CRLF line ends, lines folded at 75
octets (never inside a UTF-8 sequence), TEXT values escaped.  One VEVENT per
schedule entry of every course that is not absent.

* UID: ``<slug>-<YYYYMMDD>[T<HHMM>]-<kind>@coursehub``, stable across runs so
  a subscribed calendar updates events instead of duplicating them; a second
  entry with the same slug, date and kind gets ``-2``, ``-3`` (in the model's
  sorted order).
* Times: the course file's ``"YYYY-MM-DD HH:MM"`` is local time at the
  university, so it is written as a *floating* time (no ``Z``, no TZID):
  every client shows 16:00 as 16:00.  A timed entry has no DTEND: RFC 5545
  makes it an instant (a deadline is one; lectures and exams have no length
  in the course file, and inventing one would be wrong).
* A date without a time is an all-day event: ``DTSTART;VALUE=DATE`` and
  ``DTEND`` the next day (DTEND is exclusive).
* DTSTAMP is the time the calendar was written, in UTC (the caller's clock,
  or SOURCE_DATE_EPOCH for a reproducible file).

Load forecast (``forecast``)
----------------------------
A deliberately simple model that anyone can check by hand.  For each public
or private course with a ``load`` estimate and each day, the *share* of its
``load.students`` who are using the hub at the busiest moment of that day is
the largest of:

========================  ==========  ==============================================
applies                   share (%)   constant
========================  ==========  ==============================================
start <= day <= end       10          SHARE_COURSE_DAY (an ordinary course day)
a lecture that day        30          SHARE_LECTURE (students follow along)
the day before a deadline 35          SHARE_DEADLINE_EVE (the evening rush)
a deadline that day       50          SHARE_DEADLINE
an exam that day          80          SHARE_EXAM (nearly everyone at once)
an "other" entry that day 10          SHARE_OTHER
========================  ==========  ==============================================

Concurrent users of a course = ceil(students * share / 100), computed in
integers; its CPUs = users * cpu_per_student and its memory = users *
memory_per_student.  A day's demand is the sum over courses.  A day is
flagged when users, CPUs or memory exceed ``coursehub_capacity``.  Archived
and absent courses add nothing; weekends are not special (courses with weekend
deadlines are busy on weekends).

Maintenance windows (``maintenance_conflicts``)
-----------------------------------------------
A window conflicts with a schedule entry when it overlaps the entry's whole
calendar day, timed or not (students prepare before a lecture and keep
working after it), and for a deadline also the day before -- the same days
the load model counts.  Date-only window bounds cover whole days.

Renewal (``renew_course``, ``render_course_file``)
--------------------------------------------------
Next year's course file from this year's raw data; see ``renew_course``.
"""

import datetime
import json
import re
from xml.sax.saxutils import escape as xml_escape

from module_utils import course_model

# --------------------------------------------------------------------------
# Contacts, shared by every report
# --------------------------------------------------------------------------


def contacts(course):
    """Who to tell about a course: owner, deputies, contact (if not the owner), announce addresses."""
    parts = ["owner " + course["owner"]]
    if course["deputies"]:
        parts.append("deputies " + ", ".join(course["deputies"]))
    if course["contact"] != course["owner"]:
        parts.append("contact " + course["contact"])
    parts.append("announce " + (", ".join(course["announce"]) if course["announce"] else "(none)"))
    return "; ".join(parts)


def _live(courses):
    return [c for c in courses if c["state"] != "absent"]


# --------------------------------------------------------------------------
# Calendar (RFC 5545)
# --------------------------------------------------------------------------

ICS_PRODID = "-//coursehub//coursectl calendar//EN"
UID_DOMAIN = "coursehub"


def ics_escape(text):
    """TEXT value escaping (RFC 5545 3.3.11)."""
    return (str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def ics_fold(line, limit=75):
    """Fold a content line into lines of at most limit octets; continuation lines start with a space."""
    out, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append("".join(current))
            current, size = [" "], 1
        current.append(char)
        size += width
    out.append("".join(current))
    return "\r\n".join(out) + "\r\n"


def event_uid(event, seen=None):
    """Stable UID from slug, date (and time) and kind; seen (a dict) numbers repeats."""
    stamp = event["date"].replace("-", "").replace(":", "").replace(" ", "T")
    base = "%s-%s-%s" % (event["course"], stamp, event["kind"])
    if seen is not None:
        seen[base] = seen.get(base, 0) + 1
        if seen[base] > 1:
            base = "%s-%d" % (base, seen[base])
    return "%s@%s" % (base, UID_DOMAIN)


def event_summary(event):
    """'mlbp2026 deadline: Round 1', or 'mlbp2026 exam' when the entry has no title of its own."""
    if event["what"] == event["kind"]:
        return "%s %s" % (event["course"], event["kind"])
    return "%s %s: %s" % (event["course"], event["kind"], event["what"])


def event_description(course):
    lines = [course["name"], "Owner: " + course["owner"]]
    if course["deputies"]:
        lines.append("Deputies: " + ", ".join(course["deputies"]))
    lines.append("Contact: " + course["contact"])
    if course["announce"]:
        lines.append("Announce: " + ", ".join(course["announce"]))
    return "\n".join(lines)


def _utc_stamp(moment):
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y%m%dT%H%M%SZ")


def ics_calendar(courses, dtstamp, name="coursehub courses"):
    """The service calendar: every schedule entry of every course that is not absent, as ICS text.

    dtstamp: a datetime (aware, or naive meaning UTC) for every DTSTAMP.
    """
    by_slug = {course["slug"]: course for course in courses}
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:" + ICS_PRODID, "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             "X-WR-CALNAME:" + ics_escape(name)]
    seen = {}
    for event in course_model.calendar_events(courses):
        course = by_slug[event["course"]]
        lines += ["BEGIN:VEVENT", "UID:" + event_uid(event, seen), "DTSTAMP:" + _utc_stamp(dtstamp)]
        if " " in event["date"]:
            moment = datetime.datetime.strptime(event["date"], "%Y-%m-%d %H:%M")
            lines.append("DTSTART:" + moment.strftime("%Y%m%dT%H%M%S"))
        else:
            day = datetime.date.fromisoformat(event["date"])
            lines += ["DTSTART;VALUE=DATE:" + day.strftime("%Y%m%d"),
                      "DTEND;VALUE=DATE:" + (day + datetime.timedelta(days=1)).strftime("%Y%m%d")]
        lines += ["SUMMARY:" + ics_escape(event_summary(event)),
                  "DESCRIPTION:" + ics_escape(event_description(course)),
                  "CATEGORIES:" + ics_escape(event["kind"]),
                  "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) for line in lines)


# --------------------------------------------------------------------------
# Load forecast
# --------------------------------------------------------------------------

SHARE_COURSE_DAY = 10
SHARE_LECTURE = 30
SHARE_DEADLINE_EVE = 35
SHARE_DEADLINE = 50
SHARE_EXAM = 80
SHARE_OTHER = 10
EVENT_SHARES = {"lecture": SHARE_LECTURE, "deadline": SHARE_DEADLINE, "exam": SHARE_EXAM, "other": SHARE_OTHER}
LOAD_STATES = ("public", "private")
RESOURCES = ("users", "cpus", "memory")


def check_capacity(value, source="coursehub_capacity"):
    """{cpus, memory, memory_bytes, users} from the inventory value; ValueError naming the key otherwise."""
    if not isinstance(value, dict):
        raise ValueError("%s: expected a mapping {cpus: N, memory: \"64G\", users: N}, got %s"
                         % (source, course_model.type_name(value)))
    unknown = sorted(set(value) - {"cpus", "memory", "users"})
    if unknown:
        raise ValueError("%s: unknown key(s) %s" % (source, ", ".join(unknown)))
    missing = [key for key in ("cpus", "memory", "users") if key not in value]
    if missing:
        raise ValueError("%s: %s missing" % (source, ", ".join(missing)))
    cpus, memory, users = value["cpus"], value["memory"], value["users"]
    if isinstance(cpus, bool) or not isinstance(cpus, (int, float)) or cpus <= 0:
        raise ValueError("%s.cpus: %r is not a number greater than 0" % (source, cpus))
    if (not isinstance(memory, str) or not course_model.MEMORY_RE.match(memory)
            or course_model.memory_bytes(memory) <= 0):
        raise ValueError("%s.memory: %r is not a size like 64G" % (source, memory))
    if isinstance(users, bool) or not isinstance(users, int) or users <= 0:
        raise ValueError("%s.users: %r is not an integer greater than 0" % (source, users))
    return {"cpus": float(cpus), "memory": memory, "memory_bytes": course_model.memory_bytes(memory), "users": users}


def _event_day(event):
    return datetime.date.fromisoformat(event["date"][:10])


def course_share(course, day):
    """(share in percent, reason) of a course's students active on day; (0, None) when none."""
    day_s = day.isoformat()
    best = (SHARE_COURSE_DAY, "course day") if course["start"] <= day_s <= course["end"] else (0, None)
    eve = day + datetime.timedelta(days=1)
    for event in course["schedule"]:
        when = _event_day(event)
        if when == day:
            candidate = (EVENT_SHARES[event["kind"]], event["kind"])
        elif when == eve and event["kind"] == "deadline":
            candidate = (SHARE_DEADLINE_EVE, "day before deadline")
        else:
            continue
        if candidate[0] > best[0]:
            best = candidate
    return best


def concurrent_users(students, share):
    """ceil(students * share / 100) in integers (no float rounding at 0.3 * 300)."""
    return -(-students * share // 100)


def load_courses(courses):
    """(counted, skipped) : courses in the forecast, and [(slug, why)] for the others."""
    counted, skipped = [], []
    for course in courses:
        if course["state"] not in LOAD_STATES:
            skipped.append((course["slug"], course["state"]))
        elif course["load"] is None:
            skipped.append((course["slug"], "no load estimate"))
        else:
            counted.append(course)
    return counted, skipped


def default_span(courses):
    """(first, last) day of the counted courses and their schedules, or None without any."""
    counted, _ = load_courses(courses)
    days = [datetime.date.fromisoformat(c[key]) for c in counted for key in ("start", "end")]
    days += [_event_day(e) for c in counted for e in c["schedule"]]
    return (min(days), max(days)) if days else None


def forecast(courses, capacity, first, last):
    """The per-day forecast from first to last (inclusive); see the module docstring for the model.

    capacity: check_capacity()'s result.  Returns {"capacity", "first", "last",
    "courses": [counted slugs], "skipped": [(slug, why)], "days": [{date, users,
    cpus, memory_bytes, over: [resources], courses: [(slug, users, reason)]}]}.
    """
    if last < first:
        raise ValueError("the forecast ends (%s) before it starts (%s)" % (last, first))
    counted, skipped = load_courses(courses)
    days = []
    day = first
    while day <= last:
        record = {"date": day, "users": 0, "cpus": 0.0, "memory_bytes": 0, "courses": []}
        for course in counted:
            share, reason = course_share(course, day)
            users = concurrent_users(course["load"]["students"], share)
            if not users:
                continue
            record["users"] += users
            record["cpus"] += users * course["load"]["cpu_per_student"]
            record["memory_bytes"] += users * course["load"]["memory_per_student_bytes"]
            record["courses"].append((course["slug"], users, reason))
        record["over"] = over_capacity(record, capacity)
        days.append(record)
        day += datetime.timedelta(days=1)
    return {"capacity": capacity, "first": first, "last": last, "courses": [c["slug"] for c in counted],
            "skipped": skipped, "days": days}


def over_capacity(record, capacity):
    over = []
    if record["users"] > capacity["users"]:
        over.append("users")
    if record["cpus"] > capacity["cpus"] + 1e-9:
        over.append("cpus")
    if record["memory_bytes"] > capacity["memory_bytes"]:
        over.append("memory")
    return over


def fmt_gib(size):
    return "%.1fG" % (size / (1 << 30))


def fmt_num(value):
    return "%d" % value if float(value).is_integer() else "%.2f" % value


def render_load_table(result, inventory="inventory"):
    """The forecast as a plain-text table with a summary of flagged days."""
    cap = result["capacity"]
    out = ["Load forecast %s .. %s" % (result["first"], result["last"]),
           "Capacity (%s): %d users, %s CPUs, %s memory" % (inventory, cap["users"], fmt_num(cap["cpus"]),
                                                            cap["memory"]),
           "Counted: %s" % (", ".join(result["courses"]) or "no course (none has a load estimate)")]
    if result["skipped"]:
        out.append("Not counted: " + ", ".join("%s (%s)" % item for item in result["skipped"]))
    out += ["", "%-10s  %-3s  %6s  %7s  %8s  %-17s  %s" % ("date", "day", "users", "cpus", "memory", "over capacity",
                                                          "courses (users, why)")]
    for day in result["days"]:
        why = ", ".join("%s %d (%s)" % item for item in day["courses"])
        out.append(("%-10s  %-3s  %6d  %7s  %8s  %-17s  %s" % (
            day["date"].isoformat(), day["date"].strftime("%a"), day["users"], fmt_num(day["cpus"]),
            fmt_gib(day["memory_bytes"]), ",".join(day["over"]) or "-", why)).rstrip())
    flagged = [day for day in result["days"] if day["over"]]
    out.append("")
    if flagged:
        out.append("%d day(s) over capacity: %s" % (len(flagged), ", ".join(
            "%s (%s)" % (day["date"].isoformat(), ",".join(day["over"])) for day in flagged)))
    else:
        out.append("No day over capacity.")
    return "\n".join(out) + "\n"


def percent_of_capacity(day, capacity):
    """{resource: demand as % of capacity} of one forecast day."""
    return {"users": 100.0 * day["users"] / capacity["users"],
            "cpus": 100.0 * day["cpus"] / capacity["cpus"],
            "memory": 100.0 * day["memory_bytes"] / capacity["memory_bytes"]}


SVG_SIZE = (980, 440)
SVG_MARGIN = {"left": 70, "right": 200, "top": 50, "bottom": 60}
SVG_COLOURS = {"users": "#1f77b4", "cpus": "#ff7f0e", "memory": "#2ca02c", "capacity": "#d62728"}
SVG_LABELS = {"users": "concurrent users", "cpus": "CPUs", "memory": "memory"}


def chart_top(peak):
    """Upper end of the y axis in percent: at least 100, a round number above the peak."""
    step = 25 if peak <= 100 else 50 if peak <= 300 else 100
    top = step * -(-max(peak, 100.0) // step)
    return float(top), float(step)


def render_load_svg(result, title=None):
    """The forecast as an SVG line chart: demand of each resource as % of capacity, the capacity line at
    100%, days over capacity shaded and marked.  Written by hand (no plotting library)."""
    cap, days = result["capacity"], result["days"]
    width, height = SVG_SIZE
    left, right, top, bottom = (SVG_MARGIN[k] for k in ("left", "right", "top", "bottom"))
    plot_w, plot_h = width - left - right, height - top - bottom
    series = [percent_of_capacity(day, cap) for day in days]
    peak = max([max(p.values()) for p in series] + [0.0])
    ymax, ystep = chart_top(peak)
    slot = plot_w / max(len(days), 1)

    def x(i):
        return left + slot * (i + 0.5)

    def y(pct):
        return top + plot_h * (1 - pct / ymax)

    title = title or "Load forecast %s .. %s" % (result["first"], result["last"])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
           'font-family="sans-serif" font-size="12">' % (width, height, width, height),
           '<title>%s</title>' % xml_escape(title),
           '<rect x="0" y="0" width="%d" height="%d" fill="#ffffff"/>' % (width, height),
           '<text x="%d" y="24" font-size="16" font-weight="bold">%s</text>' % (left, xml_escape(title))]
    # shaded days over capacity (drawn first, under the lines)
    for i, day in enumerate(days):
        if day["over"]:
            out.append('<rect class="over" x="%.1f" y="%d" width="%.1f" height="%d" fill="#d62728" '
                       'fill-opacity="0.12"><title>%s over capacity: %s</title></rect>'
                       % (left + slot * i, top, slot, plot_h, day["date"].isoformat(), ", ".join(day["over"])))
    # y grid and labels
    level = 0.0
    while level <= ymax + 1e-9:
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#dddddd"/>'
                   % (left, y(level), left + plot_w, y(level)))
        out.append('<text x="%d" y="%.1f" text-anchor="end">%d%%</text>' % (left - 6, y(level) + 4, level))
        level += ystep
    # x ticks: the first of each month (and the first day)
    for i, day in enumerate(days):
        if i == 0 or day["date"].day == 1:
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999999"/>'
                       % (x(i), top + plot_h, x(i), top + plot_h + 5))
            out.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                       % (x(i), top + plot_h + 18, day["date"].strftime("%d %b %Y" if i == 0 else "%b %Y")))
    # axes and their labels
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000000"/>' % (left, top, left, top + plot_h))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000000"/>'
               % (left, top + plot_h, left + plot_w, top + plot_h))
    out.append('<text class="axis-label" x="%.1f" y="%d" text-anchor="middle">date</text>'
               % (left + plot_w / 2, height - 16))
    out.append('<text class="axis-label" x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">'
               'demand as %% of host capacity</text>' % (top + plot_h / 2, top + plot_h / 2))
    # capacity line
    out.append('<line class="capacity" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="2" '
               'stroke-dasharray="6 4"/>' % (left, y(100), left + plot_w, y(100), SVG_COLOURS["capacity"]))
    # demand lines
    for resource in RESOURCES:
        points = " ".join("%.1f,%.1f" % (x(i), y(p[resource])) for i, p in enumerate(series))
        out.append('<polyline class="demand" data-resource="%s" points="%s" fill="none" stroke="%s" '
                   'stroke-width="1.5"/>' % (resource, points, SVG_COLOURS[resource]))
    # markers on flagged days, at the highest resource over capacity
    for i, day in enumerate(days):
        if day["over"]:
            pct = max(series[i][r] for r in day["over"])
            out.append('<circle class="flag" cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s: %s</title></circle>'
                       % (x(i), y(pct), SVG_COLOURS["capacity"], day["date"].isoformat(), ", ".join(day["over"])))
    # legend
    lx, ly = left + plot_w + 16, top + 10
    entries = [(SVG_LABELS[r], None, SVG_COLOURS[r], "") for r in RESOURCES]
    entries.append(("capacity", "%d users, %s CPUs, %s" % (cap["users"], fmt_num(cap["cpus"]), cap["memory"]),
                    SVG_COLOURS["capacity"], ' stroke-dasharray="6 4"'))
    for n, (label, detail, colour, dash) in enumerate(entries):
        ey = ly + 20 * n
        out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"%s/>'
                   % (lx, ey, lx + 20, ey, colour, dash))
        out.append('<text x="%d" y="%d">%s</text>' % (lx + 26, ey + 4, xml_escape(label)))
        if detail:
            out.append('<text x="%d" y="%d" font-size="10">%s</text>' % (lx + 26, ey + 18, xml_escape(detail)))
    ey = ly + 20 * len(entries) + 20
    out.append('<rect x="%d" y="%d" width="20" height="12" fill="#d62728" fill-opacity="0.12"/>' % (lx, ey - 8))
    out.append('<text x="%d" y="%d">over capacity</text>' % (lx + 26, ey + 2))
    out.append("</svg>")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Maintenance windows
# --------------------------------------------------------------------------

_MOMENT_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S")


def parse_moment(text, end=False):
    """A window bound: 'YYYY-MM-DD' (the day's start, or with end=True the next day's start) or a local datetime."""
    text = text.strip()
    if course_model.DATE_RE.match(text):
        try:
            day = datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError("%r is not a valid date" % text) from None
        return datetime.datetime.combine(day + datetime.timedelta(days=1 if end else 0), datetime.time())
    for fmt in _MOMENT_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueError("%r is not a date YYYY-MM-DD or a time 'YYYY-MM-DD HH:MM'" % text)


def parse_window(text):
    """'START..END' -> (start, end) datetimes, end exclusive; a date-only END includes that whole day."""
    if text.count("..") != 1:
        raise ValueError("%r is not a window START..END" % text)
    start_text, end_text = text.split("..")
    start, end = parse_moment(start_text), parse_moment(end_text, end=True)
    if end <= start:
        raise ValueError("the window %r ends before it starts" % text)
    return start, end


def event_span(event):
    """(start, end) of the time a schedule entry makes sensitive: its day, and for a deadline the day before."""
    day = _event_day(event)
    first = day - datetime.timedelta(days=1) if event["kind"] == "deadline" else day
    return (datetime.datetime.combine(first, datetime.time()),
            datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time()))


def maintenance_conflicts(courses, start, end):
    """[(course, [events])] of courses (not absent) with schedule entries whose span overlaps [start, end)."""
    by_slug = {c["slug"]: c for c in courses}
    hits = {}
    for event in course_model.calendar_events(courses):
        first, last = event_span(event)
        if first < end and start < last:
            hits.setdefault(event["course"], []).append(event)
    return [(by_slug[slug], events) for slug, events in sorted(hits.items())]


def _fmt_moment(moment):
    return moment.strftime("%Y-%m-%d %H:%M")


def render_maintenance(conflicts, start, end):
    out = ["Maintenance window %s .. %s (local time, end exclusive)" % (_fmt_moment(start), _fmt_moment(end))]
    if not conflicts:
        out.append("No conflicts: no lecture, deadline or exam of any course falls in the window "
                   "(deadlines count from the day before).")
        return "\n".join(out) + "\n"
    out.append("%d course(s) with conflicts:" % len(conflicts))
    for course, events in conflicts:
        out += ["", "%s (%s, %s)" % (course["slug"], course["name"], course["state"]),
                "  notify: " + contacts(course)]
        out += ["  - %s %s%s" % (e["date"], e["kind"], "" if e["what"] == e["kind"] else ": " + e["what"])
                for e in events]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Expiry
# --------------------------------------------------------------------------

def expiry_report(courses, today, within=30):
    """{"expired": [courses past expires], "expiring": [(course, days left)]} of courses that are not absent."""
    horizon = today + datetime.timedelta(days=within)
    expired, expiring = [], []
    for course in sorted(_live(courses), key=lambda c: (c["expires"], c["slug"])):
        expires = datetime.date.fromisoformat(course["expires"])
        if expires < today:
            expired.append(course)
        elif expires <= horizon:
            expiring.append((course, (expires - today).days))
    return {"expired": expired, "expiring": expiring}


def expiry_action(course):
    if course["state"] == "archived":
        return ("archived: once the owner agrees, set state: absent with purge: true "
                "(archives the data to a tarball, then deletes it from the host)")
    return "still %s: archive it (state: archived) or renew it (coursectl renew)" % course["state"]


def render_expiry(report, today, within):
    out = ["Course expiry on %s (expiring: within %d days)" % (today.isoformat(), within)]
    if not report["expired"] and not report["expiring"]:
        out.append("Nothing expired or expiring.")
        return "\n".join(out) + "\n"
    out += ["", "Expired (%d):" % len(report["expired"])]
    if not report["expired"]:
        out.append("- none")
    for course in report["expired"]:
        out += ["- %s (%s): expired %s; %s" % (course["slug"], course["name"], course["expires"],
                                               expiry_action(course)),
                "  notify: " + contacts(course)]
    out += ["", "Expiring within %d days (%d):" % (within, len(report["expiring"]))]
    if not report["expiring"]:
        out.append("- none")
    for course, left in report["expiring"]:
        out += ["- %s (%s, %s): expires %s, in %d day(s); renew it or let it be archived"
                % (course["slug"], course["name"], course["state"], course["expires"], left),
                "  notify: " + contacts(course)]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------
# Renewal: next year's course file
# --------------------------------------------------------------------------

def check_new_slug(slug, new_slug):
    """None if new_slug may name the renewed course, else why not (existence is the caller's check)."""
    if not course_model.SLUG_RE.match(new_slug):
        return ("%r is not a valid slug: a name followed by a year, like mlbp2027 "
                "(lower case letters and digits, ending in four digits)" % new_slug)
    if new_slug == slug:
        return "the new slug must differ from %r" % slug
    return None


def shift_date(value, years):
    """A course-file date (date, datetime, 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM') moved by years, as a string.

    29 February becomes 28 February in a year without it.  A value that is not
    a date is returned unchanged (validation reports it).
    """
    if isinstance(value, datetime.datetime):
        moved = course_model.add_months(value.date(), 12 * years)
        return "%s %s" % (moved.isoformat(), value.strftime("%H:%M"))
    if isinstance(value, datetime.date):
        return course_model.add_months(value, 12 * years).isoformat()
    if isinstance(value, str) and course_model.SCHEDULE_DATE_RE.match(value):
        try:
            day = datetime.date.fromisoformat(value[:10])
        except ValueError:
            return value
        return course_model.add_months(day, 12 * years).isoformat() + value[10:]
    return value


_YEAR_RE = re.compile(r"\b(19|20|21)[0-9]{2}\b")


def renew_course(data, slug, new_slug, years=1):
    """(data of the new course, notes for the person renewing) from the raw data of course_<slug>.

    * start, end, an explicit expires and every schedule date move by years
      (29 February -> 28 February); an implicit expires follows the new end.
    * students are cleared (a new cohort); a public course that admitted only
      its students (allow_non_students: false) would then be invalid, so it
      becomes private -- closed rather than open -- until students are listed.
    * state: public and private are kept; archived and absent become public,
      because a renewed course is one that runs again (purge is dropped).
    * gid is dropped: gids are unique across courses.
    * everything else (instructors, resources, load...) is kept.
    """
    out, notes = {}, []
    for key, value in data.items():
        out[key] = value
    for key in ("start", "end", "expires"):
        if key in out:
            out[key] = shift_date(out[key], years)
    if isinstance(out.get("schedule"), list):
        out["schedule"] = [dict(entry, date=shift_date(entry.get("date"), years)) if isinstance(entry, dict)
                           else entry for entry in out["schedule"]]
        moved = _weekday_changes(data["schedule"], out["schedule"])
        if moved:
            notes.append("schedule dates moved by %d year(s) and now fall on other weekdays (%s): "
                         "check them against next year's teaching calendar" % (years, moved))
    state = out.get("state", "public")
    if state in ("archived", "absent"):
        out["state"] = "public"
        notes.append("state %s became public: the renewed course runs again" % state)
    if out.pop("purge", None) is not None:
        notes.append("purge dropped (it belongs to the old course only)")
    if out.get("students"):
        out["students"] = []
        notes.append("students cleared: list next year's students, or leave the list empty to admit "
                     "anyone who can log in")
        if out.get("state", "public") == "public" and out.get("allow_non_students") is False:
            out["state"] = "private"
            del out["allow_non_students"]
            notes.append("the course admitted only its listed students (allow_non_students: false); with no "
                         "students listed that is only valid as state: private, so it is private until you "
                         "list students and set state: public, allow_non_students: false again")
    if "gid" in out:
        notes.append("gid %s dropped: gids must be unique across courses, and %s keeps it; ask the "
                     "administrators for a new one if NFS clients need a fixed gid" % (out.pop("gid"), slug))
    if isinstance(out.get("name"), str) and _YEAR_RE.search(out["name"]):
        notes.append("the name %s mentions a year: update it by hand" % json.dumps(out["name"]))
    if isinstance(out.get("test_file"), str) and slug in out["test_file"]:
        notes.append("test_file %s names the old course: copy or rename that test" % out["test_file"])
    return out, notes


def _weekday_changes(old_schedule, new_schedule):
    shifts = set()
    for old, new in zip(old_schedule, new_schedule):
        if not isinstance(old, dict) or not isinstance(new, dict):
            continue
        try:
            before = datetime.date.fromisoformat(shift_date(old.get("date"), 0)[:10])
            after = datetime.date.fromisoformat(str(new.get("date"))[:10])
        except (TypeError, ValueError):
            continue
        if before.weekday() != after.weekday():
            shifts.add("%s %s %s" % (before.strftime("%a"), "\u2192", after.strftime("%a")))
    return ", ".join(sorted(shifts))


def _leading_lines(text):
    """The lines before a course file's first key: comments, blank lines, '---' and directives."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped == "" or stripped.startswith("#") or stripped == "---" or stripped.startswith("%"):
            lines.append(line.rstrip())
        else:
            break
    return lines


def leading_block(text):
    """The comment lines (and blank lines, '---', directives) before a course file's first key.

    Always ends with the document start '---' (yamllint wants one).
    """
    lines = _leading_lines(text)
    while lines and lines[-1] == "":
        lines.pop()
    if "---" not in (line.strip() for line in lines):
        lines.append("---")
    return "\n".join(lines) + "\n"


def leading_comments(text):
    """The comment lines of the leading block, other than the editor's schema line."""
    return [line for line in _leading_lines(text)
            if line.strip().startswith("#") and "yaml-language-server:" not in line]


def inner_comments(text):
    """How many comment lines follow the leading block (they are not carried over)."""
    body = text.splitlines()[len(_leading_lines(text)):]
    return sum(1 for line in body if line.strip().startswith("#"))


# YAML 1.1 words PyYAML would read as booleans or null if unquoted.
_YAML_WORDS = {"y", "n", "yes", "no", "true", "false", "on", "off", "null", "~"}
_PLAIN_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.@+-]*$")
_PLAIN_SIZE_RE = re.compile(r"^[0-9]+(\.[0-9]+)?[KMGT]$")
LINE_LIMIT = 120


def yaml_scalar(value):
    """A scalar as YAML: plain when it cannot be misread, else a double-quoted (JSON-escaped) string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime.datetime):
        return json.dumps(value.strftime("%Y-%m-%d %H:%M"))
    if isinstance(value, datetime.date):
        return json.dumps(value.isoformat())
    text = str(value)
    if (_PLAIN_RE.match(text) and text.lower() not in _YAML_WORDS) or _PLAIN_SIZE_RE.match(text):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(value):
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (yaml_scalar(k), _flow(v)) for k, v in value.items())
    if isinstance(value, list):
        return "[%s]" % ", ".join(_flow(v) for v in value)
    return yaml_scalar(value)


def _emit(key, value, indent):
    pad = " " * indent
    head = "%s%s:" % (pad, yaml_scalar(key))
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        lines = [head]
        for item in value:
            flow = "%s  - %s" % (pad, _flow(item))
            if len(flow) <= LINE_LIMIT:
                lines.append(flow)
            else:
                sub = [line for k, v in item.items() for line in _emit(k, v, indent + 4)]
                lines.append("%s  - %s" % (pad, sub[0].lstrip()))
                lines.extend(sub[1:])
        return lines
    if isinstance(value, (list, dict)):
        flow = "%s %s" % (head, _flow(value))
        if len(flow) <= LINE_LIMIT or not value:
            return [flow]
        if isinstance(value, dict):
            return [head] + [line for k, v in value.items() for line in _emit(k, v, indent + 2)]
        return [head] + ["%s  - %s" % (pad, _flow(v)) for v in value]
    return ["%s %s" % (head, yaml_scalar(value))]


def render_course_file(key, data, leading="---\n"):
    """A course file in the samples' style: leading comments, the key, one line per field, flow lists."""
    lines = ["%s:" % key]
    for name, value in data.items():
        lines.extend(_emit(name, value, 2))
    return leading + "\n".join(lines) + "\n"
