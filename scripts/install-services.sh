#!/usr/bin/env bash
# Installs the services the test suite needs (redis-server for the shared score cache,
# chromium for the HTML report tests, and on x86-64 qemu-user, whose qemu-x86_64 runs the
# int8 tests on an emulated CPU without VNNI: test/onnx/int8-emulated.test.ts, postgresql-15
# for the PostgreSQL first stage, python3-torch for `winnow finetune`'s trainer) from Debian
# packages. Idempotent: when all are already on PATH it does nothing, so `npm test` stays
# fast on a prepared machine.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
# Debian's server binaries live outside PATH; tests find them under /usr/lib/postgresql/15/bin.
[ -x /usr/lib/postgresql/15/bin/postgres ] || missing+=(postgresql-15)
# The trainer runs on Debian's python3 (not a pyenv or venv one), which is where python3-torch lands.
/usr/bin/python3 -c 'import torch' >/dev/null 2>&1 || missing+=(python3-torch)
if [ "$(uname -m)" = "x86_64" ]; then
  command -v qemu-x86_64 >/dev/null 2>&1 || missing+=(qemu-user)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-services: missing ${missing[*]}; run as root (or install them yourself): apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-services: missing ${missing[*]}"
echo "install-services: apt-get update"
apt-get update
echo "install-services: apt-get install -y --no-install-recommends ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
