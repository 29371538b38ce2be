"""Fixtures for the default scenario: the instance, and an HTTPS client
that reaches the hub only through the port published on 127.0.0.1."""
import os
import pathlib
import html
import json
import re
import ssl
import time
import uuid

import pytest
import requests
import testinfra
import websocket

PROJECT = pathlib.Path(__file__).resolve().parents[3]
INSTANCE = os.environ.get("COURSEHUB_INSTANCE", "coursehub-molecule")
BASE_URL = os.environ.get("COURSEHUB_URL", "https://127.0.0.1:18443")
# Ports inside the instance (the demo uses 8443/8080).
HTTPS_PORT = int(os.environ.get("COURSEHUB_HTTPS_PORT", "443"))
HTTP_PORT = int(os.environ.get("COURSEHUB_HTTP_PORT", "80"))
PASSWORD_FILE = os.environ.get("COURSEHUB_PASSWORD_FILE", str(PROJECT / ".cache" / "molecule-password"))


@pytest.fixture(scope="session")
def host():
    """The instance over `docker exec` (faster than an ansible round trip)."""
    return testinfra.get_host(f"docker://{INSTANCE}")


@pytest.fixture(scope="session")
def password():
    return pathlib.Path(PASSWORD_FILE).read_text().split()[0]


@pytest.fixture(scope="session")
def ca_file(host, tmp_path_factory):
    """The instance's own certificate, so TLS is verified, not switched off."""
    path = tmp_path_factory.mktemp("tls") / "cert.pem"
    path.write_text(host.file("/etc/coursehub/tls/cert.pem").content_string)
    return str(path)


class HubSession(requests.Session):
    """A browser-like session: cookies, the login form with its _xsrf."""

    def __init__(self, ca_file):
        super().__init__()
        self.verify = ca_file
        # No proxy or CA bundle from the environment: loopback only, our own CA.
        self.trust_env = False

    def url(self, path):
        return BASE_URL + path

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
        base = f"/user/{username}/api/kernels"
        self.get(self.url(f"/user/{username}/lab"))  # sets the server's _xsrf cookie
        xsrf = self.cookies.get("_xsrf", path=f"/user/{username}/") or ""
        kernel = self.post(self.url(base), json={}, headers={"X-XSRFToken": xsrf})
        assert kernel.status_code == 201, f"no kernel for {username}: {kernel.status_code} {kernel.text[:200]}"
        kernel_id = kernel.json()["id"]
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.cookies)
        ws = websocket.create_connection(
            BASE_URL.replace("https://", "wss://") + f"{base}/{kernel_id}/channels",
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
            self.delete(self.url(f"{base}/{kernel_id}"), headers={"X-XSRFToken": xsrf})

    def xsrf_headers(self):
        return {"X-XSRFToken": self.cookies.get("_xsrf", path="/hub/") or ""}

    def wait_for_server(self, username, timeout=120):
        """Poll the server's status API until it answers (OAuth handshake included)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            # An HTML page walks the OAuth redirects and sets the server's cookie.
            last = self.get(self.url(f"/user/{username}/lab"), allow_redirects=True)
            status = self.get(self.url(f"/user/{username}/api/status"))
            if status.status_code == 200:
                return status
            time.sleep(2)
        raise AssertionError(f"server of {username} never answered: last {last and last.status_code}")


@pytest.fixture
def instance_inventory(tmp_path):
    """An inventory of the instance alone, over docker exec: in `hub`, and in `courses` through it."""
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"all": {"children": {
        "hub": {"hosts": {INSTANCE: {"ansible_connection": "community.docker.docker"}}},
        "courses": {"children": {"hub": {}}}}}}))
    return str(path)


@pytest.fixture
def hub(ca_file):
    session = HubSession(ca_file)
    yield session
    session.close()
