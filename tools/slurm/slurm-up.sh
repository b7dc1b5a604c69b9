#!/usr/bin/env bash
# Start a single-node SLURM cluster on localhost for the SLURM tests (tests/test_slurm.py).
#
# Debian/Ubuntu, as root, no systemd needed. Idempotent: daemons already running are left alone.
# WITH_DBD=1 (default) adds slurmdbd + MariaDB so that `sacct` returns real accounting records.
# State, logs and PID files go to $SLURM_SCRATCH (default ${TMPDIR:-/tmp}/slurm-ci);
# tools/slurm/slurm-down.sh stops everything by PID.
#
# Usage: sudo bash tools/slurm/slurm-up.sh        (then: sinfo; make test)
set -euo pipefail
S=${SLURM_SCRATCH:-${TMPDIR:-/tmp}/slurm-ci}
WITH_DBD=${WITH_DBD:-1}
# Seconds a requeued job waits before it may start again (Slurm's default is 120 s; the
# requeue test needs it short). Production clusters keep their own value.
CRED_EXPIRE=${SLURM_CRED_EXPIRE:-10}
SECONDS=0
el() { echo "[slurm-up ${SECONDS}s] $*"; }
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
[ "$(id -u)" = 0 ] || { echo "slurm-up: must run as root (it installs packages and starts daemons)" >&2; exit 1; }

pkgs="slurmctld slurmd slurm-client munge"
[ "$WITH_DBD" = 1 ] && pkgs="$pkgs slurmdbd mariadb-server"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
  el "apt installed:$missing"
fi
mkdir -p "$S/state" "$S/spool" /etc/slurm

# munge (authentication); the Debian postinst normally creates the key
[ -s /etc/munge/munge.key ] || { mungekey -c -k /etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key; }
install -d -o munge -g munge -m 755 /run/munge
alive /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged
munge -n | unmunge >/dev/null
el "munged up (pid $(cat /run/munge/munged.pid))"

MEM=$(( $(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo) * 8 / 10 ))
ACCT="AccountingStorageType=accounting_storage/none"
if [ "$WITH_DBD" = 1 ]; then
  ACCT=$'AccountingStorageType=accounting_storage/slurmdbd\nAccountingStorageHost=localhost'
  SOCK=$S/mysql/mysqld.sock
  if ! alive "$S/mysql/mysqld.pid"; then
    install -d -o mysql -g mysql "$S/mysql"
    [ -d "$S/mysql/data/mysql" ] || mariadb-install-db --no-defaults --user=mysql --datadir="$S/mysql/data" \
      --auth-root-authentication-method=socket >"$S/mysql-install.log" 2>&1
    setsid mariadbd --no-defaults --user=mysql --datadir="$S/mysql/data" --socket="$SOCK" \
      --pid-file="$S/mysql/mysqld.pid" --bind-address=127.0.0.1 --port=3306 --log-error="$S/mysql/err.log" \
      --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 </dev/null >/dev/null 2>&1 &
  fi
  for _ in $(seq 1 120); do mariadb --socket="$SOCK" -e 'select 1' >/dev/null 2>&1 && break; sleep 0.25; done
  mariadb --socket="$SOCK" -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurmpw'; GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';"
  el "mariadb up (pid $(cat "$S/mysql/mysqld.pid"))"
  cat > /etc/slurm/slurmdbd.conf <<EOC
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=3306
StorageUser=slurm
StoragePass=slurmpw
StorageLoc=slurm_acct_db
LogFile=$S/slurmdbd.log
PidFile=$S/slurmdbd.pid
EOC
  chmod 600 /etc/slurm/slurmdbd.conf
  alive "$S/slurmdbd.pid" || slurmdbd
fi

# Must be /etc/slurm/slurm.conf: snakemake-executor-plugin-slurm-jobstep drops SLURM_CONF before
# its inner srun.
cat > /etc/slurm/slurm.conf <<EOC
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
AuthInfo=cred_expire=$CRED_EXPIRE
CredType=cred/munge
MailProg=/bin/true
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/linux
$ACCT
JobCompType=jobcomp/none
MinJobAge=300
KillWait=5
InactiveLimit=0
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOC
if [ "$WITH_DBD" = 1 ]; then
  for _ in $(seq 1 120); do
    sacctmgr -n -P list cluster format=cluster 2>/dev/null | grep -qx ci && break
    sacctmgr -i add cluster ci >/dev/null 2>&1 && break
    sleep 0.25
  done
  el "slurmdbd up (pid $(cat "$S/slurmdbd.pid")), cluster ci registered"
fi
alive "$S/slurmctld.pid" || slurmctld
alive "$S/slurmd.pid" || slurmd -N localhost
for _ in $(seq 1 120); do sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break; sleep 0.25; done
sinfo -h -o '%T' | grep -qE '^(idle|mixed|allocated)' || {
  echo "slurm-up: node not up" >&2; tail -20 "$S/slurmctld.log" "$S/slurmd.log" >&2; exit 1; }
el "slurm up: $(sinfo -h -o '%P %a %D %T %N')"
el "logs: $S/slurmctld.log $S/slurmd.log$([ "$WITH_DBD" = 1 ] && echo " $S/slurmdbd.log $S/mysql/err.log")"
el "stop with: bash $(dirname "$0")/slurm-down.sh"
