"""The course workflow in a real browser (issue 10): Debian's Chromium, driven
by Playwright, through the port the hub publishes on 127.0.0.1 only.

A student logs in through the login form, picks the course on the spawn form,
opens nbgrader's Assignments view in JupyterLab and fetches an assignment; an
instructor starts the course in instructor mode and sees it in Formgrader.
Each step leaves a screenshot in docs/screenshots/ (the README shows some).

Where the spawn takes the browser is checked against the hub's subdomain_host:
with it, JupyterLab runs on the user's own origin, https://<user>.<hub host>,
whose scripts cannot read the hub's pages; without it, under /user/<user>/ on
the hub's origin, whose scripts can.

The assignment is released here, by the instructor through the hub (pytest runs
this file before test_nbgrader.py), under its own name so that it never meets
test_nbgrader's ps1; the teardown takes it back out of the exchange, the course
directory, the gradebook and the student's home.
"""
import base64
import hashlib
import re
import time
import urllib.parse

import pytest
from conftest import BASE_URL, PROJECT, HubSession
from hubclient import Server, nbgrader_cell, origin
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

COURSE = "mlbp2026"
ASSIGNMENT = "browser1"
INSTRUCTOR = "teacher1"
STUDENT = "student1"
CHROMIUM = "/usr/bin/chromium"
SHOTS = PROJECT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}
TIMEOUT_MS = 180_000  # a first spawn of a course server, JupyterLab's first load
# Chromium talks to the hub and nothing else: no updates, no sync, no Google services, no proxy.
CHROMIUM_ARGS = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-sync",
    "--disable-extensions",
    "--disable-features=OptimizationHints,MediaRouter,Translate,AutofillServerCommunication",
    "--metrics-recording-only",
    "--no-default-browser-check",
    "--no-first-run",
    "--no-pings",
    "--no-proxy-server",
    "--password-store=basic",
]

SOURCE_NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "cells": [
        nbgrader_cell("markdown", "Write `double(x)`, which returns twice `x`.",
                      grade=False, solution=False, locked=True, grade_id="intro"),
        nbgrader_cell("code", "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n",
                      grade=False, solution=True, locked=False, grade_id="double"),
        nbgrader_cell("code", "assert double(2) == 4\n", grade=True, solution=False, locked=True, points=1,
                      grade_id="test_double"),
    ],
}
for _cell in SOURCE_NOTEBOOK["cells"]:  # nbformat 4.5: every cell has an id
    _cell["id"] = _cell["metadata"]["nbgrader"]["grade_id"]


