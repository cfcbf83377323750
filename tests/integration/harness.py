"""Process and reporting plumbing shared by the integration and bad-input runners.

Every h5batch invocation runs in a session of its own (start_new_session), so
mpirun and all its ranks share one session id even though Open MPI puts each
rank in a process group of its own.  A timeout therefore kills the whole
session, and after every run we look for anything of ours that outlived it:
processes still in that session, or carrying the per-run token we put in
their environment (in case something escaped the session).  Output goes to
files rather than pipes so a stray rank holding a pipe open cannot stall us.
"""

import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# Open MPI's mpirun refuses root without these; MPICH ignores them.
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}

# The command that starts N ranks, per MPI implementation.  Open MPI's
# mpirun needs --oversubscribe for more ranks than cores; MPICH's Hydra
# starts any number and knows no such flag.  Debian's alternatives keep
# mpirun on Open MPI, so MPICH is named by its own mpiexec.mpich.
# The last three start the ranks on MULTINODE_NODES nodes of the Slurm that
# SLURM_CONF names (slurm/local-cluster.sh start --nodes 2; tests/multinode):
# srun in an allocation of its own; a batch job (sbatch --wait) whose script
# starts them with srun; and Open MPI's mpirun inside an allocation
# (salloc), which starts its daemons on the nodes through srun.
MULTINODE_NODES = 2
SBATCH_WAIT = Path(__file__).resolve().parents[1] / "multinode/sbatch-wait.sh"
LAUNCHERS = {
    "openmpi": lambda n: ["mpirun", "-n", str(n), "--oversubscribe"],
    "mpich": lambda n: ["mpiexec.mpich", "-n", str(n)],
    "srun-nodes": lambda n: ["srun", "--quiet", f"--nodes={MULTINODE_NODES}", f"--ntasks={n}",
                             "--mpi=pmix", "--kill-on-bad-exit=1"],
    "sbatch-nodes": lambda n: [str(SBATCH_WAIT), str(MULTINODE_NODES), str(n)],
    "salloc-mpirun": lambda n: ["salloc", "--quiet", f"--nodes={MULTINODE_NODES}",
                                f"--ntasks={n}", "mpirun", "-n", str(n)],
}
# How many nodes a launcher's ranks span (the others: this one).
LAUNCHER_NODES = {name: MULTINODE_NODES
                  for name in ("srun-nodes", "sbatch-nodes", "salloc-mpirun")}
# The launcher of runs that name none (use_mpi sets it: run.py --mpi).
DEFAULT_MPI = ["openmpi"]

# Runs on this many ranks make rank 0 reduce a partition itself at every
# chance (the test hook of master.c), so that path meets every case; on
# the other rank counts it helps only when the workers lag, or never.
EAGER_HELP_RANKS = 3
EAGER_HELP_ENV = {"H5BATCH_TEST_RANK0_REDUCES": "eager"}
TOKEN_VAR = "H5BATCH_TEST_TOKEN"
LEFTOVER_GRACE_S = 3.0


class Failure(Exception):
    """A check failed; the message is the one-line reason shown to the user."""


class Skip(Exception):
    """A check cannot run here (e.g. h5batch-gen is not built)."""


def expect(cond, msg):
    if not cond:
        raise Failure(msg)


@dataclass
class Run:
    argv: list
    rc: int
    stdout: str
    stderr: str
    elapsed: float
    timed_out: bool = False
    leftovers: list = field(default_factory=list)

    def describe(self):
        """One-line summary of what happened: h5batch's own stderr lines,
        and mpirun's notices too when h5batch's lines do not explain a
        failure."""
        err = one_line("\n".join(tool_stderr_lines(self.stderr)), 300)
        text = f"rc={self.rc} in {self.elapsed:.1f}s, stderr: {err or '(empty)'}"
        if self.rc != 0 and "error" not in err:
            ours = set(tool_stderr_lines(self.stderr))
            theirs = [ln for ln in self.stderr.splitlines()
                      if ln.strip() not in ours and not DASH_RULE.match(ln.strip())]
            text += f"; launcher: {one_line(chr(10).join(theirs), 400) or '(nothing)'}"
        return text


LSAN_TRACER_CRASH = "LeakSanitizer has encountered a fatal error"


