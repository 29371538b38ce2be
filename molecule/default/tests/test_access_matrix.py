"""The access matrix (issue 9): who x what x action, table-driven, against the
real instance. Filesystem probes run as the user (runuser, with their real
groups); HTTP probes go through the hub's published loopback port. The test
prints allowed and denied counts against the expectation and fails on any
difference."""
import requests
from conftest import BASE_URL, HubSession

C = "/srv/coursehub/course"
X = "/srv/nbgrader/exchange"
ALLOW, DENY = "allow", "deny"

ACTIONS = {
    "list": "ls {path} >/dev/null",
    "read": "cat {path} >/dev/null",
    "write": "f={path}/.probe-$$ && touch \"$f\" && rm -f \"$f\"",
}

FILESYSTEM = [
    # students against course files and data
    ("student1", f"{C}/mlbp2026/files", "list", DENY),
    ("student1", f"{C}/mlbp2026/data", "list", ALLOW),
    ("student1", f"{C}/mlbp2026/data", "write", DENY),
    ("student1", f"{C}/privsec2026/data", "list", DENY),
    ("outsider1", f"{C}/privsec2026/data", "list", DENY),
    ("student2", f"{C}/privsec2026/data", "list", ALLOW),
    ("student2", f"{C}/privsec2026/data", "write", DENY),
    ("student2", f"{C}/privsec2026/files", "list", DENY),
    # instructors against their own course and others'
    ("teacher1", f"{C}/mlbp2026/files", "write", ALLOW),
    ("ta1", f"{C}/mlbp2026/files", "write", ALLOW),
    ("teacher1", f"{C}/mlbp2026/data", "write", ALLOW),
    ("teacher1", f"{C}/privsec2026/files", "list", DENY),
    ("teacher1", f"{C}/privsec2026/data", "list", DENY),
    ("teacher2", f"{C}/mlbp2026/files", "list", DENY),
    ("teacher2", f"{C}/privsec2026/files", "write", ALLOW),
    # archived: readable by its instructors, writable by nobody
    ("teacher1", f"{C}/oldstats2025/files", "list", ALLOW),
    ("teacher1", f"{C}/oldstats2025/files", "write", DENY),
    # the exchange
    ("student1", f"{X}/mlbp2026/inbound", "list", DENY),
    ("student1", f"{X}/mlbp2026/inbound", "write", ALLOW),
    ("student1", f"{X}/mlbp2026/feedback", "list", DENY),
    ("student1", f"{X}/mlbp2026/outbound", "list", ALLOW),
    ("student1", f"{X}/mlbp2026/outbound", "write", DENY),
    ("teacher1", f"{X}/mlbp2026/inbound", "list", ALLOW),
    ("student1", f"{X}/privsec2026/outbound", "list", DENY),
    ("student2", f"{X}/privsec2026/outbound", "list", ALLOW),
    # shared data
    ("student1", "/srv/coursehub/shareddata/mnist", "list", ALLOW),
    ("student1", "/srv/coursehub/shareddata/mnist", "write", DENY),
    # homes and secrets
    ("student1", "/home/student2", "list", DENY),
    ("teacher1", "/home/student1", "list", DENY),
    ("student1", "/etc/coursehub/proxy-auth.env", "read", DENY),
    ("student1", "/var/lib/jupyterhub/jupyterhub_cookie_secret", "read", DENY),
    ("teacher1", "/etc/jupyterhub/jupyterhub_config.py", "read", DENY),
    ("student1", "/etc/coursehub/tls/key.pem", "read", DENY),
    # who is on which course, private courses' students included: the hub's only
    ("student1", "/etc/jupyterhub/courses.json", "read", DENY),
    ("student2", "/etc/jupyterhub/courses.json", "read", DENY),
    ("teacher1", "/etc/jupyterhub/courses.json", "read", DENY),
    ("student1", "/var/lib/jupyterhub/jupyterhub.sqlite", "read", DENY),
    # the course servers' own Jupyter config names no one and must stay readable
    ("student1", "/etc/coursehub/nbgrader/mlbp2026/student/nbgrader_config.py", "read", ALLOW),
]


def http_probes(ca_file, password):
    """(who, what, expected, got) for requests through the hub's published port."""
    anonymous = requests.Session()
    anonymous.verify, anonymous.trust_env = ca_file, False
    rows = []
    got = anonymous.get(BASE_URL + "/hub/api/users", allow_redirects=False).status_code
    rows.append(("anonymous", "GET /hub/api/users", DENY, ALLOW if got == 200 else DENY, got))
    # Where student1's server is, as the hub tells student1 (a host of its own with subdomain_host).
    student = HubSession(ca_file)
    assert student.login("student1", password).status_code == 302
    contents = student.server_url("student1", "api/contents")
    student.close()
    got = anonymous.get(contents, allow_redirects=False).status_code
    rows.append(("anonymous", f"GET {contents}", DENY, ALLOW if got == 200 else DENY, got))
    got = anonymous.get(BASE_URL + "/api/routes", allow_redirects=False).status_code
    rows.append(("anonymous", "GET /api/routes (proxy API path on the public port)", DENY,
                 ALLOW if got == 200 else DENY, got))
    for user, expected in (("student1", DENY), ("teacher1", ALLOW)):  # teacher1 is the hub admin
        session = HubSession(ca_file)
        assert session.login(user, password).status_code == 302
        got = session.get(session.url("/hub/api/users"), headers=session.xsrf_headers()).status_code
        rows.append((user, "GET /hub/api/users", expected, ALLOW if got == 200 else DENY, got))
        session.close()
    return rows


def test_access_matrix(host, ca_file, password, capsys):
    rows = []
    for who, path, action, expected in FILESYSTEM:
        assert host.file(path).exists, f"probe target {path} is missing"
        result = host.run(f"runuser -u {who} -- sh -c %s", ACTIONS[action].format(path=path))
        rows.append((who, f"{action} {path}", expected, ALLOW if result.rc == 0 else DENY, result.rc))
    proxy_api = host.run("python3 -c %s", "import urllib.request,urllib.error\n"
                         "try:\n    urllib.request.urlopen('http://127.0.0.1:8001/api/routes', timeout=5)\n"
                         "    print(200)\nexcept urllib.error.HTTPError as e:\n    print(e.code)")
    got = int(proxy_api.stdout.strip())
    rows.append(("anonymous (on the host)", "GET 127.0.0.1:8001/api/routes", DENY, ALLOW if got == 200 else DENY, got))
    rows += http_probes(ca_file, password)

    wrong = [row for row in rows if row[2] != row[3]]
    counts = {(e, g): sum(1 for r in rows if (r[2], r[3]) == (e, g)) for e in (ALLOW, DENY) for g in (ALLOW, DENY)}
    with capsys.disabled():
        print(f"\naccess matrix: {len(rows)} probes; expected allow {counts[ALLOW, ALLOW] + counts[ALLOW, DENY]}, "
              f"got allow {counts[ALLOW, ALLOW] + counts[DENY, ALLOW]}; expected deny "
              f"{counts[DENY, DENY] + counts[DENY, ALLOW]}, got deny {counts[DENY, DENY] + counts[ALLOW, DENY]}; "
              f"mismatches {len(wrong)}")
        for who, what, expected, got, detail in wrong:
            print(f"  MISMATCH {who:10} {what:60} expected {expected}, got {got} ({detail})")
    assert len(rows) >= 30
    assert not wrong, f"{len(wrong)} probe(s) differ from the expectation: {wrong}"
