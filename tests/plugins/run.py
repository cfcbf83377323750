#!/usr/bin/python3
"""Tests of operator plugins: the examples against numpy, load and runtime
failures, and a plugin built outside the tree against `make install`.

1. plugin_check (build/plugins/check/plugin_check, built with ASan/UBSan
   like the plugins it loads there) drives each plugin without h5batch on
   every case of plugin_cases.py, with partitions of 1, 7, the case's own
   size and all records: each partial goes through encode/decode, merges
   left-to-right and right-to-left and a single update must give the same
   bytes, and the results must equal plugin_oracle.py's exactly.  The
   test-only plugins (bad_abi, no_symbol, fails) and bad thresholds must
   fail there with the right message.
2. h5batch runs every case marked in_h5batch (h5py-written files, small
   partitions so runs cross many boundaries) with exceed and argext loaded
   as plugins, on every launch mode of --ranks (0 = without mpirun; by
   default the core modes of tests/integration/matrix.py): every
   result checked exactly against numpy, text and JSON summaries
   alternating, and the result files of all modes byte-identical once
   started/finished/ranks are blanked.  Then the example job files in
   jobs/plugins/ on a small file h5batch-gen writes like the demo's.
3. Failures, on each of --fail-ranks: a missing library, a library without
   the h5batch_plugin symbol, an ABI mismatch (exit 2), update() failing
   (exit 1), `ops` naming a plugin with no [plugin] section (exit 2), and
   exceed without a threshold.  Each must end by itself with exactly one
   error line from h5batch naming the plugin (and the callback for runtime
   errors), no output file and nothing left running.
4. Out of tree: `make install PREFIX=<tmp>/prefix`, then tests/plugins/zeros.c
   (the README's minimal plugin) copied to a temporary directory and built
   there with `cc -shared -fPIC $(pkg-config --cflags h5batch)`, run by the
   installed h5batch.  Skipped, with a line saying so, if the install
   target does not write h5batch.pc.
One line per check, closing with "N passed, N failed[, N skipped]".
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests/integration"))

import h5py                                                            # noqa: E402
import numpy as np                                                     # noqa: E402

from cases import render_ini                                           # noqa: E402
from featurecase import Expect, FeatureCase, Want, job_sections, run_feature_case  # noqa: E402
from harness import (Failure, Report, Skip, Tool, expect, expect_clean, finish,  # noqa: E402
                     expect_ok, one_line, parse_ranks, rank_label, slug,
                     tool_stderr_lines)
from matrix import CORE_MODES                                          # noqa: E402
from verify import check_identical                                     # noqa: E402

import plugin_oracle as oracle                                         # noqa: E402
from plugin_cases import TYPES, plugin_cases                           # noqa: E402

TIMEOUT_S = 120
CHECK_TIMEOUT_S = 60
DATASET = "/obs/x"
GROUP = "x"
SAN_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
           "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("--plugins", default=str(REPO / "build/plugins"),
                   help="directory of lib<name>.so (and check/ with plugin_check)")
    p.add_argument("-k", dest="filter", default="", help="run only checks whose name contains this")
    p.add_argument("--ranks", default=",".join(map(str, CORE_MODES)), type=parse_ranks,
                   help="launch modes for the data cases; 0 = without mpirun (default: "
                        "the core modes of tests/integration/matrix.py)")
    p.add_argument("--fail-ranks", default="0,2,4", type=parse_ranks,
                   help="rank counts for the failure cases")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    return p.parse_args()


# ------------------------------------------------------------ 1. plugin_check

def expected(plugin, case):
    if plugin == "exceed":
        return oracle.exceed(case.data, case.threshold)
    if plugin == "argext":
        return oracle.argext(case.data)
    return oracle.zeros(case.data)


def run_check(check_dir, plugin, case_type, dims, per_part, data, out, args=()):
    """plugin_check on one library; (returncode, stdout, stderr)."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.bin"):
        old.unlink()
    argv = [str(check_dir / "plugin_check"), str(check_dir / f"lib{plugin}.so"), case_type,
            dims, str(per_part), str(data), str(out), *args]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=CHECK_TIMEOUT_S,
                              env=dict(os.environ, **SAN_ENV))
    except subprocess.TimeoutExpired:
        raise Failure(f"plugin_check timed out: {' '.join(argv)}")
    return proc.returncode, proc.stdout, proc.stderr


