#!/usr/bin/env bash
# Starts a one-node Slurm on this host for the Slurm executor's tests (test/cli/eval-cluster.test.ts):
# installs Debian's slurm-wlm and munge if they are missing, writes a slurm.conf naming this host
# (CPUs and memory from `slurmd -C`, no cgroups, no accounting), and starts munged, slurmctld and
# slurmd. Idempotent: when the controller answers and the node is usable it returns at once.
# Needs root (or passwordless sudo). Exits non-zero when Slurm could not be started; the test
# then skips itself with a message.
set -euo pipefail

log() { echo "start-slurm: $*" >&2; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else log "needs root or passwordless sudo"; exit 1; fi
fi

node_ready() {
  command -v sinfo >/dev/null 2>&1 || return 1
  scontrol ping 2>/dev/null | grep -q "UP" || return 1
  local state
  state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n1)"
  case "$state" in idle* | mixed* | allocated* | completing*) return 0 ;; *) return 1 ;; esac
}

if node_ready; then
  log "Slurm is already running ($(sinfo -h -N -o '%N %T' | head -n1))"
  exit 0
fi

# 1. Packages.
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 || ! command -v sbatch >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  log "installing slurm-wlm and munge (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge >/tmp/start-slurm-apt.log 2>&1; then
    $SUDO apt-get update -q >>/tmp/start-slurm-apt.log 2>&1 || true
    $SUDO apt-get install -y -q --no-install-recommends slurm-wlm munge >>/tmp/start-slurm-apt.log 2>&1 || {
      tail -n 20 /tmp/start-slurm-apt.log >&2
      log "apt-get install failed"
      exit 1
    }
  fi
fi

# 2. munge: a key, its directories, the daemon.
if [ ! -s /etc/munge/munge.key ]; then
  log "creating /etc/munge/munge.key"
  if command -v mungekey >/dev/null 2>&1; then
    $SUDO mungekey --create --force >/dev/null 2>&1 || $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  else
    $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
fi
$SUDO mkdir -p /run/munge /var/log/munge /var/lib/munge
$SUDO chown munge:munge /etc/munge/munge.key /run/munge /var/log/munge /var/lib/munge
$SUDO chmod 0400 /etc/munge/munge.key
$SUDO chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  log "starting munged"
  $SUDO runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n | unmunge >/dev/null || { log "munged does not answer"; exit 1; }
fi

# 3. slurm.conf for this one host.
host="$(hostname -s)"
node_line="$(slurmd -C | grep '^NodeName=' | sed -e 's/ UpTime=.*//')"
# The host's own name, reached over loopback (CI machines may not resolve their hostname).
conf_dir=/etc/slurm
$SUDO mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
conf="$(cat <<CONF
# Written by scripts/ci/start-slurm.sh: a one-node cluster for vlmpipe's tests.
ClusterName=vlmpipe-ci
SlurmctldHost=${host}(127.0.0.1)
AuthType=auth/munge
CryptoType=crypto/munge
MpiDefault=none
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
InactiveLimit=0
KillWait=10
MinJobAge=600
SlurmctldTimeout=60
SlurmdTimeout=60
${node_line} NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
)"
if [ "$(cat "$conf_dir/slurm.conf" 2>/dev/null)" != "$conf" ]; then
  log "writing $conf_dir/slurm.conf"
  printf '%s\n' "$conf" | $SUDO tee "$conf_dir/slurm.conf" >/dev/null
  # A changed configuration: restart the daemons if they run.
  [ -f /run/slurmctld.pid ] && $SUDO kill "$(cat /run/slurmctld.pid)" 2>/dev/null || true
  [ -f /run/slurmd.pid ] && $SUDO kill "$(cat /run/slurmd.pid)" 2>/dev/null || true
  sleep 1
fi

# 4. The daemons.
if ! scontrol ping 2>/dev/null | grep -q "UP"; then
  log "starting slurmctld"
  $SUDO slurmctld -c 2>/dev/null || $SUDO slurmctld
  for _ in $(seq 1 100); do scontrol ping 2>/dev/null | grep -q "UP" && break; sleep 0.2; done
fi
if ! pgrep -x slurmd >/dev/null 2>&1; then
  log "starting slurmd"
  $SUDO slurmd
fi

for _ in $(seq 1 150); do
  node_ready && break
  state="$(sinfo -h -N -o '%T' 2>/dev/null | head -n1 || true)"
  case "$state" in down* | drain* | fail*) $SUDO scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;; esac
  sleep 0.2
done
if ! node_ready; then
  log "Slurm did not become ready: $(sinfo -h -N -o '%N %T %E' 2>&1 | head -n1)"
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 2>/dev/null || true
  exit 1
fi
log "Slurm is up: $(sinfo -h -N -o '%N %T cpus=%c mem=%m' | head -n1)"