def spki_sha256(cert_file):
    """base64(SHA-256 of the certificate's SubjectPublicKeyInfo), the form Chromium pins."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    with open(cert_file, "rb") as handle:
        cert = x509.load_pem_x509_certificate(handle.read())
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


class Instructor(Server):
    """The instructor's course server in instructor mode, reached over the hub's HTTPS."""

    def __init__(self, ca_file, password):
        session = HubSession(ca_file)
        assert session.login(INSTRUCTOR, password).status_code == 302
        super().__init__(session, INSTRUCTOR, COURSE, ASSIGNMENT)

    def start(self):
        self.session.stop(INSTRUCTOR)
        response = self.session.spawn(f"{COURSE}:instructor")
        assert response.status_code == 200, f"{INSTRUCTOR} could not start {COURSE}:instructor: {response.status_code}"
        self.session.wait_for_server(INSTRUCTOR)

    def ensure_started(self):
        """Reuse a running instructor-mode server (the browser's), else start one."""
        servers = self.session.get(self.session.url("/hub/api/user")).json().get("servers") or {}
        options = (servers.get("") or {}).get("user_options") or {}
        if options.get("course") == COURSE and options.get("mode") == "instructor":
            self.session.wait_for_server(INSTRUCTOR)
        else:
            self.start()

    def release(self):
        self.mkdir("course/source")
        self.mkdir(f"course/source/{ASSIGNMENT}")
        self.put_file(f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", SOURCE_NOTEBOOK, kind="notebook")
        self.formgrader(f"assignment/{ASSIGNMENT}/assign")
        self.formgrader(f"assignment/{ASSIGNMENT}/release")

    def withdraw(self):
        """Unrelease, and drop the assignment from the gradebook and /course, as the instructor."""
        self.formgrader(f"assignment/{ASSIGNMENT}/unrelease")
        self.python(
            "import shutil, subprocess\n"
            f"subprocess.run(['nbgrader', 'db', 'assignment', 'remove', '{ASSIGNMENT}', '--force'],\n"
            "               check=True, capture_output=True)\n"
            "for d in ('source', 'release'):\n"
            f"    shutil.rmtree('/course/' + d + '/{ASSIGNMENT}', ignore_errors=True)\n"
        )


def student_copy(host):
    return f"{host.user(STUDENT).home}/{COURSE}/{ASSIGNMENT}"


@pytest.fixture(scope="module")
def released(ca_file, password, host):
    """browser1 released by the instructor; everything the module started is stopped and removed after."""
    outbound = f"/srv/nbgrader/exchange/{COURSE}/outbound/{ASSIGNMENT}"
    # Leftovers of an interrupted run would make the release refuse ("already exists").
    host.run(f"rm -rf {outbound} {student_copy(host)}")
    instructor = Instructor(ca_file, password)
    try:
        instructor.start()
        instructor.release()
        assert host.file(f"{outbound}/{ASSIGNMENT}.ipynb").exists
        instructor.session.stop(INSTRUCTOR)  # the browser starts it again, through the spawn form
        yield
    finally:
        try:
            student = HubSession(ca_file)
            assert student.login(STUDENT, password).status_code == 302
            student.stop(STUDENT)
            student.close()
            instructor.ensure_started()
            instructor.withdraw()
            instructor.session.stop(INSTRUCTOR)
        finally:
            instructor.session.close()
            host.run(f"rm -rf {outbound} {student_copy(host)}")


@pytest.fixture(scope="module")
def browser(ca_file):
    SHOTS.mkdir(parents=True, exist_ok=True)
    # The instance's certificate is self-signed. Chromium on Linux takes its trust anchors
    # from an NSS database (certutil, a HOME of its own); instead, and without switching
    # checks off, it is given the SHA-256 of this one certificate's public key: exactly that
    # certificate is accepted (any other still fails with ERR_CERT_AUTHORITY_INVALID). That
    # the certificate names the hub's and the users' hosts is verified in full by HubSession,
    # used for the setup. Chromium resolves *.localhost to loopback itself.
    args = CHROMIUM_ARGS + [f"--ignore-certificate-errors-spki-list={spki_sha256(ca_file)}"]
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield chromium
        chromium.close()


def context_for(browser):
    context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=False, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    return context


def shot(page, name):
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def log_in(page, user, password, screenshot=None):
    page.goto(BASE_URL + "/hub/login")
    page.fill("#username_input", user)
    page.fill("#password_input", password)
    if screenshot:
        shot(page, screenshot)
    page.click("#login_submit")
    page.wait_for_url(lambda url: "/hub/login" not in url)
    # __Host-jupyterhub-hub-login when the hub has subdomain_host.
    assert any(c["name"].endswith("jupyterhub-hub-login") for c in page.context.cookies()), "not logged in"


def start_course(page, user, choice, screenshot=None, path="lab"):
    """Pick the course on the spawn form, start it and wait until JupyterLab has loaded, then
    open `path` of the server in a fresh layout (?reset: no tabs restored from an earlier
    session); returns the choices the form offered and the server's URL, where the hub's
    redirect after the spawn took the browser."""
    page.goto(BASE_URL + "/hub/spawn")
    offered = page.locator("#course option").evaluate_all("options => options.map(o => o.value)")
    page.select_option("#course", choice)
    if screenshot:
        shot(page, screenshot)
    page.click("#spawn_form button[type=submit]")
    page.wait_for_url(f"**/user/{user}/lab**")
    lab_ready(page)
    server = page.url[:page.url.index(f"/user/{user}/") + len(f"/user/{user}/")]
    page.goto(f"{server}{path}?reset")
    lab_ready(page)
    return offered, server


def server_origin(subdomain_host, user):
    """Where JupyterHub puts a user's server: https://<user>.<host>[:port] with subdomain_host,
    else the hub's own origin."""
    if not subdomain_host:
        return origin(BASE_URL)
    hub = urllib.parse.urlsplit(subdomain_host)
    return f"{hub.scheme}://{user}.{hub.hostname}" + (f":{hub.port}" if hub.port else "")


# Run in the page: read a URL with the page's credentials, as a student's script could.
READ = """async (url) => {
    try {
        const response = await fetch(url, {credentials: "include"});
        return {status: response.status, body: (await response.text()).slice(0, 20000)};
    } catch (error) {
        return {error: String(error)};
    }
}"""


def lab_ready(page):
    page.wait_for_selector("#jp-main-dock-panel")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()
    dismiss_notifications(page)


def dismiss_notifications(page):
    """JupyterLab asks whether to fetch Jupyter news; answer no so that the toast leaves the screenshots."""
    try:
        page.get_by_role("button", name="No", exact=True).click(timeout=5000)
    except PlaywrightTimeout:
        pass


def open_nbgrader(page, item):
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def test_student_fetches_the_released_assignment_in_jupyterlab(released, browser, ca_file, password, host,
                                                               subdomain_host):
    student = HubSession(ca_file)
    assert student.login(STUDENT, password).status_code == 302
    student.stop(STUDENT)  # so that the browser meets the spawn form
    student.close()
    started = time.monotonic()
    context = context_for(browser)
    page = context.new_page()
    try:
        log_in(page, STUDENT, password, screenshot="01-login")
        offered, _ = start_course(page, STUDENT, COURSE, screenshot="02-course-list")
        assert COURSE in offered and f"{COURSE}:instructor" not in offered, offered
        assert f"/user/{STUDENT}/" in page.url, page.url
        # JupyterLab's origin, and what a script of the student's server can read of the hub.
        assert origin(page.url) == server_origin(subdomain_host, STUDENT), (page.url, subdomain_host)
        hub_home = page.evaluate(READ, BASE_URL + "/hub/home")
        if subdomain_host:
            assert origin(page.url) != origin(BASE_URL), page.url
            # Cross-origin: the browser withholds the hub's answer (no CORS for the server's origin) ...
            assert "error" in hub_home, f"a script on {origin(page.url)} read the hub's home page: {hub_home}"
            # ... and on the server's own host the hub sees no login (its cookie is the hub host's alone).
            own_host = page.evaluate(READ, "/hub/api/user")
            assert own_host.get("status") == 403, own_host
        else:
            # One origin: the server's scripts read the hub's pages as the student (subdomain_host ends this).
            assert hub_home.get("status") == 200 and STUDENT in hub_home.get("body", ""), hub_home
        open_nbgrader(page, "Assignment List")
        released_list = page.locator("#released_assignments_list")
        row = released_list.locator(".list_item", has_text=ASSIGNMENT)
        row.wait_for()
        shot(page, "03-student-assignments")
        row.get_by_role("button", name="Fetch").click()
        page.locator("#fetched_assignments_list", has_text=ASSIGNMENT).wait_for()
        released_list.locator(".list_item", has_text=ASSIGNMENT).wait_for(state="detached")
        page.get_by_title("Refresh the file browser").click()  # the fetch made ~/mlbp2026/browser1
        page.locator(".jp-DirListing-item", has_text=COURSE).wait_for()
        shot(page, "04-student-fetched")
    finally:
        context.close()
    fetched = host.file(f"{student_copy(host)}/{ASSIGNMENT}.ipynb")
    assert fetched.exists and fetched.user == STUDENT, "the fetch left no notebook in the student's home"
    assert "BEGIN SOLUTION" not in fetched.content_string
    print(f"student in the browser: {time.monotonic() - started:.1f} s")


def test_instructor_sees_the_assignment_in_formgrader(released, browser, password):
    started = time.monotonic()
    context = context_for(browser)
    page = context.new_page()
    try:
        log_in(page, INSTRUCTOR, password)
        notebook = f"course/source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        _, server = start_course(page, INSTRUCTOR, f"{COURSE}:instructor", path=f"lab/tree/{notebook}")
        page.locator(".jp-Notebook .jp-Cell", has_text="def double").first.wait_for()
        page.get_by_text(re.compile(r"\| Idle$")).wait_for()  # the kernel, in the status bar
        # nbgrader's Create Assignment panel shows each cell's part: solution, tests, points.
        page.locator(".jp-SideBar.jp-mod-right .lm-TabBar-tab", has_text="Create Assignment").click()
        page.locator(".nbgrader-CellWidget").first.wait_for()
        shot(page, "05-instructor-source")
        # Formgrader in a tab of its own, as nbgrader advises for JupyterHub >= 4.1: Nbgrader >
        # Formgrader would frame it inside JupyterLab, which the single-user server's
        # Content-Security-Policy (frame-ancestors 'none', JupyterHub's default) refuses.
        page.goto(f"{server}formgrader")
        row = page.locator("tr", has_text=ASSIGNMENT)
        row.wait_for()
        assert "released" in row.inner_text(), row.inner_text()
        shot(page, "06-instructor-formgrader")
    finally:
        context.close()
    print(f"instructor in the browser: {time.monotonic() - started:.1f} s")
