#!/usr/bin/env bash
# local-cluster.sh -- a single-node Slurm on this machine, for tests and demos.
#
#   slurm/local-cluster.sh start    # munged, slurmctld, slurmd; waits for the node
#   slurm/local-cluster.sh start --nodes N   # N nodes node1..nodeN (below)
#   slurm/local-cluster.sh status   # what runs; exit 0 only when all three do
#   slurm/local-cluster.sh stop     # cancels its jobs, stops what start started
#   slurm/local-cluster.sh env      # prints the export line for SLURM_CONF (and
#                                   # on several nodes Open MPI's interfaces)
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
# Several nodes (`start --nodes N`, N >= 2; the default 1 is the one-node
# cluster above).  Each node is a Linux network namespace and a UTS namespace
# of its own, with hostname nodeK, joined by a veth pair to a bridge that the
# script makes (h5b<PORT>br); slurmctld runs in a network namespace of its
# own on the same bridge, and one `slurmd -N nodeK` runs inside node K's
# namespaces.  The addresses are 10.231.S.0/24, S = PORT mod 256: the host's
# end of the bridge .1 (for sbatch, squeue and the like run from this
# shell), slurmctld .254, node K .(10 + K); the script assigns them only to
# the links it made, and refuses to start when the host already routes that
# subnet.  Nothing else is contacted.  The mount and PID namespaces are the
# host's: every node sees the same files at the same paths, as on a parallel
# file system, and munged's socket is reachable from every node.  Each node
# has its own spool directory, pid file, log and TmpFS (spool/nodeK,
# run/slurmd-nodeK.pid, log/slurmd-nodeK.log, tmp/nodeK: Slurm's PMIx plugin
# makes its per-step directories in TmpFS, named without the node, so nodes
# sharing one /tmp would collide).  Every task, the batch script's too, gets
# OMPI_MCA_btl_tcp_if_include and OMPI_MCA_oob_tcp_if_include set to the
# subnet (a TaskProlog), so that Open MPI talks between nodes over the veth
# links only; `env` prints them for an mpirun started from this shell.  The
# prolog also gives each node a folder of its own for Open MPI's shared-
# memory files ($SHM/nodeK: btl vader and osc sm backing directories), as
# each node of a real cluster has its own /dev/shm.  `stop` also
# deletes the namespaces, the links and the bridge, after ending every
# process still inside a namespace of ours.  Root only (ip netns, unshare).
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
NODES_FILE=$DIR/etc/nodes
# Names of the multi-node cluster's links and namespaces (at most 15 bytes).
TAG=h5b$PORT
BRIDGE=${TAG}br
NS_CTL=${TAG}ctl
SUBNET_BYTE=$((PORT % 256))
NET=10.231.$SUBNET_BYTE
# Several nodes: each node's shared-memory files (Open MPI's backing files).
SHM=/dev/shm/h5batch-slurm-$PORT
CTL_ADDR=$NET.254
HOST_ADDR=$NET.1

NS_DIR=$DIR/ns

say() { printf 'local-cluster: %s\n' "$*"; }
die() { printf 'local-cluster: error: %s\n' "$1" >&2; exit "${2:-1}"; }

pidfile() { printf '%s/run/%s.pid' "$DIR" "$1"; }

# The number of nodes of the cluster in $DIR (1 when it was never started).
node_count() {
    local n
    n=$(cat "$NODES_FILE" 2>/dev/null) || n=1
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1)) || n=1
    printf '%s' "$n"
}

# The node names of a cluster of $1 nodes: this host alone, or node1..nodeN.
node_names() {
    local k
    if (($1 == 1)); then printf '%s\n' "$NODE"; return; fi
    for ((k = 1; k <= $1; k++)); do printf 'node%d\n' "$k"; done
}

# The pid-file names of the daemons of a cluster of $1 nodes: slurmd's is
# slurmd-nodeK on several nodes (SlurmdPidFile=.../slurmd-%n.pid).
daemon_names() {
    local n
    if (($1 == 1)); then printf '%s\n' "${DAEMONS[@]}"; return; fi
    printf '%s\n' munged slurmctld
    for n in $(node_names "$1"); do printf 'slurmd-%s\n' "$n"; done
}

