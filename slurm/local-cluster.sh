#!/usr/bin/env bash
# local-cluster.sh -- a single-node Slurm on this machine, for tests and demos.
#
#   slurm/local-cluster.sh start    # munged, slurmctld, slurmd; waits for the node
#   slurm/local-cluster.sh status   # what runs; exit 0 only when all three do
#   slurm/local-cluster.sh stop     # cancels its jobs, stops what start started
#   slurm/local-cluster.sh env      # prints the export line for SLURM_CONF
#
# Everything lives in one folder this script owns, ${H5BATCH_SLURM_DIR:-
# /tmp/h5batch-slurm}: the munge key and socket, slurm.conf, the state and
# spool directories, logs and pid files.  Nothing is written to /etc: Slurm's
# commands find the cluster through SLURM_CONF, so after `start` run
#
#   export SLURM_CONF=/tmp/h5batch-slurm/etc/slurm.conf
#
# (`start` and `env` print that line).  munged runs on a socket of its own,
# so a munged already on the machine is left alone.
#
# Invariants: `start` is idempotent (when our three daemons run it only says
# so); it refuses, changing nothing, when a slurmctld or slurmd that it did
# not start is running, since two clusters on one node would fight over the
# ports and the node name; `stop` kills only the pids recorded in its own pid
# files, and only when they still are the program it started.
#
# The node is sized from nproc and /proc/meminfo.  The settings are the ones
# a requeue-and-resume test needs: `srun --mpi=pmix` (MpiDefault=none, as at
# most sites), cons_tres on CPUs, requeue allowed, no grace
# past the time limit (OverTimeLimit=0), a short KillWait, a short credential
# lifetime (a requeued job waits that long before it may start again) and a
# scheduler that looks at the queue every few seconds.  Process tracking is
# proctrack/linuxproc and there is no cgroup plugin, so it also runs in
# containers and sandboxes without cgroup delegation.  There is no slurmdbd:
# sacct does not work; use `scontrol show job` (kept MinJobAge seconds after
# the end) and the job completion log, log/jobcomp.log (one line per end
# of a start; a requeued start shows JobState=PENDING).  slurmctld checks
# time limits every 30 s: --signal=B:USR1@N arrives between N + 30 and N
# seconds before the limit, and the limit itself is enforced up to 30 s late.
#
# Environment: H5BATCH_SLURM_DIR (the folder), H5BATCH_SLURM_PORT (slurmctld's
# port, default 6817; slurmd uses the next one), H5BATCH_SLURM_TIMEOUT
# (seconds to wait for the node at start, default 60).
set -euo pipefail

DIR=${H5BATCH_SLURM_DIR:-/tmp/h5batch-slurm}
PORT=${H5BATCH_SLURM_PORT:-6817}
WAIT_S=${H5BATCH_SLURM_TIMEOUT:-60}
CONF=$DIR/etc/slurm.conf
SOCKET=$DIR/run/munge.socket.2
NODE=$(hostname -s)
DAEMONS=(munged slurmctld slurmd)

say() { printf 'local-cluster: %s\n' "$*"; }
die() { printf 'local-cluster: error: %s\n' "$1" >&2; exit "${2:-1}"; }

pidfile() { printf '%s/run/%s.pid' "$DIR" "$1"; }

# The pid in NAME's pid file when that process is alive and is NAME; else "".
our_pid() {
    local pid comm
    pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
    [[ $comm == "$1" ]] && printf '%s' "$pid"
    return 0
}

# " (SLURM_CONF=...)" when process $1 was started with one.
conf_of() {
    local conf
    conf=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^SLURM_CONF=//p')
    [[ -z $conf ]] || printf ' (SLURM_CONF=%s)' "$conf"
}

# Pids of slurmctld/slurmd processes on this machine that we did not start
# (a daemon of ours that is still forking shares its process group).
foreign_pids() {
    local name pid ours group found=""
    for name in slurmctld slurmd; do
        ours=$(our_pid "$name")
        group=""
        [[ -z $ours ]] || group=$(ps -o pgid= -p "$ours" | tr -d ' ')
        for pid in $(pgrep -x "$name" || true); do
            [[ $pid == "$ours" ]] && continue
            [[ -n $group && $(ps -o pgid= -p "$pid" | tr -d ' ') == "$group" ]] && continue
            found+=" $name:$pid$(conf_of "$pid")"
        done
    done
    printf '%s' "${found# }"
}

need_programs() {
    local p missing=""
    for p in munged slurmctld slurmd scontrol sinfo sbatch srun; do
        command -v "$p" >/dev/null 2>&1 || missing+=" $p"
    done
    [[ -z $missing ]] || die "missing:$missing; install with: apt-get install -y slurm-wlm munge"
}

make_dirs() {
    mkdir -p "$DIR"/{etc,munge,run,log,state} "$DIR/spool/$NODE"
    chmod 755 "$DIR"
    chmod 700 "$DIR/munge"
    if [[ ! -s $DIR/munge/munge.key ]]; then
        (umask 077; head -c 1024 /dev/urandom >"$DIR/munge/munge.key")
    fi
    chmod 400 "$DIR/munge/munge.key"
}

