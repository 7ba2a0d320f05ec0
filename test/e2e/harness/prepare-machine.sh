#!/usr/bin/env bash
# Makes this machine able to run relay's e2e tests: the tools the harness shells out to, and a
# running Docker engine. Idempotent; run as root by CI before `vitest run --project e2e`.
set -euo pipefail

fail() { echo "prepare-machine: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (installs packages, starts dockerd)"

# Tools the harness uses: docker engine, debootstrap (host rootfs), pebble (fake Let's Encrypt),
# ssh/ssh-keyscan/ssh-keygen (talk to hosts), openssl (pebble's listener certificate); the keyring
# lets debootstrap verify trixie. Recommends are kept, as in the recipe proven on this machine.
packages=(docker.io debootstrap debian-archive-keyring pebble openssh-client openssl ca-certificates)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  echo "prepare-machine: installing ${missing[*]}"
  # Only refresh package lists when the install cannot find something: `apt-get update` is slow.
  # (A non-zero exit can also come from docker.io's postinst failing to start a service where no
  # init system runs; the command check below decides whether that matters.)
  if ! timeout 600 apt-get install -y "${missing[@]}"; then
    timeout 300 apt-get update || fail "apt-get update failed"
    timeout 600 apt-get install -y "${missing[@]}" \
      || echo "prepare-machine: apt-get install exited non-zero; checking what is usable" >&2
  fi
fi

for cmd in docker dockerd debootstrap pebble pebble-challtestsrv ssh ssh-keyscan ssh-keygen openssl; do
  command -v "$cmd" >/dev/null || fail "$cmd is not installed (apt-get install failed?)"
done

if timeout 10 docker info >/dev/null 2>&1; then
  echo "prepare-machine: docker engine ready"
  exit 0
fi

# No init system runs dockerd in CI sandboxes, so start it by hand, detached from this shell.
# (pid files rather than pgrep: procps is not on every minimal image.)
pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
  echo "prepare-machine: dockerd (pid $pid) is running but not answering yet; waiting"
else
  echo "prepare-machine: starting dockerd (log: /var/log/dockerd.log)"
  # Every descriptor above stderr is closed for dockerd: run under `flock relay-e2e.lock`, an
  # inherited lock descriptor would keep the e2e lock held for as long as dockerd lives.
  (
    for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
    exec setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null
  ) &
  pid=$!
fi

for _ in $(seq 1 30); do
  if timeout 5 docker info >/dev/null 2>&1; then
    echo "prepare-machine: docker engine ready"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || kill -0 "$(cat /var/run/docker.pid 2>/dev/null)" 2>/dev/null || break
  sleep 1
done

reason=$(grep -iE 'level=(fatal|error)|failed' /var/log/dockerd.log 2>/dev/null | tail -n 1 | cut -c1-300)
fail "docker engine did not come up within 30 s: ${reason:-see /var/log/dockerd.log}"
