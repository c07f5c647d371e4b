#!/usr/bin/env bash
# Proves the Slurm path for real on one machine: starts a single-node
# Slurm (munge, slurmctld, slurmd), submits a sweep as a job array with a
# dependent merge job (deploy/slurm/sweep.sbatch, waiting with
# `sbatch --wait`), runs the same sweep unsharded, requires the merged
# result to be byte-identical, and stops the daemons it started.
#
#   bash deploy/slurm/local-test.sh [FLEETSIM_BINARY]
#
# Needs root (it writes /etc/slurm and starts daemons); installs Debian's
# slurm-wlm and munge with apt when they are missing. Made for sandboxes
# and CI machines: proctrack/linuxproc, task/none, select/cons_tres, no
# accounting.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
bin=$(realpath "${1:-target/release/fleetsim}")
[ -x "$bin" ] || { echo "no fleetsim binary at $bin (cargo build --release first)" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    echo "== installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

work=$(mktemp -d /tmp/fleetsim-slurm.XXXXXX)
host=$(hostname -s)
cpus=$(nproc)
mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2 ))
started=()
restore=()
cleanup() {
    for pidfile in "${started[@]}"; do
        [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    done
    sleep 1
    # Put back what this script replaced or created.
    for f in "${restore[@]}"; do
        if [ -f "$work/backup/$(basename "$f")" ]; then
            cp -p "$work/backup/$(basename "$f")" "$f"
        else
            rm -f "$f"
        fi
    done
    rm -rf "$work"
}
keep() { # keep FILE: back it up (if it exists) to restore on exit
    mkdir -p "$work/backup"
    [ -f "$1" ] && cp -p "$1" "$work/backup/"
    restore+=("$1")
}
trap cleanup EXIT

echo "== starting munge"
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    keep /etc/munge/munge.key
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R root:root /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n >/dev/null 2>&1; then
    # As root in a sandbox: --force accepts root-owned key and socket.
    munged --force --pid-file="$work/munged.pid"
    started+=("$work/munged.pid")
    sleep 1
fi
munge -n | unmunge >/dev/null

echo "== starting slurmctld and slurmd on $host ($cpus CPUs)"
mkdir -p /etc/slurm "$work/spool/ctld" "$work/spool/d" "$work/log"
keep /etc/slurm/slurm.conf
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=fleetsim-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -i
started+=("$work/slurmctld.pid")
slurmd
started+=("$work/slurmd.pid")
for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mix|alloc'; then break; fi
    sleep 1
done
sinfo

echo "== a sweep, sharded over a job array, merged by a dependent job"
sweep="$root/scenarios/sweeps/slurm-check.json"
out="$work/sharded"
(cd "$work" && WAIT=1 FLEETSIM="$bin" SBATCH_EXTRA="--cpus-per-task=1" \
    bash "$root/deploy/slurm/sweep.sbatch" "$sweep" "$out" 3)
ls "$out.shares"

echo "== the same sweep on one machine"
"$bin" sweep "$sweep" --quiet --out "$work/whole" >/dev/null

for f in results.csv results.parquet points.csv runs.jsonl; do
    cmp "$work/whole/$f" "$out/$f"
    echo "identical: $f"
done
echo "slurm: sharded over 3 array tasks and merged = unsharded, byte for byte"
