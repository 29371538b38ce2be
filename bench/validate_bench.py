#!/usr/bin/env python3
"""Benchmark: load, validate and derive N generated course files.

    python3 bench/validate_bench.py [--courses 500] [--repeat 5]

Each generated course looks like a busy real one (instructors, a student list
of 40, a schedule of 16 entries, packages, load); every fourth course is
private and every tenth archived.  Prints the best of --repeat runs for each
phase.  It is a benchmark, not a test: the target is under 1 s for 500
courses on 2 cores, and the figure goes in docs/performance.md.
tests/unit/test_bench_smoke.py runs it at a tiny size, so that it keeps working.
"""

import argparse
import datetime
import os
import sys
import tempfile
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from module_utils import course_files, course_model  # noqa: E402 - needs the path above


def course_body(i):
    """A realistic, valid course: the fields course staff actually fill in."""
    start = datetime.date(2026, 9, 1)
    state = "archived" if i % 10 == 0 else "private" if i % 4 == 0 else "public"
    return {
        "name": "Generated course %d" % i,
        "state": state,
        "owner": "teacher%d" % i,
        "deputies": ["ta%d" % i],
        "instructors": ["teacher%d" % i, "ta%d" % i, "ta%d" % (i + 1)],
        "announce": ["teacher%d@uni.example" % i],
        "students": ["student%d" % (i * 40 + s) for s in range(40)],
        "gid": 72000 + i,
        "resources": {"memory": "2G", "cpus": 2},
        "packages": ["scikit-learn>=1.5", "pandas>=2,<3"],
        "shareddata": ["mnist"] if i % 3 == 0 else [],
        "load": {"students": 300, "cpu_per_student": 0.5, "memory_per_student": "2G", "data_gb": 5},
        "schedule": [{"date": start + datetime.timedelta(days=7 * w), "kind": "lecture"} for w in range(14)]
                    + [{"date": "2026-10-02 16:00", "kind": "deadline", "what": "Round 1"},
                       {"date": "2026-12-14", "kind": "exam"}],
        "start": start,
        "end": datetime.date(2026, 12, 18),
    }


def write_courses(directory, count):
    for i in range(count):
        slug = "gen%d2026" % i
        with open(os.path.join(directory, slug + ".yml"), "w", encoding="utf-8") as handle:
            handle.write("# yaml-language-server: $schema=../../schemas/course.schema.json\n")
            yaml.safe_dump({"course_" + slug: course_body(i)}, handle, sort_keys=False)


def run_once(directory):
    """Time each phase once; returns {phase: seconds}."""
    times = {}
    course_model._requirement.cache_clear()  # each run starts cold, as coursectl does
    t0 = time.perf_counter()
    entries, problems = course_files.load_paths([directory])
    t1 = time.perf_counter()
    courses, model_problems = course_model.validate_courses(entries)
    t2 = time.perf_counter()
    for derive in (course_model.desired_groups, course_model.desired_dirs, course_model.desired_profiles,
                   course_model.desired_exports, course_model.desired_shares):
        derive(courses)
    course_model.calendar_events(courses)
    t3 = time.perf_counter()
    if problems or model_problems or len(courses) != len(entries):
        raise SystemExit("generated courses did not validate: %s" % (problems + model_problems)[:3])
    times.update(load=t1 - t0, validate=t2 - t1, derive=t3 - t2, total=t3 - t0)
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        write_courses(directory, args.courses)
        runs = [run_once(directory) for _ in range(args.repeat)]
    best = {phase: min(run[phase] for run in runs) for phase in runs[0]}
    print("courses: %d, best of %d runs, %s, PyYAML %s (libyaml: %s), packaging: %s, %d CPUs"
          % (args.courses, args.repeat, sys.version.split()[0], yaml.__version__,
             "yes" if hasattr(yaml, "CSafeLoader") else "no", course_model.HAS_PACKAGING, os.cpu_count()))
    print("| phase | seconds | ms per course |")
    print("|---|---:|---:|")
    for phase, seconds in best.items():
        print("| %s | %.3f | %.2f |" % (phase, seconds, 1000 * seconds / args.courses))


if __name__ == "__main__":
    main()