@dataclass
class Tool:
    """A binary to run under a launcher with a timeout.  mpi names its
    launcher (LAUNCHERS; "" = DEFAULT_MPI); a tag, when set, prefixes the
    labels of its runs so that two builds' runs can be told apart; args are
    h5batch options put before every run's own (e.g. a --set)."""
    binary: Path
    timeout: float
    mpi: str = ""
    tag: str = ""
    args: list = field(default_factory=list)

    def run(self, ranks, args, cwd, logdir=None, extra_env=None):
        """Run the binary with args in cwd, under mpirun -n ranks (0: directly),
        with extra_env added to the environment."""
        if not self.binary.is_file():
            raise Failure(f"binary not found: {self.binary}")
        argv = (launcher(ranks, self.mpi) + [str(self.binary)]
                + [str(a) for a in list(self.args) + list(args)])
        extra = dict(EAGER_HELP_ENV if ranks == EAGER_HELP_RANKS else {}, **(extra_env or {}))
        run = run_tool(argv, cwd, self.timeout, logdir or Path(cwd) / ".log", extra)
        if LSAN_TRACER_CRASH in run.stderr:
            # LeakSanitizer's own tracer thread sometimes dies while it stops
            # an Open MPI process's threads at exit (SANITIZE=1 builds only);
            # that says nothing about h5batch, so run the case once more.
            run = run_tool(argv, cwd, self.timeout, logdir or Path(cwd) / ".log", extra)
        return run

    def label(self, ranks):
        """The label of a run of this tool on `ranks` (rank_label, tagged)."""
        return f"{self.tag} {rank_label(ranks)}" if self.tag else rank_label(ranks)


def expect_clean(run):
    """The run ended by itself within the timeout and left nothing running."""
    expect(not run.timed_out, f"timed out after {run.elapsed:.0f}s (killed): {' '.join(run.argv)}")
    expect(not run.leftovers, f"left running after exit: {', '.join(run.leftovers)}")


def expect_ok(run):
    expect_clean(run)
    expect(run.rc == 0, f"exit {run.describe()}")


def one_line(text, limit=200):
    text = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def use_mpi(name):
    """Make LAUNCHERS[name] the launcher of runs that name none."""
    if name not in LAUNCHERS:
        raise ValueError(f"unknown MPI {name!r}: one of {', '.join(LAUNCHERS)}")
    DEFAULT_MPI[0] = name


def launcher(ranks, mpi=""):
    """Command prefix for a rank count under the launcher of MPI `mpi`
    (LAUNCHERS; "" = DEFAULT_MPI); 0 means run the binary directly."""
    if ranks == 0:
        return []
    return LAUNCHERS[mpi or DEFAULT_MPI[0]](ranks)


def launcher_nodes(mpi=""):
    """How many nodes the ranks of launcher `mpi` ("" = DEFAULT_MPI) span."""
    return LAUNCHER_NODES.get(mpi or DEFAULT_MPI[0], 1)


def rank_label(ranks):
    return "direct" if ranks == 0 else f"-n {ranks}"


def slug(name):
    """A case or rank label as a file name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def parse_ranks(text):
    """'0,1,2' -> [0, 1, 2]; 0 stands for a run without mpirun."""
    ranks = [int(part) for part in text.split(",") if part.strip()]
    if not ranks or any(r < 0 for r in ranks):
        raise ValueError(f"bad --ranks value: {text!r}")
    return ranks


def run_tool(argv, cwd, timeout, logdir, extra_env=None):
    """Run argv in its own session; kill the session on timeout; report leftovers."""
    token = uuid.uuid4().hex
    env = dict(os.environ, **MPI_ENV, **{TOKEN_VAR: token},
               **(extra_env or {}))
    logdir = Path(logdir)
    logdir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = logdir / "stdout", logdir / "stderr"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=err, start_new_session=True)
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            kill_ours(proc.pid, token)
            proc.wait()
    elapsed = time.monotonic() - start
    leftovers = wait_for_leftovers(proc.pid, token)
    if leftovers:
        kill_ours(proc.pid, token)
    return Run(argv, proc.returncode, read_text(out_path), read_text(err_path),
               elapsed, timed_out, leftovers)


def read_text(path):
    return Path(path).read_bytes().decode("utf-8", errors="replace")


def our_processes(sid, token):
    """[(pid, comm)] of live processes in session sid or carrying token."""
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        info = proc_stat(entry.name)
        if info is None or info[1] == "Z":
            continue
        comm, _, session = info
        if session == sid or has_token(entry.name, token):
            found.append((int(entry.name), comm))
    return found


def proc_stat(pid):
    """(comm, state, session) from /proc/PID/stat, or None if it vanished."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = text[text.index("(") + 1: text.rindex(")")]
    rest = text[text.rindex(")") + 2:].split()
    return comm, rest[0], int(rest[3])


