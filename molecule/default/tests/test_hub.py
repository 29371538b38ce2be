"""The hub, the proxy and TLS on the instance, checked from inside it."""
import json
import subprocess
import urllib.parse

import pytest
from conftest import HTTP_PORT, HTTPS_PORT, INSTANCE, PROJECT
from recap import changed

HUB_VERSION = "6.1.1"

# Run inside the instance: a TLS handshake limited to one protocol version.
# The client's security level is lowered to 0, or OpenSSL 3 would refuse
# TLS 1.0/1.1 itself and the test could not fail.
TLS_PROBE = """
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
version = getattr(ssl.TLSVersion, sys.argv[1])
ctx.minimum_version = ctx.maximum_version = version
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            print("accepted", tls.version())
except (ssl.SSLError, ConnectionError) as exc:
    print("refused", type(exc).__name__)
"""


@pytest.mark.parametrize("unit", ["jupyterhub.service", "configurable-http-proxy.service"])
def test_service_active_and_enabled(host, unit):
    service = host.service(unit)
    assert service.is_running, f"{unit} is not active"
    assert service.is_enabled, f"{unit} is not enabled"


@pytest.mark.parametrize(
    "path",
    ["/var/lib/jupyterhub/jupyterhub_cookie_secret", "/etc/coursehub/proxy-auth.env"],
)
def test_secret_files_are_private_and_random(host, path):
    secret = host.file(path)
    assert secret.user == "root" and secret.group == "root", f"{path} not root-owned"
    assert secret.mode == 0o600, f"{path} has mode {oct(secret.mode)}"
    value = secret.content_string.strip().split("=", 1)[-1]
    raw = bytes.fromhex(value)
    assert len(raw) >= 32, f"{path} holds {len(raw)} bytes"
    assert len(set(raw)) > 16, f"{path} does not look random"


def test_secrets_differ(host):
    cookie = host.file("/var/lib/jupyterhub/jupyterhub_cookie_secret").content_string.strip()
    token = host.file("/etc/coursehub/proxy-auth.env").content_string.strip().split("=", 1)[1]
    assert cookie != token, "cookie secret and proxy token are the same value"


@pytest.mark.parametrize("port,what", [(8081, "hub API"), (8001, "proxy API")])
def test_apis_listen_on_loopback_only(host, port, what):
    listeners = [
        line.split()[3]
        for line in host.check_output("ss -Hltn").splitlines()
        if line.split()[3].rsplit(":", 1)[1] == str(port)
    ]
    assert listeners, f"nothing listens on the {what} port {port}"
    assert all(addr.rsplit(":", 1)[0] in ("127.0.0.1", "[::1]") for addr in listeners), (
        f"{what} listens beyond loopback: {listeners}"
    )


def test_public_port_is_tls_and_reports_version(host):
    out = host.check_output(
        f"python3 -c 'import json,ssl,urllib.request;"
        "ctx=ssl.create_default_context(cafile=\"/etc/coursehub/tls/cert.pem\");"
        f"r=urllib.request.urlopen(\"https://localhost:{HTTPS_PORT}/hub/api\",context=ctx);"
        "print(json.load(r)[\"version\"])'"
    )
    assert out.strip() == HUB_VERSION


@pytest.mark.parametrize(
    "version,expected",
    [("TLSv1", "refused"), ("TLSv1_1", "refused"), ("TLSv1_2", "accepted"), ("TLSv1_3", "accepted")],
)
def test_tls_versions(host, version, expected):
    result = host.run("python3 -c %s %s %s", TLS_PROBE, version, str(HTTPS_PORT))
    assert result.rc == 0, result.stderr
    assert result.stdout.split()[0] == expected, f"{version}: {result.stdout}"


def test_http_redirects_to_https(host):
    out = host.check_output(
        f"python3 -c 'import http.client;c=http.client.HTTPConnection(\"127.0.0.1\",{HTTP_PORT},timeout=5);"
        "c.request(\"GET\",\"/hub/\");r=c.getresponse();print(r.status,r.getheader(\"Location\"))'"
    )
    status, location = out.split()
    assert status in ("301", "302", "307", "308"), out
    assert location.startswith("https://"), out


def test_hub_config_is_private(host):
    config = host.file("/etc/jupyterhub/jupyterhub_config.py")
    assert config.mode == 0o600
    assert "concurrent_spawn_limit" in config.content_string


def test_drift_report_is_quiet_then_shows_a_change(host, instance_inventory, subdomain_host):
    """playbooks/drift.yml changes nothing; after a hand edit it reports that edit."""
    hub_names = [urllib.parse.urlsplit(subdomain_host).hostname] if subdomain_host else []
    play = ["ansible-playbook", "--check", "--diff", "-i", instance_inventory,
            str(PROJECT / "playbooks" / "drift.yml"),
            "-e", json.dumps({"jupyterhub_admin_users": ["teacher1"], "tls_dns_names": [INSTANCE, "localhost"] + hub_names,
                              "jupyterhub_subdomain_host": subdomain_host})]
    quiet = subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=900)
    assert quiet.returncode == 0 and changed(quiet.stdout, INSTANCE) == 0, quiet.stdout[-3000:]
    data = "/srv/coursehub/course/mlbp2026/data"
    host.check_output(f"chmod 0777 {data}")
    try:
        drift = subprocess.run(play, cwd=PROJECT, capture_output=True, text=True, timeout=900)
        assert drift.returncode == 0 and changed(drift.stdout, INSTANCE) == 1, drift.stdout[-3000:]
        assert data in drift.stdout
        assert oct(host.file(data).mode) == "0o2777", "the drift report changed the host"  # chmod keeps setgid
    finally:
        host.check_output(f"chmod 2775 {data}")
