#!/usr/bin/env bash
# Start (or reuse) the coursehub-demo container and converge site.yml on it.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=coursehub-demo
IMAGE="${COURSEHUB_BASE_IMAGE:-coursehub-base:bookworm}"
PORT=8443

# The accounts' password lives in .demo/password of this checkout. A container
# made by another checkout (or before that file) has other passwords: start
# that one afresh.
CHECKOUT="$(pwd)"
if docker container inspect "$NAME" >/dev/null 2>&1; then
    owner="$(docker container inspect -f '{{ index .Config.Labels "coursehub.checkout" }}' "$NAME")"
    if [ ! -s .demo/password ] || [ "$owner" != "$CHECKOUT" ]; then
        echo ">> removing $NAME, made by another checkout"
        docker rm -f "$NAME" >/dev/null
    fi
fi

if ! docker container inspect "$NAME" >/dev/null 2>&1; then
    echo ">> starting container $NAME"
    docker run -d --name "$NAME" --hostname "$NAME" --label "coursehub.checkout=$CHECKOUT" \
        --cap-add SYS_ADMIN --cap-add NET_ADMIN \
        --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
        --cgroupns=host -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
        --tmpfs /run --tmpfs /run/lock \
        -p "127.0.0.1:${PORT}:${PORT}" \
        "$IMAGE" /lib/systemd/systemd >/dev/null
elif [ "$(docker container inspect -f '{{.State.Running}}' "$NAME")" != "true" ]; then
    docker start "$NAME" >/dev/null
fi

mkdir -p .demo
echo ">> converging site.yml on $NAME (a first run takes a few minutes)"
ansible-playbook -i inventories/demo molecule/shared/prepare.yml playbooks/test-accounts.yml site.yml \
    >.demo/converge.log 2>&1 || { tail -40 .demo/converge.log; echo "converge failed; full log in .demo/converge.log" >&2; exit 1; }
grep -A3 'PLAY RECAP' .demo/converge.log | tail -3

# Wait until the hub answers through the proxy.
for _ in $(seq 1 60); do
    curl -ksf "https://127.0.0.1:${PORT}/hub/api" >/dev/null && break
    sleep 1
done
curl -ksf "https://127.0.0.1:${PORT}/hub/api" >/dev/null || { echo "the hub does not answer on port ${PORT}" >&2; exit 1; }

cat <<MSG

coursehub demo is up: https://127.0.0.1:${PORT}
(self-signed certificate: accept it in the browser)

Log in with any of these users, password: $(cat .demo/password)
  instructors: teacher1 (hub admin), teacher2, ta1
  students:    student1, student2, student3
  no course:   outsider1

Stop it with: make demo-down
MSG
