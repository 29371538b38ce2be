"""A browser-like HTTPS client of the hub, shared by the molecule scenarios'
tests (and bench/peak.py's setup): cookies, the login form with its _xsrf,
the spawn form, the hub API and a kernel over its websocket; and a user's
server with the nbgrader endpoints its JupyterLab calls.

Where a user's server lives is the hub's to say (HubSession.server_url): under
/user/<name>/ on the hub's own origin, or, with JupyterHub's subdomain_host,
on a host of its own, https://<name>.<hub host>. Names under .localhost
(https://hub.localhost:18443 and its users' hosts) resolve to 127.0.0.1 in this
process, as browsers resolve them, without the host's /etc/hosts."""
import html
import json
import os
import re
import socket
import ssl
import time
import urllib.parse
import uuid

import requests
import websocket

# The default scenario's hub (molecule/default/molecule.yml sets COURSEHUB_URL for its verifier).
BASE_URL = os.environ.get("COURSEHUB_URL", "https://hub.localhost:18443")


def _resolve_localhost_names(getaddrinfo):
    """socket.getaddrinfo, except that localhost's subdomains (hub.localhost,
    student1.hub.localhost) are 127.0.0.1, as RFC 6761 reserves them to be:
    the host's resolver may not know them, browsers do. Every other name is
    left to the real resolver."""
    def resolve(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if isinstance(name, str) and name.rstrip(".").lower().endswith(".localhost"):
            host = "127.0.0.1"
        return getaddrinfo(host, *args, **kwargs)
    resolve.localhost_names = True
    return resolve


# requests (urllib3) and websocket-client both look up socket.getaddrinfo when they connect.
if not getattr(socket.getaddrinfo, "localhost_names", False):
    socket.getaddrinfo = _resolve_localhost_names(socket.getaddrinfo)


def origin(url):
    """scheme://host[:port] of a URL."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class HubSession(requests.Session):
    """A browser-like session: cookies, the login form with its _xsrf."""

    def __init__(self, ca_file, base_url=None):
        super().__init__()
        self.base_url = base_url or BASE_URL
        self.verify = ca_file
        # No proxy or CA bundle from the environment: loopback only, our own CA.
        self.trust_env = False
        self._server_urls = {}

    def url(self, path):
        return self.base_url + path

    def server_url(self, username, path=""):
        """The URL of `username`'s server, plus `path`: the one place the tests learn it. The hub
        says it, in the `url` of the server in its user model: /user/<name>/ (on the hub's origin),
        or https://<name>.<hub host>[:port]/user/<name>/ with subdomain_host. Stopped servers are
        asked for too, so it is known before a spawn; the answer is kept, so it is known while the
        hub restarts. Needs a login as that user or as an admin."""
        if username not in self._server_urls:
            response = self.get(self.url(f"/hub/api/users/{username}"), headers=self.xsrf_headers(),
                                params={"include_stopped_servers": "1"})
            assert response.status_code == 200, f"the hub does not show {username}: {response.status_code}"
            server = (response.json().get("servers") or {}).get("")
            assert server, f"the hub knows no server of {username} (never started?)"
            self._server_urls[username] = urllib.parse.urljoin(self.base_url + "/", server["url"])
        return self._server_urls[username] + path

    def server_xsrf(self, username):
        """The _xsrf cookie the user's server set (on its own path, and host)."""
        parts = urllib.parse.urlsplit(self.server_url(username))
        for cookie in self.cookies:
            if cookie.name == "_xsrf" and cookie.path == parts.path and cookie.domain.lstrip(".") == parts.hostname:
                return cookie.value
        return ""

    def login(self, username, password):
        form = self.get(self.url("/hub/login"))
        form.raise_for_status()
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text)
        assert xsrf, "the login form carries no _xsrf field"
        return self.post(
            self.url("/hub/login?next=%2Fhub%2Fhome"),
            data={"username": username, "password": password, "_xsrf": xsrf.group(1)},
            allow_redirects=False,
        )

    def start_course(self, username, password, choice):
        """Log in, stop whatever server the user has, start `choice` through the
        spawn form and wait until the server answers; returns self."""
        assert self.login(username, password).status_code == 302, f"{username} could not log in"
        self.stop(username)
        response = self.spawn(choice)
        assert response.status_code == 200, f"{username} could not start {choice}: {response.status_code}"
        self.wait_for_server(username)
        return self

    def spawn(self, choice):
        """Submit the spawn form as a browser would (its action URL carries the
        _xsrf token); returns the response."""
        form = self.get(self.url("/hub/spawn"))
        form.raise_for_status()
        action = re.search(r'<form[^>]*action="([^"]+)"', form.text)
        assert action, f"no spawn form at {form.url}"
        return self.post(self.url(html.unescape(action.group(1))), data={"course": choice})

    def stop(self, username):
        """Stop the user's server through the hub API, as the hub's home page does."""
        xsrf = self.cookies.get("_xsrf", path="/hub/") or ""
        deadline = time.monotonic() + 60
        while True:  # 503 while a restarted hub is still starting up
            response = self.delete(self.url(f"/hub/api/users/{username}/server"), headers={"X-XSRFToken": xsrf})
            if response.status_code != 503 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert response.status_code in (202, 204, 400), response.status_code
        while time.monotonic() < deadline:
            user = self.get(self.url("/hub/api/user")).json()
            if not user.get("servers"):
                return
            time.sleep(1)
        raise AssertionError(f"server of {username} did not stop")

    def offered(self):
        """The course choices the spawn form offers."""
        form = self.get(self.url("/hub/spawn"))
        form.raise_for_status()
        return re.findall(r'<option value="([^"]+)"', form.text)

    def run_code(self, username, code, timeout=60):
        """Run Python in a new kernel of the user's server, over the kernel
        websocket as JupyterLab does; returns (stdout, error name or None)."""
        base = self.server_url(username, "api/kernels")
        self.get(self.server_url(username, "lab"))  # sets the server's _xsrf cookie
        xsrf = self.server_xsrf(username)
        kernel = self.post(base, json={}, headers={"X-XSRFToken": xsrf})
        assert kernel.status_code == 201, f"no kernel for {username}: {kernel.status_code} {kernel.text[:200]}"
        kernel_id = kernel.json()["id"]
        channels = f"{base}/{kernel_id}/channels"
        # The cookies a browser would send to that URL (its host and path), not the whole jar.
        cookie = self.prepare_request(requests.Request("GET", channels)).headers.get("Cookie", "")
        ws = websocket.create_connection(
            channels.replace("https://", "wss://", 1),
            header=[f"Cookie: {cookie}"], sslopt={"ca_certs": self.verify, "cert_reqs": ssl.CERT_REQUIRED},
            timeout=timeout,
        )
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": username, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell",
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False},
            }))
            out, error = [], None
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["msg_type"]
                if kind == "stream":
                    out.append(msg["content"]["text"])
                elif kind == "error":
                    error = msg["content"]["ename"]
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    break
            return "".join(out), error
        finally:
            ws.close()
            self.delete(f"{base}/{kernel_id}", headers={"X-XSRFToken": xsrf})

    def xsrf_headers(self):
        return {"X-XSRFToken": self.cookies.get("_xsrf", path="/hub/") or ""}

    def wait_for_server(self, username, timeout=120):
        """Poll the server's status API until it answers (OAuth handshake included)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            # An HTML page walks the OAuth redirects and sets the server's cookie.
            last = self.get(self.server_url(username, "lab"), allow_redirects=True)
            status = self.get(self.server_url(username, "api/status"))
            if status.status_code == 200:
                return status
            time.sleep(2)
        raise AssertionError(f"server of {username} never answered: last {last and last.status_code}")


def nbgrader_cell(cell_type, source, **meta):
    cell = {"cell_type": cell_type, "metadata": {"nbgrader": dict(meta, schema_version=3)}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


class Server:
    """One user's running server, reached through the hub as their browser would."""

    def __init__(self, session, user, course, assignment):
        self.session, self.user = session, user
        self.course, self.assignment = course, assignment

    def request(self, method, path, **kwargs):
        return self.session.request(method, self.session.server_url(self.user, path),
                                    headers={"X-XSRFToken": self.session.server_xsrf(self.user)}, **kwargs)

    def nbgrader(self, endpoint, **data):
        """POST to an nbgrader endpoint; the JSON answer (formgrader: {"success": ..., "log": ...})."""
        response = self.request("POST", endpoint, data=data)
        assert response.status_code == 200, f"{self.user} POST {endpoint}: {response.status_code} {response.text[:300]}"
        return response.json()

    def formgrader(self, path):
        result = self.nbgrader("formgrader/api/" + path)
        assert result.get("success"), f"{self.user} formgrader {path}: {result.get('log')}\n{result.get('error')}"
        return result

    def assignments(self, course=None, action=None):
        """The Assignments list (GET) or one of its actions (fetch, submit, fetch_feedback)."""
        if action is None:
            response = self.request("GET", "assignments", params={"course_id": course or self.course})
            assert response.status_code == 200, response.text[:300]
            return response.json()
        return self.nbgrader(f"assignments/{action}", course_id=course or self.course, assignment_id=self.assignment)

    def put_file(self, path, content, kind="file"):
        model = {"type": kind, "format": "text" if kind == "file" else None, "content": content}
        if kind == "notebook":
            model["format"] = "json"
        response = self.request("PUT", f"api/contents/{path}", json=model)
        assert response.status_code in (200, 201), f"{self.user} PUT {path}: {response.status_code} {response.text}"

    def get_file(self, path):
        return self.request("GET", f"api/contents/{path}", params={"content": "1"})

    def mkdir(self, path):
        response = self.request("PUT", f"api/contents/{path}", json={"type": "directory"})
        assert response.status_code in (200, 201), f"{self.user} mkdir {path}: {response.status_code}"

    def python(self, code):
        """Run code in a kernel of this server; returns stdout (fails on an exception)."""
        out, error = self.session.run_code(self.user, code, timeout=120)
        assert error is None, f"{self.user}: {error}\n{out}"
        return out

    def outcome(self, code):
        """Run an expression in this server's kernel and return its repr'd value, errors included."""
        out, error = self.session.run_code(self.user, f"try:\n    print(repr({code}))\n"
                                                      "except OSError as exc:\n    print(type(exc).__name__)")
        assert error is None, out
        return out.strip()
