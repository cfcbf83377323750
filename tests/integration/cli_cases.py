"""Command-line behaviour that a data case cannot express.

Each check gets a fresh directory holding the standard fixture (float64
(500,3,4), deflate+shuffle, 5% NaN) and its job file, and raises Failure.
--set overrides and the default job name are data cases (see cases.py).
"""

import json
import math
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np

from cases import DataCase, expected_for, prepare_case
from data import Input, corrupt_chunks, normal, with_nans
from harness import (DEFAULT_MPI, EAGER_HELP_ENV, EAGER_HELP_RANKS, expect, expect_clean,
                     expect_ok, launcher, launcher_nodes, run_tool, tool_stderr_lines)
from verify import as_text, check_identical, check_result_file


def standard(case_dir):
    """Write the fixture and job; return (job, expected results)."""
    data = with_nans(normal("f8", (500, 3, 4), 11, 2.0, 1.0), 0.05, 11)
    case = DataCase("cli", [Input("data/v.h5", data, "deflate", (64, 3, 4))])
    job = prepare_case(case_dir, case, None)
    return job, expected_for(case_dir, job)


def results_listing(case_dir):
    return sorted(p.name for p in (case_dir / "results").iterdir())


def dry_run(tool, ranks, case_dir):
    standard(case_dir)
    run = tool.run(ranks, ["--dry-run", "job.ini"], case_dir)
    expect_ok(run)
    expect(run.stdout.strip(), "--dry-run printed no plan on stdout")
    expect(not results_listing(case_dir), f"--dry-run wrote {results_listing(case_dir)}")
    # The data is little-endian float64 in deflate+shuffle chunks.
    expect("decode: deflate/shuffle chunks on the workers" in run.stdout,
           f"no worker decode in: {run.stdout!r}")
    # mpirun starts every rank on this one node: the workers share rank 0's
    # buffers unless the job says shared_memory = off.
    shown = "transport: shared-memory window" if ranks >= 2 else None
    expect(shown is None or shown in run.stdout, f"'{shown}' not in: {run.stdout!r}")
    if ranks >= 2:
        off = tool.run(ranks, ["--dry-run", "--set", "run.shared_memory=off", "job.ini"],
                       case_dir)
        expect_ok(off)
        expect("transport: point to point" in off.stdout, f"shared_memory=off: {off.stdout!r}")


def dry_run_reads_no_data(tool, ranks, case_dir):
    """Every chunk is garbage, so only a run that reads no data can succeed."""
    standard(case_dir)
    corrupt_chunks(case_dir / "data/v.h5", "/group/values")
    dry_run_ok = tool.run(ranks, ["--dry-run", "job.ini"], case_dir)
    expect_ok(dry_run_ok)
    expect(not results_listing(case_dir), f"--dry-run wrote {results_listing(case_dir)}")


def output_override(flag):
    def check(tool, ranks, case_dir):
        job, exp = standard(case_dir)
        expect_ok(tool.run(ranks, [flag, "results/other.h5", "job.ini"], case_dir))
        expect(results_listing(case_dir) == ["other.h5"],
               f"{flag}: results/ holds {results_listing(case_dir)}, expected [other.h5]")
        check_result_file(case_dir / "results/other.h5", exp, job_ops(job), job, ranks)
    return check


def job_ops(job):
    return job.settings["reduce"]["ops"].replace(",", " ").split()


def quiet(tool, ranks, case_dir):
    """-q silences progress (stderr); the summary on stdout is not progress."""
    job, exp = standard(case_dir)
    run = tool.run(ranks, ["-q", "job.ini"], case_dir)
    expect_ok(run)
    noise = tool_stderr_lines(run.stderr)
    expect(not noise, f"-q still wrote to stderr: {' | '.join(noise)[:150]!r}")
    check_result_file(case_dir / "results/out.h5", exp, job_ops(job), job, ranks)


