#!/usr/bin/env bash
# Stop what tools/slurm/slurm-up.sh started, by PID file (never by process name).
# Idempotent: a daemon that is not running is skipped. State and logs stay in $SLURM_SCRATCH.
S=${SLURM_SCRATCH:-${TMPDIR:-/tmp}/slurm-ci}
stop() {  # stop <pidfile>: TERM, wait up to 10 s, then KILL
  local f=$1 pid
  [ -s "$f" ] || return 0
  pid=$(cat "$f")
  kill -0 "$pid" 2>/dev/null || { rm -f "$f"; return 0; }
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  rm -f "$f"
  echo "[slurm-down] stopped $f (pid $pid)"
}
for p in "$S/slurmd.pid" "$S/slurmctld.pid" "$S/slurmdbd.pid" "$S/mysql/mysqld.pid" /run/munge/munged.pid; do
  stop "$p"
done
echo "[slurm-down] logs kept in $S"
