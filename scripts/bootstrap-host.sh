#!/usr/bin/env bash
# Make this machine able to run the demo and the tests: Debian packages,
# a running Docker engine, the Python virtualenv and the base image.
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
need_pkgs=()
# chromium and fonts-liberation: the browser test drives Debian's Chromium with
# Playwright (molecule/default/tests/test_browser.py); Playwright downloads no browser.
for pkg in docker.io debootstrap acl python3-venv python3-apt chromium fonts-liberation; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$pkg")
done
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    echo ">> installing Debian packages: ${need_pkgs[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo ">> starting dockerd"
    mkdir -p /var/log
    nohup dockerd >/var/log/coursehub-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 1
    done
    docker info >/dev/null 2>&1 || { tail -20 /var/log/coursehub-dockerd.log; echo "dockerd did not start" >&2; exit 1; }
fi

stamp="$VENV/.requirements-dev.sha256"
want="$(sha256sum requirements-dev.txt | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo ">> creating the virtualenv $VENV"
    python3 -m venv "$VENV"
    export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -r requirements-dev.txt
    echo "$want" >"$stamp"
fi

bash scripts/build-base-image.sh