def help_text(tool, ranks, case_dir):
    standard(case_dir)
    run = tool.run(ranks, ["-h"], case_dir)
    expect_ok(run)
    expect(run.stdout.lower().count("usage:") == 1,
           f"-h printed usage {run.stdout.lower().count('usage:')} times: {run.stdout[:100]!r}")
    expect(not results_listing(case_dir), "-h wrote an output file")


# A stand-in for every MPI function h5batch imports: each says its name on
# stderr and ends the process with MPI_CALLED.  Preloaded, it stands in
# front of libmpi, so any MPI call at all shows.
MPI_CALLED = 97
TRAP_SOURCE = """#include <unistd.h>
#define TRAP(f) void f(void); void f(void) { \\
    write(2, "h5batch test: MPI call " #f "\\n", sizeof "h5batch test: MPI call " #f); \\
    _exit(%d); }
""" % MPI_CALLED


def mpi_trap(binary, case_dir):
    """Build the stand-in library for binary's MPI imports; its path."""
    nm = subprocess.run(["nm", "-D", "--undefined-only", str(binary)], capture_output=True,
                        text=True, check=True).stdout
    names = sorted({ln.split()[-1].split("@")[0] for ln in nm.splitlines()
                    if ln.split() and ln.split()[-1].startswith(("MPI_", "PMPI_"))})
    expect(len(names) >= 10 and "MPI_Init_thread" in names,
           f"{binary} imports {len(names)} MPI functions: {names}")
    src = case_dir / "trap.c"
    src.write_text(TRAP_SOURCE + "".join(f"TRAP({n})\n" for n in names))
    lib = case_dir / "libtrap.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib), str(src)], check=True)
    return lib


def no_mpi_without_launcher(tool, ranks, case_dir):
    """Alone (no launcher in the environment), h5batch makes no MPI call:
    a run, --format json, --dry-run, --help, --version, a usage error and a
    job error all behave as usual with every MPI function
    trapped.  The control: the same trap ends a run told to use MPI."""
    job, exp = standard(case_dir)
    env = {"LD_PRELOAD": str(mpi_trap(tool.binary, case_dir))}
    if "ASAN_OPTIONS" in os.environ:     # the trap goes before ASan's runtime
        env["ASAN_OPTIONS"] = os.environ["ASAN_OPTIONS"] + ":verify_asan_link_order=0"
    control = tool.run(0, ["job.ini"], case_dir, extra_env=dict(env, H5BATCH_MPI="1"))
    expect(control.rc == MPI_CALLED and "MPI call MPI_Init" in control.stderr,
           f"control: the trap did not fire: {control.describe()}")
    for args, code in ((["job.ini"], 0), (["--format", "json", "job.ini"], 0),
                       (["--dry-run", "job.ini"], 0), (["--help"], 0), (["-V"], 0),
                       (["--bogus"], 2), (["--set", "input.dataset=/nope", "job.ini"], 2)):
        run = tool.run(0, args, case_dir, extra_env=env)
        expect_clean(run)
        expect(run.rc == code, f"{' '.join(args)}: exit {run.describe()}, expected {code}")
        if code == 0 and args[-1] == "job.ini" and "--dry-run" not in args:
            check_result_file(case_dir / "results/out.h5", exp, job_ops(job), job, ranks)


def version(tool, ranks, case_dir):
    """-V prints the version that result files record."""
    standard(case_dir)
    expect_ok(tool.run(ranks, ["job.ini"], case_dir))
    with h5py.File(case_dir / "results/out.h5", "r") as f:
        recorded = as_text(f.attrs["h5batch_version"]).strip()
    run = tool.run(ranks, ["-V"], case_dir)
    expect_ok(run)
    expect(recorded in run.stdout, f"-V printed {run.stdout.strip()!r}, files record {recorded!r}")


def overwrite_existing(tool, ranks, case_dir):
    job, exp = standard(case_dir)
    Path(case_dir / "results/out.h5").write_bytes(b"stale output from an earlier run\n")
    expect_ok(tool.run(ranks, ["job.ini"], case_dir))
    check_result_file(case_dir / "results/out.h5", exp, job_ops(job), job, ranks)


