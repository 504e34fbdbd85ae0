#!/usr/bin/env bash
# Installs the services the test suite needs (redis-server for the shared score cache,
# chromium for the HTML report tests) from Debian packages. Idempotent: when both are
# already on PATH it does nothing, so `npm test` stays fast on a prepared machine.
set -euo pipefail

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-services: missing ${missing[*]}; run as root (or install them yourself): apt-get install redis-server chromium" >&2
  exit 1
fi

echo "install-services: missing ${missing[*]}"
echo "install-services: apt-get update"
apt-get update
echo "install-services: apt-get install -y --no-install-recommends ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
