#!/bin/bash
# sbatch-wait.sh NODES TASKS PROGRAM [ARGS...] -- run PROGRAM on TASKS tasks
# over NODES nodes through sbatch (a batch script that starts it with
# `srun --mpi=pmix`), wait for the job to end, and give its stdout, stderr
# and exit status as if it had run here: harness.LAUNCHERS's "sbatch-nodes".
# The job runs in this directory, with this environment (sbatch's default).
# It polls `scontrol show job` every 0.2 s rather than `sbatch --wait`,
# whose interval grows to 32 s.  A signal to this script cancels the job.
set -u
nodes=$1 tasks=$2
shift 2
out=$(mktemp) err=$(mktemp)
job=""
trap 'rm -f "$out" "$err"' EXIT
trap '[[ -z $job ]] || scancel "$job"; exit 143' TERM INT HUP
job=$(sbatch --parsable --nodes="$nodes" --ntasks="$tasks" --time=10 \
    --output="$out" --error="$err" --chdir="$PWD" <<EOF
#!/bin/bash
exec srun --mpi=pmix --kill-on-bad-exit=1 $(printf '%q ' "$@")
EOF
) || exit 1
job=${job%%;*}
[[ $job =~ ^[0-9]+$ ]] || { echo "sbatch-wait.sh: sbatch gave no job id" >&2; exit 1; }
record=""
while :; do
    record=$(scontrol -o show job "$job" 2>/dev/null)
    [[ $record =~ JobState=(PENDING|CONFIGURING|RUNNING|COMPLETING|REQUEUED|RESIZING|SUSPENDED) ]] \
        || break
    sleep 0.2
done
cat "$out"
cat "$err" >&2
# ExitCode=STATUS:SIGNAL of the batch script.
if [[ $record =~ ExitCode=([0-9]+):([0-9]+) ]]; then
    ((BASH_REMATCH[2] == 0)) || exit $((128 + BASH_REMATCH[2]))
    exit "${BASH_REMATCH[1]}"
fi
echo "sbatch-wait.sh: job $job: no exit code in: $record" >&2
exit 1