def rank0_dry_run_line(tool, ranks, case_dir, sets, want):
    args = ["--dry-run"] + [a for s in sets for a in ("--set", s)] + ["job.ini"]
    run = tool.run(ranks, args, case_dir)
    expect_ok(run)
    got = [line for line in run.stdout.splitlines() if line.startswith("rank 0:")]
    expect(got == ([want] if want else []), f"{sets}: 'rank 0:' lines {got}, expected {want!r}")


def auto_and_off(tool, ranks, case_dir, job, exp, key, counter, partition, env):
    """Run the job with run.<key> = auto and = off (partitions of `partition`
    bytes, extra environment env): both right by numpy and the same bits,
    and the JSON timing's `counter` above 0 with auto and 0 with off."""
    counts, outs = {}, {}
    for mode in ("auto", "off"):
        out = f"results/{mode}.h5"
        argv = launcher(ranks) + [str(tool.binary), "--format", "json", "-o", out,
                                  "--set", f"input.partition_size={partition}",
                                  "--set", f"run.{key}={mode}", "job.ini"]
        run = run_tool(argv, case_dir, tool.timeout, case_dir / ".log" / mode, env)
        expect_ok(run)
        counts[mode] = json.loads(run.stdout)["timing"][counter]
        outs[mode] = case_dir / out
        check_result_file(outs[mode], exp, job_ops(job), job, ranks, min_partitions=8)
    expect(counts["auto"] > 0, f"{counter} is 0 with {key}=auto: {counts}")
    expect(counts["off"] == 0, f"{counter} is not 0 with {key}=off: {counts}")
    check_identical(outs, case_dir)


def rank0_reduces(tool, ranks, case_dir):
    """With workers, rank 0 reduces a partition itself when every worker is
    full.  The results are the same bits as with rank0_reduces = off and
    right by numpy; the JSON summary counts those partitions; --dry-run says
    whether rank 0 may help, and why not."""
    job, exp = standard(case_dir)
    if ranks < 2:
        rank0_dry_run_line(tool, ranks, case_dir, [], None)
        return
    crowded = ranks > len(os.sched_getaffinity(0))
    only = "rank 0: reads and merges only "
    rank0_dry_run_line(tool, ranks, case_dir, [], only + "(more ranks than CPUs)" if crowded
                       else "rank 0: also reduces a partition when every worker holds "
                            "`prefetch` of them")
    rank0_dry_run_line(tool, ranks, case_dir, ["run.rank0_reduces=off"],
                       only + "(rank0_reduces = off)")
    rank0_dry_run_line(tool, ranks, case_dir, ["run.prefetch=1"], only + "(prefetch is 1)")
    # Workers that take 20 ms a partition are always full, so the test hook
    # (help at every chance) makes rank 0 reduce some partitions itself.
    env = dict(EAGER_HELP_ENV, H5BATCH_TEST_PAUSE_MS="20")
    auto_and_off(tool, ranks, case_dir, job, exp, "rank0_reduces", "reduced_partitions",
                 "4K", env)


