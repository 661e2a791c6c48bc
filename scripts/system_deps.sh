#!/usr/bin/env bash
# Debian packages the test suite drives for real (see docs/local-stack.md).
# As root (CI, a fresh dev container) missing ones are installed with apt-get;
# otherwise this only reports what is missing, and the tests that need it skip
# with a message saying how to install it (never under CI=true).
set -euo pipefail
PACKAGES=(redis-server chromium chromium-driver)
missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "note: missing Debian packages (tests that need them skip): ${missing[*]}"
  echo "      install with: sudo apt-get install --no-install-recommends ${missing[*]}"
fi
