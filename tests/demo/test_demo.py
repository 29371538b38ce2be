"""`make demo` works: log in on the demo hub at https://127.0.0.1:8443 with the
printed password, through the real login form, and see the sample courses."""
import pathlib
import re
import subprocess

import pytest
import requests

ROOT = pathlib.Path(__file__).resolve().parents[2]
URL = "https://127.0.0.1:8443"


@pytest.fixture
def session(tmp_path):
    cert = tmp_path / "cert.pem"
    cert.write_bytes(subprocess.run(["docker", "exec", "coursehub-demo", "cat", "/etc/coursehub/tls/cert.pem"],
                                    check=True, capture_output=True).stdout)
    s = requests.Session()
    s.verify = str(cert)
    s.trust_env = False  # loopback only, and our own certificate
    yield s
    s.close()


def login(session, username, password):
    form = session.get(URL + "/hub/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
    return session.post(URL + "/hub/login", data={"username": username, "password": password, "_xsrf": xsrf},
                        allow_redirects=False)


def test_demo_login_and_courses(session):
    password = (ROOT / ".demo" / "password").read_text().split()[0]
    assert login(session, "student1", password).status_code == 302
    assert session.get(URL + "/hub/api/user").json()["name"] == "student1"
    form = session.get(URL + "/hub/spawn")
    offered = set(re.findall(r'<option value="([^"]+)"', form.text))
    assert {"mlbp2026", "deeplearn2026"} <= offered and "privsec2026" not in offered


def test_demo_refuses_a_wrong_password(session):
    assert login(session, "student2", "wrong-password").status_code == 403
