#!/usr/bin/env bash
# Install the Debian packages the test suite needs: postgresql-15, mariadb-server
# and kubernetes-client (skipped when a kubectl is already on PATH).
#
# As root: installs only what is missing (one `apt-get update` first), with
# service start-up suppressed through a temporary policy-rc.d so no system-wide
# PostgreSQL/MariaDB is left running (the tests start their own on random ports).
# Not root: prints what to install and exits 0 (the tests skip what is missing,
# or fail under CI=true).
set -euo pipefail

required=(postgresql-15 mariadb-server)
if ! command -v kubectl >/dev/null 2>&1; then
    required+=(kubernetes-client)
fi

installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# Some package is unpacked but not configured (e.g. an earlier install was interrupted).
half_installed() {
    dpkg-query -W -f='${Status}\n' 2>/dev/null | grep -qvE '^(install|deinstall|purge|hold) ok (installed|not-installed|config-files)$'
}

missing=()
for pkg in "${required[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: ${required[*]} already installed"
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "system-deps: missing Debian packages: ${missing[*]}" >&2
    echo "system-deps: install them with: sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, from pulumi-migrations scripts/setup-system.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=1
fi
cleanup() {
    if [ "$created_policy" -eq 1 ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

if half_installed; then
    echo "system-deps: finishing an interrupted package installation (dpkg --configure -a)"
    dpkg --configure -a || true
    still=()
    for pkg in "${missing[@]}"; do
        installed "$pkg" || still+=("$pkg")
    done
    missing=("${still[@]+"${still[@]}"}")
    if [ ${#missing[@]} -eq 0 ]; then
        echo "system-deps: ${required[*]} installed"
        exit 0
    fi
fi

echo "system-deps: installing ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
for pkg in "${missing[@]}"; do
    if ! installed "$pkg"; then
        echo "system-deps: $pkg is still not installed" >&2
        exit 1
    fi
done
echo "system-deps: installed ${missing[*]}"