def read_results(stdout, out):
    """{name: (array, dtype str, per_cell)} from plugin_check's announcements."""
    got = {}
    for line in stdout.splitlines():
        parts = line.split()
        if not parts or parts[0] != "result":
            continue
        name, typ, kind, dims = parts[1], parts[2], parts[3], tuple(int(d) for d in parts[4:])
        dtype = np.dtype(TYPES[typ]).newbyteorder("<")
        raw = np.fromfile(out / (name.replace("/", "__") + ".bin"), dtype=dtype)
        got[name] = (raw.reshape(dims), dtype.str, kind)
    return got


def check_unit(check_dir, plugin, case, case_dir, sizes):
    data = case_dir / "data.bin"
    if not data.exists():
        case_dir.mkdir(parents=True, exist_ok=True)
        case.data.tofile(data)
    args = [f"threshold={case.threshold}"] if plugin == "exceed" else []
    want = expected(plugin, case)
    for per_part in sizes:
        rc, out, err = run_check(check_dir, plugin, case.type, case.dims, per_part, data,
                                 case_dir / plugin, args)
        expect(rc == 0, f"partitions of {per_part}: exit {rc}: {one_line(err, 400)}")
        got = read_results(out, case_dir / plugin)
        expect(set(got) == set(want), f"results {sorted(got)}, expected {sorted(want)}")
        for name, (value, dtype, _) in sorted(got.items()):
            why = oracle.same(name, value, dtype, want[name])
            expect(not why, f"partitions of {per_part}: {why}")


def header_abi():
    """H5B_OPERATOR_ABI as include/h5batch/operator.h defines it."""
    text = (REPO / "include/h5batch/operator.h").read_text()
    return int(re.search(r"#define H5B_OPERATOR_ABI (\d+)", text).group(1))


UNIT_FAILURES = [
    # (label, plugin, plugin arguments, exit, stderr fragments)
    ("exceed without threshold", "exceed", [], 1,
     ["operator exceed: create", "threshold", "missing"]),
    ("exceed threshold=abc", "exceed", ["threshold=abc"], 1, ["'abc' is not a finite number"]),
    ("exceed threshold=inf", "exceed", ["threshold=inf"], 1, ["'inf' is not a finite number"]),
    ("exceed threshold=nan", "exceed", ["threshold=nan"], 1, ["not a finite number"]),
    ("exceed threshold=25x", "exceed", ["threshold=25x"], 1, ["not a finite number"]),
    ("fails on update 3", "fails", [], 1,
     ["operator fails: update: deliberate failure on update call 3"]),
    ("bad_abi refused", "bad_abi", [], 2,
     [f"ABI version {header_abi() + 1}, this h5batch speaks {header_abi()}"]),
    ("no_symbol refused", "no_symbol", [], 2, ["no symbol h5batch_plugin"]),
]


def check_unit_failure(check_dir, tmp, plugin, args, code, fragments):
    data = tmp / "unit-fail.bin"
    np.arange(100, dtype=np.float64).tofile(data)
    rc, _, err = run_check(check_dir, plugin, "f64", "-", 10, data, tmp / "unit-fail", args)
    lines = [line for line in err.splitlines() if line.strip()]
    expect(rc == code, f"exit {rc}, expected {code}: {one_line(err, 300)}")
    expect(len(lines) == 1, f"expected one stderr line, got {len(lines)}: {one_line(err, 300)}")
    for fragment in fragments:
        expect(fragment in lines[0], f"message lacks {fragment!r}: {lines[0]!r}")


def unit_section(args, tmp, report):
    check_dir = Path(args.plugins) / "check"
    if not (check_dir / "plugin_check").is_file():
        report.fail("unit [setup]", f"{check_dir}/plugin_check not built (make plugin-check)")
        return
    for case in plugin_cases():
        n = case.data.shape[0]
        sizes = sorted({1, 7, case.per_part, n + 1})
        for plugin in ("exceed", "argext", "zeros"):
            name = f"unit {plugin} {case.name} [partitions of {', '.join(map(str, sizes))}]"
            if args.filter in name:
                report.check(name, check_unit, check_dir, plugin, case,
                             tmp / "unit" / slug(case.name), sizes)
    for label, plugin, pargs, code, fragments in UNIT_FAILURES:
        name = f"unit {label}"
        if args.filter in name:
            report.check(name, check_unit_failure, check_dir, tmp, plugin, pargs, code,
                         fragments)


# ------------------------------------------------------------ 2. h5batch runs

def write_case(case, case_dir):
    """The case's records as h5py files data/part<i>.h5, split as asked."""
    data_dir = case_dir / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    bounds = [0] + list(np.cumsum(case.split)) + [case.data.shape[0]]
    for i, (lo, hi) in enumerate(zip(bounds, bounds[1:])):
        with h5py.File(data_dir / f"part{i}.h5", "w") as f:
            f.create_dataset(DATASET, data=case.data[lo:hi], chunks=case.chunks)