def has_token(pid, token):
    try:
        return f"{TOKEN_VAR}={token}".encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def wait_for_leftovers(sid, token):
    """Give exiting ranks a short grace period, then list what is still running."""
    deadline = time.monotonic() + LEFTOVER_GRACE_S
    while True:
        left = our_processes(sid, token)
        if not left or time.monotonic() > deadline:
            return [f"{comm}[{pid}]" for pid, comm in left]
        time.sleep(0.1)


def kill_ours(sid, token):
    """SIGKILL every process of this run: its session and anything with its token."""
    for pid, _ in our_processes(sid, token):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


# Open MPI's mpirun wraps its own notices in lines of dashes, prefixes its
# aggregated help messages with "[host:pid]" and sometimes starts a line with
# "mpirun" or "Primary job"; MPICH's Hydra wraps its notices in lines of
# "=".  None of that is h5batch's to answer for.
DASH_RULE = re.compile(r"^(-{20,}|={20,})$")
LAUNCHER_LINES = ("mpirun", "Primary job", "YOUR APPLICATION TERMINATED",
                  "This typically refers to a problem", "Please see the FAQ page")
ORTE_PREFIX = re.compile(r"^\[[^\]\s]+:\d+\] ")


def tool_stderr_lines(stderr):
    """Non-empty stderr lines that came from h5batch rather than from the launcher."""
    lines, in_notice = [], False
    for line in stderr.splitlines():
        stripped = line.strip()
        if DASH_RULE.match(stripped):
            in_notice = not in_notice
            continue
        if in_notice or not stripped or ORTE_PREFIX.match(stripped):
            continue
        if stripped.startswith(LAUNCHER_LINES):
            continue
        lines.append(stripped)
    return lines


SLOWEST_SHOWN = 5


class Report:
    """One line per check, then the slowest checks as '# slowest:' lines and
    the closing 'N passed, N failed[, N skipped]'."""

    def __init__(self):
        self.passed = self.failed = self.skipped = 0
        self.failures = []
        self.times = []                 # (seconds, check name)
        self.started = time.monotonic()

    def ok(self, name):
        self.passed += 1
        print(f"ok      {name}", flush=True)

    def fail(self, name, reason):
        self.failed += 1
        self.failures.append(name)
        print(f"FAIL    {name}: {one_line(str(reason), 600)}", flush=True)

    def skip(self, name, reason):
        self.skipped += 1
        print(f"skipped {name}: {reason}", flush=True)

    def check(self, name, func, *args):
        """Run func(*args); a Failure or any exception fails the named check."""
        start = time.monotonic()
        try:
            func(*args)
        except Failure as exc:
            self.fail(name, exc)
            return False
        except Exception as exc:  # a harness bug must still show as one line
            self.fail(name, f"harness error: {type(exc).__name__}: {exc}")
            return False
        finally:
            self.times.append((time.monotonic() - start, name))
        self.ok(name)
        return True

    def close(self):
        """Print the slowest checks and the closing line; return the exit code."""
        for secs, name in sorted(self.times, reverse=True)[:SLOWEST_SHOWN]:
            print(f"# slowest: {secs:6.1f} s  {name}", flush=True)
        print(f"# {len(self.times)} checks in {time.monotonic() - self.started:.0f} s",
              flush=True)
        line = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        print(line, flush=True)
        return 1 if self.failed else 0


def finish(report, tmp, keep):
    """The end of every runner: keep or remove its temp dir, print the
    closing lines, and return the exit code."""
    if keep:
        print(f"# kept {tmp}", flush=True)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return report.close()