def worker_reads(tool, ranks, case_dir):
    """Workers on rank 0's node read a contiguous dataset's values from the
    file themselves.  Two files, the second with a 1 KiB user block (HDF5
    addresses then start after it), so the byte offsets must be right for
    both.  The results are right by numpy and the same bits as with
    worker_reads = off; the JSON summary counts the partitions the workers
    read; --dry-run says whether they do, and why not."""
    a = with_nans(normal("f8", (900, 3, 4), 12, 2.0, 1.0), 0.05, 12)
    b = normal("f8", (700, 3, 4), 13, -1.0, 3.0)
    case = DataCase("cli", [Input("data/a.h5", a), Input("data/b.h5", b)])
    job = prepare_case(case_dir, case, None)
    with h5py.File(case_dir / "data/b.h5", "w", userblock_size=1024) as f:
        f.create_dataset("group/values", data=b)
    with h5py.File(case_dir / "data/b.h5", "r") as f:
        expect(f["group/values"].id.get_offset() > 1024, "no user block in b.h5")
    exp = expected_for(case_dir, job)
    run = tool.run(ranks, ["--dry-run", "job.ini"], case_dir)
    expect_ok(run)
    got = [line for line in run.stdout.splitlines() if line.startswith("worker reads:")]
    want = (["worker reads: the workers on rank 0's node read the values from the "
             "files themselves"] if ranks >= 2 else [])
    expect(got == want, f"'worker reads:' lines {got}, expected {want}")
    if ranks < 2:
        return
    env = EAGER_HELP_ENV if ranks == EAGER_HELP_RANKS else {}
    auto_and_off(tool, ranks, case_dir, job, exp, "worker_reads", "worker_read_partitions",
                 "8K", env)
    # As if the workers were on other nodes: rank 0 reads every partition
    # it staged unread when it sends it; the same bits again.
    remote = dict(env, H5BATCH_TEST_WORKERS_REMOTE="1")
    argv = launcher(ranks) + [str(tool.binary), "--format", "json", "-o", "results/remote.h5",
                              "--set", "input.partition_size=8K", "job.ini"]
    run = run_tool(argv, case_dir, tool.timeout, case_dir / ".log" / "remote", remote)
    expect_ok(run)
    read = json.loads(run.stdout)["timing"]["worker_read_partitions"]
    expect(read == 0, f"workers 'on other nodes' read {read} partitions themselves")
    check_result_file(case_dir / "results/remote.h5", exp, job_ops(job), job, ranks,
                      min_partitions=8)
    check_identical({m: case_dir / f"results/{m}.h5" for m in ("auto", "remote")}, case_dir)
    # A chunked file beside them is read by rank 0; alone, --dry-run says why.
    standard(case_dir)
    for files, want in ((3, "worker reads: the workers on rank 0's node read the values "
                            "from 2 of 3 files themselves; rank 0 reads the rest"),
                        (1, "worker reads: none; rank 0 reads (not a contiguous dataset")):
        if files == 1:
            (case_dir / "data/a.h5").unlink()
            (case_dir / "data/b.h5").unlink()
        run = tool.run(ranks, ["--dry-run", "job.ini"], case_dir)
        expect_ok(run)
        expect(want in run.stdout, f"{files} files: {want!r} not in {run.stdout!r}")


def pml_choice(tool, ranks, case_dir):
    """Under a launcher that puts every rank on this one node, h5batch names
    Open MPI's ob1 pml before MPI_Init unless the user chose one
    (OMPI_MCA_pml, H5BATCH_PML=keep); alone it starts no MPI.  The witness
    is Open MPI's own selection log (pml_base_verbose): with h5batch's
    choice only ob1 is opened, by default the cm pml is opened too (Debian's
    Open MPI; the cost of start-up this avoids).  Ranks told they are on two
    nodes keep Open MPI's choice; a Slurm step's node count decides where
    Open MPI's variables are absent.  The results stay right."""
    job, exp = standard(case_dir)
    mpich = ranks and (tool.mpi or DEFAULT_MPI[0]) == "mpich"
    log = {"OMPI_MCA_pml_base_verbose": "10", "H5BATCH_STARTUP_TIMES": "1"}
    want = ("pml=- (no MPI)" if not ranks else
            "pml=default (no launcher node count)" if mpich else "pml=ob1 (one node)")
    runs = [({}, want, False)]
    if ranks and not mpich:
        runs += [({"H5BATCH_PML": "keep"}, "pml=default (H5BATCH_PML=keep)", True),
                 ({"OMPI_MCA_pml": "^ucx"}, "pml=^ucx (OMPI_MCA_pml set)", True)]
    # Ranks that see what a launch over two nodes (OMPI_COMM_WORLD_LOCAL_SIZE
    # below the size) or a Slurm step shows them: `env` between mpirun and
    # h5batch rewrites what the launcher set.
    omit = ["-u", "OMPI_COMM_WORLD_SIZE", "-u", "OMPI_COMM_WORLD_LOCAL_SIZE"]
    if ranks >= 2 and not mpich:
        runs += [(["OMPI_COMM_WORLD_LOCAL_SIZE=1"], "pml=default (several nodes)", True),
                 (omit + ["SLURM_STEP_NUM_NODES=1"], "pml=ob1 (one node)", False),
                 (omit + ["SLURM_STEP_NUM_NODES=2"], "pml=default (several nodes)", True)]
    for n, (extra, line, cm_opened) in enumerate(runs):
        if isinstance(extra, list):
            argv = launcher(ranks, tool.mpi) + ["env"] + extra + [str(tool.binary), "job.ini"]
            run = run_tool(argv, case_dir, tool.timeout, case_dir / ".log" / f"env{n}", log)
        else:
            run = tool.run(ranks, ["job.ini"], case_dir, extra_env=dict(log, **extra))
        expect_ok(run)
        check_result_file(case_dir / "results/out.h5", exp, job_ops(job), job, ranks)
        startup = [x for x in run.stderr.splitlines() if x.startswith("h5batch: startup: ")]
        expect(len(startup) == 1 and startup[0].endswith(" " + line),
               f"{extra}: startup lines {startup}, expected one ending {line!r}")
        if not ranks or mpich:
            continue
        selected = "select: component ob1 selected" in run.stderr
        cm = "components_open: found loaded component cm" in run.stderr
        expect(selected and cm == cm_opened,
               f"{extra}: Open MPI selected ob1: {selected}, opened cm: {cm} "
               f"(expected {cm_opened})")


