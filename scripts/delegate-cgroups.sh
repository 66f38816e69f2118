#!/usr/bin/env bash
# Delegates cgroups to USER once, so @hopgen/local-sandbox enforces memory, process and CPU limits
# when USER runs it without root (rootless mode). Run as root: `sudo bash scripts/delegate-cgroups.sh USER`.
#
# cgroup v1 and hybrid hosts: makes hopgen-delegate-<uid> at the top of each hierarchy the server uses
# (memory, pids, cpu, freezer and the v2 `unified` one) and gives USER the directory and its
# cgroup.procs, the way systemd delegates a subtree: USER may create cgroups below it and set their
# limits, but not the limits of hopgen-delegate-<uid> itself, which an administrator may set to cap
# all of USER's sandboxes together. Pure cgroup v2 hosts with systemd need nothing: every user's
# user@UID.service is delegated already (start the server inside it, see docs/code-execution.md).
# Safe to run again. Undo: rmdir /sys/fs/cgroup/*/hopgen-delegate-<uid> (once no server runs).
set -euo pipefail

user=${1:-}
if [ -z "$user" ]; then
  echo "Usage: sudo bash scripts/delegate-cgroups.sh USER" >&2
  exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "Delegating cgroups needs root. Run: sudo bash $0 $user" >&2
  exit 1
fi
uid=$(id -u "$user")
if [ "$uid" -eq 0 ]; then
  echo "$user is root, which needs no delegation." >&2
  exit 0
fi
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  echo "This host has pure cgroup v2: systemd already delegates user@$uid.service to $user;" \
    "start the server inside it (systemd-run --user --scope -p Delegate=yes ...)."
  exit 0
fi
name="hopgen-delegate-$uid"
delegated=()
for controller in memory pids cpu freezer unified; do
  hierarchy=/sys/fs/cgroup/$controller
  # Only mounted cgroup hierarchies: a plain directory here would make this a no-op that looks done.
  if ! grep -qs " $hierarchy cgroup2\? " /proc/self/mounts; then
    continue
  fi
  mkdir -p "$hierarchy/$name"
  chown "$uid" "$hierarchy/$name" "$hierarchy/$name/cgroup.procs"
  delegated+=("$hierarchy/$name")
done
if [ "${#delegated[@]}" -eq 0 ]; then
  echo "No cgroup v1 hierarchy is mounted under /sys/fs/cgroup; nothing to delegate." >&2
  exit 1
fi
echo "Delegated to $user (uid $uid): ${delegated[*]}"
