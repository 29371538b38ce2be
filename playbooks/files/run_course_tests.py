#!/usr/bin/env python3
"""Run each course's environment test in the shared environment; print a JSON report.

argv: the environment's directory, then one "<slug>=<path>" per course. A .py
file runs with the environment's python; an .ipynb runs through nbconvert
(--execute). Each runs as nobody, in a fresh temporary directory, with a
timeout, so a test can neither change the environment nor read course data.
"""
import json
import os
import subprocess
import sys
import tempfile

TIMEOUT = 600


def run(env, path):
    if path.endswith(".ipynb"):
        argv = [os.path.join(env, "bin", "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                "--output-dir", ".", "--ExecutePreprocessor.timeout=%d" % TIMEOUT, path]
    else:
        argv = [os.path.join(env, "bin", "python"), path]
    with tempfile.TemporaryDirectory() as work:
        os.chmod(work, 0o1777)
        try:
            done = subprocess.run(["/usr/sbin/runuser", "-u", "nobody", "--"] + argv, cwd=work, capture_output=True,
                                  text=True, timeout=TIMEOUT, env={"PATH": "/usr/bin:/bin", "HOME": work})
        except subprocess.TimeoutExpired:
            return {"passed": False, "output": "timed out after %d s" % TIMEOUT}
    return {"passed": done.returncode == 0, "output": (done.stdout + done.stderr)[-2000:]}


def main():
    env, pairs = sys.argv[1], sys.argv[2:]
    report = {}
    for pair in pairs:
        slug, path = pair.split("=", 1)
        report[slug] = run(env, path)
    print(json.dumps(report, sort_keys=True))


if __name__ == "__main__":
    main()
