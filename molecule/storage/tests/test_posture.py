"""Security posture of the storage host (issue 9): beyond loopback only SMB
(445/tcp) and NFSv4 (2049/tcp) listen. No portmapper, no rpc.statd, no
NetBIOS, no NFS over UDP. The storage converge runs no hub, so 443 and 80
are not expected here (the default scenario checks those)."""
import pytest

EXPECTED = {("tcp", 445), ("tcp", 2049)}
RPC_HELPERS = ["rpcbind.socket", "rpcbind.service", "nfs-ganesha-lock.service"]

CONNECT_PROBE = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5).close()
    print("open")
except ConnectionRefusedError:
    print("refused")
"""


def listening(host):
    """(proto, address, port) of every listening TCP and bound UDP socket."""
    sockets = set()
    for line in host.check_output("ss -Hltnu").splitlines():
        fields = line.split()
        address, port = fields[4].rsplit(":", 1)
        sockets.add((fields[0], address.split("%")[0].strip("[]"), int(port)))
    return sockets


def is_loopback(address):
    return address.startswith("127.") or address in ("::1", "::ffff:127.0.0.1")


def test_only_smb_and_nfs_listen_beyond_loopback(host):
    public = {(proto, port) for proto, address, port in listening(host) if not is_loopback(address)}
    assert public == EXPECTED, f"listening beyond loopback: {sorted(public)}; expected {sorted(EXPECTED)}"


def test_the_portmapper_listens_nowhere(host):
    on_111 = sorted(s for s in listening(host) if s[2] == 111)
    assert on_111 == [], f"port 111 is bound: {on_111}"
    assert host.run("python3 -c %s 111", CONNECT_PROBE).stdout.strip() == "refused"


@pytest.mark.parametrize("unit", RPC_HELPERS)
def test_rpc_helpers_are_masked_and_stopped(host, unit):
    state = host.run(f"systemctl is-enabled {unit}").stdout.strip()
    assert state == "masked", f"{unit} is {state}: NFSv4 over TCP needs no portmapper or NSM"
    assert host.run(f"systemctl is-active {unit}").stdout.strip() != "active", f"{unit} is running"


def test_smb_over_netbios_port_139_is_refused(host):
    assert host.exists("smbclient"), "the storage prepare installs smbclient"
    # smbclient reads the server's smb.conf; without the override it refuses
    # NetBIOS by itself and never tries the port.
    probe = "smbclient -N -L 127.0.0.1 -m SMB3 --option='disable netbios=no' -p {}"
    control = host.run(probe.format(445))
    assert "CONNECTION_REFUSED" not in control.stdout + control.stderr, "the probe cannot reach smbd at all"
    result = host.run(probe.format(139))
    output = result.stdout + result.stderr
    assert result.rc != 0 and "NT_STATUS_CONNECTION_REFUSED" in output, output
    assert host.run("python3 -c %s 139", CONNECT_PROBE).stdout.strip() == "refused"