# The pid in pid file $1 (run/$1.pid) when that process is alive and is the
# program the name starts with (slurmd-node2: slurmd); else "".
our_pid() {
    local pid comm
    pid=$(cat "$(pidfile "$1")" 2>/dev/null) || return 0
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
    [[ $comm == "${1%%-*}" ]] && printf '%s' "$pid"
    return 0
}

# " (SLURM_CONF=...)" when process $1 was started with one.
conf_of() {
    local conf
    conf=$(tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | sed -n 's/^SLURM_CONF=//p')
    [[ -z $conf ]] || printf ' (SLURM_CONF=%s)' "$conf"
}

# Pids of slurmctld/slurmd processes in this shell's network namespace that
# we did not start (a daemon of ours that is still forking shares its
# process group).  Daemons in other network namespaces (a multi-node
# cluster's) cannot take this one's ports, so they do not count.
foreign_pids() {
    local name pid ours group found="" here
    here=$(readlink /proc/self/ns/net)
    for name in slurmctld slurmd; do
        ours=$(our_pid "$name")
        group=""
        [[ -z $ours ]] || group=$(ps -o pgid= -p "$ours" | tr -d ' ')
        for pid in $(pgrep -x "$name" || true); do
            [[ $pid == "$ours" ]] && continue
            [[ -n $group && $(ps -o pgid= -p "$pid" | tr -d ' ') == "$group" ]] && continue
            [[ $(readlink "/proc/$pid/ns/net" 2>/dev/null) == "$here" ]] || continue
            found+=" $name:$pid$(conf_of "$pid")"
        done
    done
    printf '%s' "${found# }"
}

need_programs() {
    local p missing=""
    for p in munged slurmctld slurmd scontrol sinfo sbatch srun "$@"; do
        command -v "$p" >/dev/null 2>&1 || missing+=" $p"
    done
    [[ -z $missing ]] || die "missing:$missing; install with: apt-get install -y slurm-wlm munge iproute2 util-linux"
}