mem_mib() {
    awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.95 }' /proc/meminfo
}

write_conf() {
    local cpus mem user
    cpus=$(nproc)
    mem=$(mem_mib)
    user=$(id -un)
    cat >"$CONF" <<EOF
# Written by slurm/local-cluster.sh: a one-node cluster for h5batch's tests.
ClusterName=h5batch
SlurmctldHost=$NODE(127.0.0.1)
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=10
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$DIR/etc/plugstack.conf
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.log
JobRequeue=1
OverTimeLimit=0
KillWait=5
InactiveLimit=0
MinJobAge=600
SlurmctldTimeout=30
SlurmdTimeout=60
MessageTimeout=10
ReturnToService=2
SlurmdParameters=config_overrides
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
    : >"$DIR/etc/plugstack.conf"
}

start_munged() {
    [[ -n $(our_pid munged) ]] && return 0
    rm -f "$SOCKET" "$SOCKET.lock"
    munged --force --key-file="$DIR/munge/munge.key" --socket="$SOCKET" \
        --pid-file="$(pidfile munged)" --log-file="$DIR/log/munged.log" \
        --seed-file="$DIR/munge/munged.seed" \
        || die "munged did not start; see $DIR/log/munged.log"
    munge -S "$SOCKET" -n | unmunge -S "$SOCKET" >/dev/null \
        || die "munged runs but does not answer on $SOCKET"
}

start_slurm() {
    export SLURM_CONF=$CONF
    if [[ -z $(our_pid slurmctld) ]]; then
        # -c: a fresh controller state (no jobs of an earlier start).
        slurmctld -c || die "slurmctld did not start; see $DIR/log/slurmctld.log"
    fi
    if [[ -z $(our_pid slurmd) ]]; then
        slurmd -N "$NODE" || die "slurmd did not start; see $DIR/log/slurmd.log"
    fi
}

# Wait until the node is idle (or allocated/mixed when jobs already run).
wait_node() {
    local state i
    for ((i = 0; i < WAIT_S * 2; i++)); do
        state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
        case $state in
            idle*|mixed*|allocated*|completing*) return 0 ;;
            down*|drain*|fail*)
                scontrol update NodeName="$NODE" State=RESUME >/dev/null 2>&1 || true ;;
        esac
        sleep 0.5
    done
    die "node $NODE not ready after ${WAIT_S}s (state '${state:-none}'); see $DIR/log/"
}

all_running() {
    local d
    for d in "${DAEMONS[@]}"; do [[ -n $(our_pid "$d") ]] || return 1; done
}

cmd_start() {
    need_programs
    local foreign
    foreign=$(foreign_pids)
    [[ -z $foreign ]] || die "a Slurm this script did not start is running ($foreign); \
stop it first, or use it directly with its own configuration" 3
    if all_running; then
        say "already running in $DIR"
    else
        make_dirs
        [[ -n $(our_pid slurmctld) ]] || write_conf
        start_munged
        start_slurm
        say "started in $DIR (node $NODE: $(nproc) CPUs, $(mem_mib) MiB)"
    fi
    export SLURM_CONF=$CONF
    wait_node
    say "export SLURM_CONF=$CONF"
}

# Cancel our jobs and give their steps time to end before slurmd goes away.
cancel_jobs() {
    [[ -n $(our_pid slurmctld) ]] || return 0
    export SLURM_CONF=$CONF
    scancel --quiet --user="$(id -un)" 2>/dev/null || true
    local i
    for ((i = 0; i < 40; i++)); do
        [[ -z $(squeue -h -o %i 2>/dev/null) ]] && return 0
        sleep 0.5
    done
    say "warning: jobs still listed after 20 s: $(squeue -h -o '%i:%T' | tr '\n' ' ')"
}

stop_one() {
    local name=$1 pid i
    pid=$(our_pid "$name")
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    # Wait on the pid itself: a daemon removes its pid file before it exits.
    for ((i = 0; i < 40; i++)); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || break
        sleep 0.25
    done
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
}

cmd_stop() {
    if [[ ! -d $DIR/run ]]; then
        say "nothing to stop in $DIR"
        return 0
    fi
    cancel_jobs
    stop_one slurmd
    stop_one slurmctld
    stop_one munged
    say "stopped (logs kept in $DIR/log)"
}

cmd_status() {
    local d pid rc=0
    for d in "${DAEMONS[@]}"; do
        pid=$(our_pid "$d")
        if [[ -n $pid ]]; then say "$d running (pid $pid)"; else say "$d not running"; rc=1; fi
    done
    local foreign
    foreign=$(foreign_pids)
    [[ -z $foreign ]] || say "not ours: $foreign"
    if [[ -n $(our_pid slurmctld) ]]; then
        export SLURM_CONF=$CONF
        sinfo -h -N -o '  node %N: %T, %c CPUs, %m MiB' 2>/dev/null || true
        squeue -h -o '  job %i (%j): %T %M %R' 2>/dev/null || true
        say "export SLURM_CONF=$CONF"
    fi
    return "$rc"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) printf 'export SLURM_CONF=%s\n' "$CONF" ;;
    *) printf 'usage: %s start|stop|status|env\n' "$0" >&2; exit 2 ;;
esac