CLI_CASES = [
    ("cli/dry-run", dry_run),
    ("cli/dry-run-reads-no-data", dry_run_reads_no_data),
    ("cli/-o", output_override("-o")),
    ("cli/--output", output_override("--output")),
    ("cli/quiet", quiet),
    ("cli/help", help_text),
    ("cli/no-mpi-without-launcher", no_mpi_without_launcher),
    ("cli/version", version),
    ("cli/pml", pml_choice),
    ("cli/overwrite-existing-output", overwrite_existing),
    ("cli/rank0-reduces", rank0_reduces),
    ("cli/worker-reads", worker_reads),
]


def group_by_key_file(case_dir):
    """A deflated float64 column with 5% NaN and an int32 key dataset beside
    it, chunked differently; returns (values, keys) as numpy arrays."""
    rng = np.random.default_rng(16)
    values = rng.normal(3.0, 2.0, 6000)
    values[rng.random(6000) < 0.05] = np.nan
    keys = rng.integers(-4, 9, 6000).astype("i4")
    (case_dir / "data").mkdir(parents=True, exist_ok=True)
    (case_dir / "results").mkdir(exist_ok=True)
    with h5py.File(case_dir / "data/g.h5", "w") as f:
        f.create_dataset("values", data=values, chunks=(500,), compression="gzip",
                         shuffle=True)
        f.create_dataset("station", data=keys, chunks=(700,))
    (case_dir / "job.ini").write_text("[input]\nfiles = data/g.h5\ndataset = /values\n"
                                      "partition_size = 8K\n[reduce]\ngroup_by = /station\n"
                                      "ops = count sum min max\n"
                                      "[output]\nfile = results/out.h5\n")
    return values, keys


def check_group_by(path, values, keys):
    """Per-key count, nan_count, sum, min and max of the result file against
    numpy (sum to 1e-12 relative: the order of additions differs)."""
    with h5py.File(path, "r") as f:
        g = f["values/groupby"]
        got_keys = g["keys"][()]
        expect(list(got_keys) == sorted(set(keys.tolist())), f"keys {list(got_keys)}")
        for i, k in enumerate(got_keys):
            v = values[keys == k]
            ok = v[~np.isnan(v)]
            want = {"count": len(ok), "nan_count": len(v) - len(ok), "min": ok.min(),
                    "max": ok.max()}
            for name, w in want.items():
                expect(g[name][i] == w, f"key {k} {name}: {g[name][i]} != {w}")
            s = math.fsum(ok.tolist())
            expect(abs(g["sum"][i] - s) <= 1e-12 * max(1.0, abs(s)),
                   f"key {k} sum: {g['sum'][i]!r} != {s!r}")