make_dirs() {
    local n
    mkdir -p "$DIR"/{etc,munge,run,log,state}
    for n in $(node_names "$1"); do mkdir -p "$DIR/spool/$n"; done
    # Several nodes: each its own TmpFS (TmpFS=$DIR/tmp/%n).
    if (($1 > 1)); then
        for n in $(node_names "$1"); do mkdir -p "$DIR/tmp/$n" "$SHM/$n"; done
    fi
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

# slurm.conf's lines that differ between one node and several ($1 nodes).
conf_nodes() {
    local cpus=$2 mem=$3 k
    if (($1 == 1)); then
        cat <<EOF
SlurmctldHost=$NODE(127.0.0.1)
SlurmdPidFile=$(pidfile slurmd)
SlurmdLogFile=$DIR/log/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
        return
    fi
    cat <<EOF
SlurmctldHost=$NODE($CTL_ADDR)
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
TmpFS=$DIR/tmp/%n
TaskProlog=$DIR/etc/task-prolog.sh
EOF
    for ((k = 1; k <= $1; k++)); do
        printf 'NodeName=node%d NodeAddr=%s CPUs=%s RealMemory=%s State=UNKNOWN\n' \
            "$k" "$NET.$((10 + k))" "$cpus" "$((mem / $1))"
    done
    printf 'PartitionName=debug Nodes=node[1-%d] Default=YES MaxTime=INFINITE State=UP\n' "$1"
}

# Open MPI between nodes: the bridge's subnet only (a task prolog's
# "export" lines go into every task's environment, the batch script's too).
write_task_prolog() {
    cat >"$DIR/etc/task-prolog.sh" <<EOF
#!/bin/sh
# Written by slurm/local-cluster.sh: Open MPI uses the nodes' links only.
echo "export OMPI_MCA_btl_tcp_if_include=$NET.0/24"
echo "export OMPI_MCA_oob_tcp_if_include=$NET.0/24"
# Each node its own shared-memory files, as each has its own /dev/shm on a
# real cluster (here the nodes share the host's /dev/shm).
echo "export OMPI_MCA_btl_vader_backing_directory=$SHM/\$(hostname)"
echo "export OMPI_MCA_osc_sm_backing_directory=$SHM/\$(hostname)"
EOF
    chmod 755 "$DIR/etc/task-prolog.sh"
}

write_conf() {
    local cpus mem user what=one-node
    cpus=$(nproc)
    mem=$(mem_mib)
    user=$(id -un)
    (($1 == 1)) || what="$1-node"
    cat >"$CONF" <<EOF
# Written by slurm/local-cluster.sh: a $what cluster for h5batch's tests.
ClusterName=h5batch
$(conf_nodes "$1" "$cpus" "$mem")
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
SlurmctldLogFile=$DIR/log/slurmctld.log
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
EOF
    : >"$DIR/etc/plugstack.conf"
    write_mpi_conf
    (($1 == 1)) || write_task_prolog
}

# Slurm's PMIx plugin: every fence as a ring.  Its default ("mixed") runs
# the barrier that ends MPI_Init (a fence without data) as a tree, and
# Slurm 22.05's tree fence can let ranks of one node out of that barrier
# while a rank of the other node still waits in the fence before it: their
# first message then reaches a rank whose PML has not registered its
# handlers, and Open MPI 4.1's TCP BTL calls a null pointer (SIGSEGV in
# MPI_Init).  Measured on 2 nodes x 8 ranks with a 10-line MPI program:
# 2 crashes in 73 starts with the default, 9 in 40 with tree, none in 200
# with ring (SLURM_PMIX_FENCE) and none in 150 with this file.
# slurm/h5batch.sbatch asks for the same (SLURM_PMIX_FENCE).
write_mpi_conf() {
    cat >"$DIR/etc/mpi.conf" <<EOF
# Written by slurm/local-cluster.sh (see write_mpi_conf there).
PMIxCollFence=ring
EOF
}

# ---- the nodes' namespaces and links (several nodes only) ------------------

netns_exists() { [[ -e /run/netns/$1 ]]; }
link_exists() { ip link show "$1" >/dev/null 2>&1; }

# Network namespace $1 joined to the bridge by veth $2 (its end inside is
# eth0), with address $3; a no-op for what exists already.
add_netns() {
    netns_exists "$1" || ip netns add "$1"
    if ! link_exists "$2"; then
        ip link add "$2" type veth peer name eth0 netns "$1"
        ip -n "$1" addr add "$3/24" dev eth0
    fi
    ip link set "$2" master "$BRIDGE" up
    ip -n "$1" link set lo up
    ip -n "$1" link set eth0 up
}

# Node K's UTS namespace, kept by a bind mount on $NS_DIR/nodeK, hostname nodeK.
add_uts() {
    local file=$NS_DIR/node$1
    mountpoint -q "$file" 2>/dev/null && return 0
    : >"$file"
    unshare --uts="$file" hostname "node$1"
}

# Refuse a subnet this host already has an address or a route in, unless
# it is our own bridge's.
check_subnet() {
    local used
    used=$(ip -4 -o addr show | awk -v net="$NET." 'index($4, net) == 1 { print $2 ": " $4 }' \
           | grep -v "^$BRIDGE:" || true)
    used+=$(ip -4 route show | awk -v net="$NET." 'index($1, net) == 1' | grep -v "dev $BRIDGE" || true)
    [[ -z $used ]] || die "the subnet $NET.0/24 (from port $PORT) is in use on this host ($used); \
choose another H5BATCH_SLURM_PORT" 3
}

net_up() {
    local k
    check_subnet
    # Namespaces of this port with processes in them and no slurmctld of
    # ours: another folder's cluster on the same port.
    if [[ -z $(our_pid slurmctld) ]] && netns_exists "$NS_CTL" \
        && [[ -n $(ip netns pids "$NS_CTL" 2>/dev/null) ]]; then
        die "namespace $NS_CTL of port $PORT is in use by a cluster not started from $DIR; \
stop that one (its H5BATCH_SLURM_DIR) or choose another H5BATCH_SLURM_PORT" 3
    fi
    mkdir -p "$NS_DIR"
    if ! link_exists "$BRIDGE"; then
        ip link add "$BRIDGE" type bridge
        ip addr add "$HOST_ADDR/24" dev "$BRIDGE"
    fi
    ip link set "$BRIDGE" up
    add_netns "$NS_CTL" "${TAG}vc" "$CTL_ADDR"
    for ((k = 1; k <= $1; k++)); do
        add_netns "${TAG}n$k" "${TAG}v$k" "$NET.$((10 + k))"
        add_uts "$k"
    done
}

# End every process still inside one of our network namespaces: only what
# this cluster started can be there (job steps, ranks, a stray daemon).
kill_in_netns() {
    local ns pids sig
    for sig in TERM KILL; do
        pids=""
        for ns in "$@"; do
            netns_exists "$ns" && pids+=" $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
        done
        [[ -n ${pids// /} ]] || return 0
        # shellcheck disable=SC2086  # a list of pids
        kill -"$sig" $pids 2>/dev/null || true
        [[ $sig == KILL ]] || sleep 2
    done
}

# Our namespaces, links, bridge and UTS mounts, whatever is left of them.
net_down() {
    local ns file spaces=("$NS_CTL")
    for ns in $(ip netns list | awk '{ print $1 }'); do
        [[ $ns == "${TAG}n"[0-9]* ]] && spaces+=("$ns")
    done
    kill_in_netns "${spaces[@]}"
    for ns in "${spaces[@]}"; do
        ! netns_exists "$ns" || ip netns delete "$ns"
    done
    ! link_exists "$BRIDGE" || ip link delete "$BRIDGE"
    for file in "$NS_DIR"/node*; do
        [[ -e $file ]] || continue
        ! mountpoint -q "$file" || umount "$file"
        rm -f "$file"
    done
}

# Run "$@" inside node $1's namespaces (network and hostname).
in_node() {
    local k=${1#node}
    shift
    nsenter --net="/run/netns/${TAG}n$k" --uts="$NS_DIR/node$k" "$@"
}

# ---- the daemons -------------------------------------------------------------

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
    local n
    export SLURM_CONF=$CONF
    if (($1 == 1)); then
        if [[ -z $(our_pid slurmctld) ]]; then
            # -c: a fresh controller state (no jobs of an earlier start).
            slurmctld -c || die "slurmctld did not start; see $DIR/log/slurmctld.log"
        fi
        if [[ -z $(our_pid slurmd) ]]; then
            slurmd -N "$NODE" || die "slurmd did not start; see $DIR/log/slurmd.log"
        fi
        return 0
    fi
    if [[ -z $(our_pid slurmctld) ]]; then
        nsenter --net="/run/netns/$NS_CTL" slurmctld -c \
            || die "slurmctld did not start; see $DIR/log/slurmctld.log"
    fi
    for n in $(node_names "$1"); do
        [[ -n $(our_pid "slurmd-$n") ]] && continue
        in_node "$n" slurmd -N "$n" || die "slurmd -N $n did not start; see $DIR/log/slurmd-$n.log"
    done
}

# Wait until every node is idle (or allocated/mixed when jobs already run).
wait_nodes() {
    local state i n pending
    for ((i = 0; i < WAIT_S * 2; i++)); do
        pending=""
        for n in $(node_names "$1"); do
            state=$(sinfo -h -n "$n" -o '%T' 2>/dev/null || true)
            case $state in
                idle*|mixed*|allocated*|completing*) continue ;;
                down*|drain*|fail*)
                    scontrol update NodeName="$n" State=RESUME >/dev/null 2>&1 || true ;;
            esac
            pending+=" $n:${state:-none}"
        done
        [[ -n $pending ]] || return 0
        sleep 0.5
    done
    die "nodes not ready after ${WAIT_S}s (${pending# }); see $DIR/log/"
}

all_running() {
    local d
    for d in $(daemon_names "$1"); do [[ -n $(our_pid "$d") ]] || return 1; done
}

# The node count asked for by `start [--nodes N]`.
parse_nodes() {
    local n=1
    while (($#)); do
        case $1 in
            --nodes) (($# >= 2)) || die "--nodes needs a number" 2; n=$2; shift 2 ;;
            --nodes=*) n=${1#--nodes=}; shift ;;
            *) die "start: unknown argument '$1' (expected --nodes N)" 2 ;;
        esac
    done
    if ! [[ $n =~ ^[0-9]+$ ]] || ((n < 1 || n > 200)); then
        die "--nodes $n: expected 1 to 200" 2
    fi
    printf '%s' "$n"
}

cmd_start() {
    local nodes running
    nodes=$(parse_nodes "$@")
    if ((nodes == 1)); then need_programs; else need_programs ip nsenter unshare mountpoint; fi
    running=$(node_count)
    if [[ -n $(our_pid slurmctld) ]] && ((running != nodes)); then
        die "running with $running node(s) in $DIR; stop it before starting $nodes" 3
    fi
    ((nodes == 1)) || [[ $(id -u) == 0 ]] || die "--nodes $nodes needs root (network namespaces)" 2
    local foreign
    foreign=$(foreign_pids)
    ((nodes > 1)) || [[ -z $foreign ]] || die "a Slurm this script did not start is running ($foreign); \
stop it first, or use it directly with its own configuration" 3
    if all_running "$nodes"; then
        say "already running in $DIR"
    else
        make_dirs "$nodes"
        if [[ -z $(our_pid slurmctld) ]]; then
            write_conf "$nodes"
            printf '%s\n' "$nodes" >"$NODES_FILE"
        fi
        ((nodes == 1)) || net_up "$nodes"
        start_munged
        start_slurm "$nodes"
        if ((nodes == 1)); then
            say "started in $DIR (node $NODE: $(nproc) CPUs, $(mem_mib) MiB)"
        else
            say "started in $DIR ($nodes nodes node1..node$nodes on bridge $BRIDGE, $NET.0/24;" \
                "each $(nproc) CPUs, $(($(mem_mib) / nodes)) MiB)"
        fi
    fi
    export SLURM_CONF=$CONF
    wait_nodes "$nodes"
    say "export SLURM_CONF=$CONF"
    ((nodes == 1)) || say "or: eval \"\$($0 env)\"   (SLURM_CONF and Open MPI's interfaces)"
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
    local name=$1 comm=${1%%-*} pid i
    pid=$(our_pid "$name")
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    # Wait on the pid itself: a daemon removes its pid file before it exits.
    for ((i = 0; i < 40; i++)); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || break
        sleep 0.25
    done
    if [[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]]; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$(pidfile "$name")"
}

cmd_stop() {
    local nodes n
    if [[ ! -d $DIR/run ]]; then
        say "nothing to stop in $DIR"
        return 0
    fi
    nodes=$(node_count)
    cancel_jobs
    for n in $(daemon_names "$nodes"); do
        [[ $n == slurmd* ]] && stop_one "$n"
    done
    stop_one slurmctld
    stop_one munged
    if ((nodes > 1)); then
        net_down
        rm -rf "$SHM"
        say "stopped; namespaces, links and bridge $BRIDGE removed (logs kept in $DIR/log)"
    else
        say "stopped (logs kept in $DIR/log)"
    fi
}

cmd_status() {
    local d pid rc=0 nodes
    nodes=$(node_count)
    for d in $(daemon_names "$nodes"); do
        pid=$(our_pid "$d")
        if [[ -n $pid ]]; then say "$d running (pid $pid)"; else say "$d not running"; rc=1; fi
    done
    local foreign
    foreign=$(foreign_pids)
    [[ -z $foreign ]] || say "not ours: $foreign"
    if ((nodes > 1)) && link_exists "$BRIDGE"; then
        say "bridge $BRIDGE ($HOST_ADDR/24); namespaces:" \
            "$(ip netns list | awk -v t="$TAG" 'index($1, t) == 1 { printf " %s", $1 }')"
    fi
    if [[ -n $(our_pid slurmctld) ]]; then
        export SLURM_CONF=$CONF
        sinfo -h -N -o '  node %N: %T, %c CPUs, %m MiB' 2>/dev/null || true
        squeue -h -o '  job %i (%j): %T %M %R' 2>/dev/null || true
        say "export SLURM_CONF=$CONF"
    fi
    return "$rc"
}

# The export lines for this shell: SLURM_CONF, and on several nodes Open
# MPI's interfaces (an mpirun started here, as by salloc, uses the bridge).
cmd_env() {
    printf 'export SLURM_CONF=%s\n' "$CONF"
    if (($(node_count) > 1)); then
        printf 'export OMPI_MCA_btl_tcp_if_include=%s OMPI_MCA_oob_tcp_if_include=%s\n' \
            "$NET.0/24" "$NET.0/24"
    fi
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) printf 'usage: %s start [--nodes N]|stop|status|env\n' "$0" >&2; exit 2 ;;
esac
