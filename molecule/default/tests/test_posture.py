"""Security posture of the instance (issue 9): cipher suites, no loose
world-writable directories, nothing listening beyond loopback but the public
ports, homes closed to other users."""
import pytest
from conftest import HTTP_PORT, HTTPS_PORT

CIPHER_PROBE = """
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
ctx.set_ciphers(sys.argv[1] + ":@SECLEVEL=0")
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5) as raw:
        with ctx.wrap_socket(raw) as tls:
            print("accepted", tls.cipher()[0])
except (ssl.SSLError, ConnectionError) as exc:
    print("refused", type(exc).__name__)
"""

MANAGED_ROOTS = ["/srv/coursehub", "/srv/nbgrader", "/etc/jupyterhub", "/etc/coursehub", "/opt/coursehub",
                 "/opt/jupyterhub", "/var/lib/jupyterhub", "/home"]


@pytest.mark.parametrize("cipher,expected", [
    # The key is ECDSA, so these are the suites a client could really get.
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "accepted"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "accepted"),
    ("ECDHE-ECDSA-AES128-SHA", "refused"),      # CBC with SHA-1
    ("ECDHE-ECDSA-AES256-SHA384", "refused"),   # CBC
    ("ECDHE-ECDSA-AES128-CCM8", "refused"),     # short tag
    ("ECDHE-ECDSA-NULL-SHA", "refused"),        # no encryption
])
def test_tls12_cipher_suites(host, cipher, expected):
    result = host.run("python3 -c %s %s %s", CIPHER_PROBE, cipher, str(HTTPS_PORT))
    assert result.rc == 0, result.stderr
    if "No cipher can be selected" in result.stderr:
        pytest.fail(f"the probe's OpenSSL cannot offer {cipher}; pick another probe")
    assert result.stdout.split()[0] == expected, f"{cipher}: {result.stdout}"


def test_no_world_writable_directory_without_sticky_bit(host):
    roots = " ".join(r for r in MANAGED_ROOTS if host.file(r).exists)
    loose = host.check_output(f"find {roots} -xdev -type d -perm -0002 ! -perm -1000 -printf '%m %u:%g %p\\n'")
    assert loose == "", f"world-writable without sticky bit:\n{loose}"


def test_only_the_public_ports_listen_beyond_loopback(host):
    public = set()
    for line in host.check_output("ss -Hltn").splitlines():
        address, port = line.split()[3].rsplit(":", 1)
        if address not in ("127.0.0.1", "[::1]") and not address.startswith("127."):
            public.add(int(port))
    assert public == {HTTPS_PORT, HTTP_PORT}, f"listening beyond loopback: {sorted(public)}"


@pytest.mark.parametrize("user,other", [("student1", "student2"), ("student2", "teacher1"), ("teacher1", "student1")])
def test_a_user_cannot_read_another_users_home(host, user, other):
    home = host.file(f"/home/{other}")
    assert home.mode & 0o007 == 0, f"/home/{other} is {oct(home.mode)}"
    refused = host.run(f"runuser -u {user} -- ls /home/{other}")
    assert refused.rc != 0 and "Permission denied" in refused.stderr, refused.stdout