def all_reads_run(tool, ranks, case_dir, mode, env=None):
    """One JSON run with run.worker_reads = mode into results/<label>.h5."""
    label = mode + ("-differ" if env else "")
    out = case_dir / f"results/{label}.h5"
    argv = launcher(ranks, tool.mpi) + [str(tool.binary), "--format", "json", "-o", str(out),
                              "--set", f"run.worker_reads={mode}", "job.ini"]
    run = run_tool(argv, case_dir, tool.timeout, case_dir / ".log" / label, env)
    expect_ok(run) if not env else expect(run.rc == 0, f"exit {run.describe()}")
    return json.loads(run.stdout), out, run


def check_nodes(doc, ranks, reads):
    """The summary's nodes cover ranks 0..ranks-1 once, in order of their
    lowest rank, and each worker names its host, transport and reader."""
    nodes = doc["nodes"]
    seen = sorted(r for n in nodes for r in n["ranks"])
    expect(seen == list(range(ranks)), f"nodes {nodes} do not cover {ranks} ranks")
    expect([n["ranks"][0] for n in nodes] == sorted(n["ranks"][0] for n in nodes),
           f"nodes not in order of their lowest rank: {nodes}")
    hosts = {r: n["host"] for n in nodes for r in n["ranks"]}
    for w in doc["timing"]["workers"]:
        expect(w["host"] == hosts[w["rank"]], f"worker {w} not on its node's host")
        expect(w["transport"] in ("shared_memory", "messages"), f"worker {w} transport")
        expect(w["reads"] == reads, f"worker {w}: reads is not {reads!r}")


def worker_reads_all(tool, ranks, case_dir):
    """worker_reads = all on a deflated column grouped by a key dataset (the
    worker reads the key dataset too): right by numpy and the same bytes as
    worker_reads = off; the summary says every worker read from the file
    (off: rank 0 read) and lists the nodes.  With the file check's result
    forced to 'differ' (H5BATCH_TEST_FILES_DIFFER, its only effect), the
    workers fall back to values from rank 0: a warning naming the node, the
    node marked "files": "differ", no partition read by a worker, and the
    same bytes again.  --dry-run says who reads, per node."""
    values, keys = group_by_key_file(case_dir)
    run = tool.run(ranks, ["--dry-run", "--set", "run.worker_reads=all", "job.ini"], case_dir)
    expect_ok(run)
    nodes = launcher_nodes(tool.mpi) if ranks >= 2 else 1
    expect(f"nodes: {nodes} (" in run.stdout, f"no 'nodes: {nodes}' line in {run.stdout!r}")
    if ranks < 2:
        return
    expect("worker reads: yes, from the files" in run.stdout, f"dry run: {run.stdout!r}")
    outs = {}
    for mode, reads in (("all", "file"), ("off", "rank0")):
        doc, outs[mode], _ = all_reads_run(tool, ranks, case_dir, mode)
        check_group_by(outs[mode], values, keys)
        check_nodes(doc, ranks, reads)
        n = doc["timing"]["worker_read_partitions"]
        expect((n > 0) == (mode == "all"), f"worker_reads={mode}: {n} read by workers")
    env = {"H5BATCH_TEST_FILES_DIFFER": "1"}
    doc, outs["differ"], run = all_reads_run(tool, ranks, case_dir, "all", env)
    warned = [ln for ln in tool_stderr_lines(run.stderr) if "does not see the same" in ln]
    expect(len(warned) == nodes, f"not one fallback warning per node ({nodes}): {run.stderr!r}")
    expect(all(n.get("files") == "differ" for n in doc["nodes"]), f"nodes {doc['nodes']}")
    expect(doc["timing"]["worker_read_partitions"] == 0, "workers read after the check failed")
    check_nodes(doc, ranks, "rank0")
    check_identical(outs, case_dir)


CLI_CASES.append(("cli/worker-reads-all", worker_reads_all))
