#!/usr/bin/env bash
# Installs the services the test suite needs (redis-server for the shared score cache,
# chromium for the HTML report tests, and on x86-64 qemu-user, whose qemu-x86_64 runs the
# int8 tests on an emulated CPU without VNNI: test/onnx/int8-emulated.test.ts) from Debian
# packages. Idempotent: when all are already on PATH it does nothing, so `npm test` stays
# fast on a prepared machine.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
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