def read_back(case_dir):
    """The records of data/part*.h5, in name order, read with h5py."""
    files = sorted((case_dir / "data").glob("part*.h5"))
    parts = []
    for path in files:
        with h5py.File(path, "r") as f:
            parts.append(f[DATASET][()])
    return files, np.concatenate(parts)


def wants(results):
    return {name: Want(value, dtype) for name, (value, dtype) in results.items()}


def plugin_sections(plugins_dir, threshold, names=("exceed", "argext")):
    sections = {}
    for name in names:
        sections[f"plugin {name}"] = {"library": str(Path(plugins_dir).resolve() / f"lib{name}.so")}
        if name == "exceed":
            sections[f"plugin {name}"]["threshold"] = threshold
    return sections


def h5batch_case(case, plugins_dir, index):
    """A FeatureCase running exceed and argext as plugins on the case."""
    rec_bytes = case.data.dtype.itemsize * int(np.prod(case.data.shape[1:], dtype=np.int64))
    sections = job_sections("data/part*.h5", DATASET, reduce={"ops": "count exceed argext"},
                            partition=str(case.per_part * rec_bytes), name="plugins")
    plugins = plugin_sections(plugins_dir, case.threshold)
    if index % 2:       # plugin sections before [reduce] in every other case
        sections = {k: v for k, v in list(sections.items())[:2]}
        sections.update(plugins)
        sections["reduce"] = {"ops": "count exceed argext"}
        sections["output"] = {"file": "results/out.h5"}
    else:
        sections.update(plugins)

    def oracle_fn(case_dir):
        files, x = read_back(case_dir)
        expect(x.dtype == case.data.dtype and x.tobytes() == case.data.tobytes(),
               "h5py read back other values than it wrote")
        results = {**oracle.builtin(x), **oracle.exceed(x, case.threshold), **oracle.argext(x)}
        return Expect(inputs=[str(p) for p in files], rows=x.shape[0],
                      groups={GROUP: wants(results)})

    nparts = -(-case.data.shape[0] // case.per_part)
    return FeatureCase(f"h5batch {case.name}", lambda d: write_case(case, d), sections,
                       oracle_fn, min_partitions=max(1, min(nparts, 2 + len(case.split))))


def h5batch_section(args, tool, tmp, report):
    cases = [c for c in plugin_cases() if c.in_h5batch]
    for i, case in enumerate(cases):
        fc = h5batch_case(case, args.plugins, i)
        if args.filter in fc.name:
            run_feature_case(tool, args.ranks, fc, tmp / "h5batch", report)


# ------------------------------------------------------------ example jobs

EXAMPLE_RANKS = (0, 3)


def small_demo(gen, path):
    """A small file shaped like data/demo.h5 (see the Makefile's demo target)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run = gen.run(0, ["-o", path, "-d", "/sensors/temperature", "-t", "f32",
                      "-s", "60000x16", "-c", "1024x16", "-z", "1", "--shuffle", "-D", "sensor",
                      "--nan-frac", "0.001", "--seed", "42"], path.parent)
    expect_ok(run)


def example_wants(x, plugin, threshold):
    results = oracle.builtin(x)
    results.update(oracle.exceed(x, threshold) if plugin == "exceed" else oracle.argext(x))
    return results


def check_example(tool, gen, plugin, tmp):
    """jobs/plugins/PLUGIN.ini run from the repository, on every rank mode."""
    job = REPO / "jobs/plugins" / f"{plugin}.ini"
    expect(job.is_file(), f"no {job}")
    data = tmp / "example" / "demo-small.h5"
    if not data.exists():
        small_demo(gen, data)
    with h5py.File(data, "r") as f:
        x = f["/sensors/temperature"][()]
    threshold = None
    for line in job.read_text().splitlines():
        if line.split("=")[0].strip() == "threshold":
            threshold = line.split("=", 1)[1].split(";")[0].strip()
    expect(plugin != "exceed" or threshold, f"{job} gives no threshold")
    want = example_wants(x, plugin, threshold)
    kept = {}
    for ranks in EXAMPLE_RANKS:
        out = tmp / "example" / f"{plugin}.{slug(rank_label(ranks))}.h5"
        run = tool.run(ranks, ["--set", f"input.files={data}", "--set",
                               "input.partition_size=64K", "-o", out, "-q", str(job)],
                       REPO, tmp / "example" / ".log" / f"{plugin}-{ranks}")
        expect_ok(run)
        with h5py.File(out, "r") as f:
            g = f["temperature"]
            for name, (value, dtype) in sorted(want.items()):
                expect(name in g, f"{rank_label(ranks)}: temperature/{name} missing")
                why = oracle.same(name, g[name][()], g[name].dtype.str, (value, dtype))
                expect(not why, f"{rank_label(ranks)}: {why}")
            parts = int(np.asarray(f.attrs["partitions"]))
            expect(parts >= 50, f"only {parts} partitions: runs cross too few boundaries")
        kept[rank_label(ranks)] = out
    check_identical(kept, tmp / "example")


def example_section(args, tool, tmp, report):
    gen = Tool(Path(args.gen).resolve(), TIMEOUT_S)
    for plugin in ("exceed", "argext"):
        name = f"example jobs/plugins/{plugin}.ini [{', '.join(map(rank_label, EXAMPLE_RANKS))}]"
        if args.filter in name:
            report.check(name, check_example, tool, gen, plugin, tmp)


# ------------------------------------------------------------ 3. failures

FAILURES = [
    # (name, plugin sections {name: library or None (no section)}, ops, exit, fragments)
    ("missing library file", {"ghost": "@TMP@/nowhere/libghost.so"}, "count ghost", [2],
     ["plugin ghost", "libghost.so"]),
    ("missing entry symbol", {"no_symbol": "@PLUGINS@/libno_symbol.so"}, "count no_symbol", [2],
     ["plugin no_symbol", "h5batch_plugin"]),
    ("ABI mismatch", {"bad_abi": "@PLUGINS@/libbad_abi.so"}, "count bad_abi", [2],
     ["plugin bad_abi", "ABI"]),
    ("update fails", {"fails": "@PLUGINS@/libfails.so"}, "count fails", [1],
     ["fails", "update", "deliberate failure on update call 3"]),
    ("ops names a plugin without section", {}, "count exceed", [2], ["exceed"]),
    ("exceed without threshold", {"exceed": "@PLUGINS@/libexceed.so"}, "count exceed", [1, 2],
     ["exceed", "create", "threshold"]),
]


def failure_job(case_dir, plugins_dir, plugins, ops):
    sections = job_sections(str(case_dir / "data.h5"), DATASET, reduce={"ops": ops},
                            partition=str(97 * 8), name="failing")
    sections["output"] = {"file": str(case_dir / "out" / "result.h5")}
    for name, lib in plugins.items():
        lib = lib.replace("@TMP@", str(case_dir)).replace(
            "@PLUGINS@", str(Path(plugins_dir).resolve()))
        sections[f"plugin {name}"] = {"library": lib}
    return render_ini(sections)


def check_failure(tool, ranks, case_dir, plugins_dir, plugins, ops, codes, fragments):
    case_dir.mkdir(parents=True, exist_ok=True)
    if not (case_dir / "data.h5").exists():
        with h5py.File(case_dir / "data.h5", "w") as f:
            f.create_dataset(DATASET, data=np.arange(3000, dtype=np.float64) % 50)
    shutil.rmtree(case_dir / "out", ignore_errors=True)
    (case_dir / "out").mkdir()
    (case_dir / "job.ini").write_text(failure_job(case_dir, plugins_dir, plugins, ops))
    run = tool.run(ranks, ["job.ini"], case_dir, case_dir / ".log" / slug(rank_label(ranks)))
    expect_clean(run)
    expect(run.rc in codes, f"exit {run.describe()}; expected {' or '.join(map(str, codes))}")
    lines = tool_stderr_lines(run.stderr)
    expect(len(lines) == 1, f"expected one stderr line from h5batch, got {len(lines)}: "
                            f"{' | '.join(lines)[:400]!r}")
    for fragment in fragments:
        expect(fragment.lower() in lines[0].lower(), f"message lacks {fragment!r}: {lines[0]!r}")
    left = sorted(p.name for p in (case_dir / "out").iterdir())
    expect(not left, f"output directory holds {left} after a failed run")


def failure_section(args, tool, tmp, report):
    for name, plugins, ops, codes, fragments in FAILURES:
        for ranks in args.fail_ranks:
            label = f"failure {name} [{rank_label(ranks)}]"
            if args.filter in label:
                report.check(label, check_failure, tool, ranks,
                             tmp / "fail" / slug(name) / slug(rank_label(ranks)),
                             args.plugins, plugins, ops, codes, fragments)


# ------------------------------------------------------------ 4. out of tree

def install_prefix(tmp):
    """make install into a fresh prefix; the prefix, or Skip without a .pc."""
    makefile = (REPO / "Makefile").read_text()
    if "h5batch.pc" not in makefile:
        raise Skip("the install target does not write h5batch.pc yet")
    prefix = tmp / "prefix"
    proc = subprocess.run(["make", "-C", str(REPO), "install", f"PREFIX={prefix}"],
                          capture_output=True, text=True, timeout=600)
    expect(proc.returncode == 0, f"make install failed: {one_line(proc.stderr, 400)}")
    pc = prefix / "lib/pkgconfig/h5batch.pc"
    if not pc.is_file():
        raise Skip(f"make install wrote no {pc.relative_to(prefix)}")
    expect((prefix / "include/h5batch/operator.h").is_file(), "operator.h not installed")
    return prefix


def build_outside(prefix, src_dir):
    """Compile zeros.c in src_dir with only pkg-config's flags; the library."""
    shutil.copyfile(HERE / "zeros.c", src_dir / "plugin.c")
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib/pkgconfig"))
    cflags = subprocess.run(["pkg-config", "--cflags", "h5batch"], capture_output=True,
                            text=True, env=env, timeout=30)
    expect(cflags.returncode == 0, f"pkg-config --cflags h5batch: {one_line(cflags.stderr)}")
    expect(str(REPO) not in cflags.stdout, f"pkg-config points into the tree: {cflags.stdout}")
    cmd = (f"cc -std=c11 -Wall -Wextra -Werror -shared -fPIC {cflags.stdout.strip()} "
           f"plugin.c -o libmin.so")
    proc = subprocess.run(cmd, shell=True, cwd=src_dir, capture_output=True, text=True,
                          env=env, timeout=120)
    expect(proc.returncode == 0, f"{cmd}: {one_line(proc.stderr, 400)}")
    return src_dir / "libmin.so"


def check_out_of_tree(tmp, ranks_list):
    outside = Path(tempfile.mkdtemp(prefix="h5batch-plugin-oot-"))
    try:
        expect(REPO not in outside.parents, f"{outside} is inside the tree")
        prefix = install_prefix(outside)
        lib = build_outside(prefix, outside)
        x = np.array([[0, 1, 0], [0, 0, 2], [3, 0, 0], [0, 0, 0]] * 250, dtype=np.int32)
        y = np.where(np.arange(3000) % 7 == 0, -0.0, np.arange(3000) % 5).astype(np.float64)
        y[::11] = np.nan
        tool = Tool(prefix / "bin/h5batch", TIMEOUT_S)
        for data, label in ((x, "int32 (1000, 3)"), (y, "float64 with -0.0 and NaN")):
            with h5py.File(outside / "data.h5", "w") as f:
                f.create_dataset(DATASET, data=data)
            job = render_ini({"input": {"files": "data.h5", "dataset": DATASET,
                                        "partition_size": "256"},
                              "reduce": {"ops": "count zeros"},
                              "plugin zeros": {"library": str(lib)},
                              "output": {"file": "out.h5"}})
            (outside / "job.ini").write_text(job)
            want = oracle.zeros(data)["zeros/count"]
            for ranks in ranks_list:
                (outside / "out.h5").unlink(missing_ok=True)
                run = tool.run(ranks, ["-q", "job.ini"], outside,
                               outside / ".log" / slug(rank_label(ranks)))
                expect_ok(run)
                with h5py.File(outside / "out.h5", "r") as f:
                    ds = f[GROUP]["zeros/count"]
                    why = oracle.same("zeros/count", ds[()], ds.dtype.str, want)
                    expect(not why, f"{label}, {rank_label(ranks)}: {why}")
    finally:
        shutil.rmtree(outside, ignore_errors=True)


def out_of_tree_section(args, tmp, report):
    name = "out-of-tree plugin via make install + pkg-config [direct, -n 2]"
    if args.filter not in name:
        return
    try:
        check_out_of_tree(tmp, [0, 2])
    except Skip as exc:
        report.skip(name, exc)
    except Failure as exc:
        report.fail(name, exc)
    except Exception as exc:
        report.fail(name, f"harness error: {type(exc).__name__}: {exc}")
    else:
        report.ok(name)


def main():
    args = parse_args()
    tool = Tool(Path(args.bin).resolve(), TIMEOUT_S)
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-plugins-"))
    print(f"# h5batch plugins: bin={tool.binary} plugins={args.plugins} ranks={args.ranks} "
          f"tmp={tmp}", flush=True)
    report = Report()
    unit_section(args, tmp, report)
    h5batch_section(args, tool, tmp, report)
    example_section(args, tool, tmp, report)
    failure_section(args, tool, tmp, report)
    out_of_tree_section(args, tmp, report)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
