"""The summary on stdout: names from users' files, and where the time went.

json-names: h5py writes a compound dataset whose field names hold a quote,
a backslash, control characters (\\x01, a tab), non-ASCII UTF-8 and, in one
field (written through h5py's low-level API), a byte that is not UTF-8; a
string field beside them must be skipped.  The input file sits in a
directory whose name holds the same kinds of characters, and its own name
holds a non-UTF-8 byte; the job name, dataset path and output path do too.
stdout must be strict UTF-8 and one document for Python's json module,
with every name exactly as Python's bytes.decode("utf-8", "replace") reads
it (README: names that are not UTF-8 get U+FFFD) -- as keys, as values and
inside the "path" of a histogram too large to inline -- the numbers
agreeing with numpy, and the mean, min and max of an all-NaN field null.

timing-adds-up: a histogram_range = auto job (a first pass for the
range).  The JSON timing has range_s > 0, and rank 0's parts -- spans of
its main thread that never overlap -- add up to at most elapsed_s; read_s
only when rank 0 alone reads ahead in a second thread, which overlaps the
rest, so that run checks read_s <= elapsed_s on its own and another with
read_ahead = off checks the full sum.  With two CPUs the first run's
second thread reads and reduces every other partition itself (README,
read_ahead): rank 0's figures are then its main thread's, which reads its
own share, so the full sum holds, and the second thread's read_s +
reduce_s does too, over about half the partitions.  The text line names
the range pass.
"""

import json
import math
import os

import h5py
import numpy as np

from cli_cases import standard
from harness import Failure, expect, expect_ok, launcher, run_tool

# Odd but legal names: HDF5 and POSIX allow anything but '/' and NUL.
ODD = 'q"uo\\te\x01\ttempérâture'
FIELDS = ['te"mp', "back\\slash", "ctl\x01\tx", "température", "allnan"]
BAD_FIELD = b"bad\xffname"              # not UTF-8
STRING_FIELD = 'la"bel\\'               # non-numeric: skipped
JOB_NAME = 'n"a\\me température'
GROUP, DSET = f"/gr{ODD}", f"da{ODD}"
OUTPUT = f"results/o{ODD}.h5"
DATA_DIR = f"data/in {ODD}"
FILE_NAME = b"d\xfe\xc3x.h5"            # a lone \xfe, then a cut sequence
ROWS = 600
# More bins than the summary inlines (1000 values): the histogram's counts
# and edges appear as {"shape", "path"}, and path holds the field's name.
BINS = 1001
# Seconds are printed with 6 decimals: 7 parts rounded by up to 0.5e-6
# each, and the total by as much.
TIME_EPS = 1e-5


def py_name(raw):
    """A name as the JSON summary must show it (README: U+FFFD)."""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def odd_records():
    """The numeric columns (name -> float64 array) and the record array."""
    rng = np.random.default_rng(14)
    cols = {name: rng.normal(3.0, 2.0, ROWS) for name in FIELDS[:-1]}
    cols["température"][::7] = np.nan
    cols["allnan"] = np.full(ROWS, np.nan)
    cols[BAD_FIELD] = rng.normal(-1.0, 0.5, ROWS)
    return cols


def write_odd_file(path, cols):
    """A compound dataset with every field of cols (float64) and a string
    field, built with h5py's low-level API so that one field name can be
    bytes that are not UTF-8."""
    size = 8 * len(cols) + 8
    tid = h5py.h5t.create(h5py.h5t.COMPOUND, size)
    for i, name in enumerate(cols):
        raw = name if isinstance(name, bytes) else name.encode()
        tid.insert(raw, 8 * i, h5py.h5t.IEEE_F64LE)
    stype = h5py.h5t.C_S1.copy()
    stype.set_size(8)
    tid.insert(STRING_FIELD.encode(), 8 * len(cols), stype)
    rec = np.zeros(ROWS, dtype=[(f"f{i}", "<f8") for i in range(len(cols))] + [("s", "S8")])
    for i, name in enumerate(cols):
        rec[f"f{i}"] = cols[name]
    rec["s"] = b"label"
    with h5py.File(path, "w") as f:
        grp = f.create_group(GROUP)
        space = h5py.h5s.create_simple((ROWS,))
        dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        dcpl.set_chunk((100,))
        dsid = h5py.h5d.create(grp.id, DSET.encode(), tid, space, dcpl=dcpl)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, rec, mtype=tid)


def odd_case(case_dir):
    """Write the input and the job; return (columns, input path as bytes)."""
    cols = odd_records()
    data_dir = case_dir / DATA_DIR
    data_dir.mkdir(parents=True, exist_ok=True)
    (case_dir / "results").mkdir(exist_ok=True)
    path = os.fsencode(data_dir) + b"/" + FILE_NAME
    write_odd_file(path, cols)
    job = (f"[job]\nname = {JOB_NAME}\n"
           f"[input]\nfiles = data/*/*.h5\ndataset = {GROUP}/{DSET}\n"
           f"partition_size = 8K\n"
           f"[reduce]\nops = mean min max histogram\nhistogram_bins = {BINS}\n"
           f"histogram_range = -10, 10\n"
           f"[output]\nfile = {OUTPUT}\n")
    (case_dir / "job.ini").write_bytes(job.encode())
    return cols, os.fsencode(DATA_DIR) + b"/" + FILE_NAME


def strict_json(logdir):
    """stdout as strict UTF-8 and one JSON document (raw control characters
    in strings refused, as json.loads does by default)."""
    raw = (logdir / "stdout").read_bytes()
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise Failure(f"stdout is not one strict UTF-8 JSON document ({exc}): {raw[:200]!r}")


def check_odd_results(results, cols):
    expect(set(results) == {py_name(n) for n in cols},
           f"JSON result groups {sorted(results)}, expected {sorted(py_name(n) for n in cols)}")
    for name, col in cols.items():
        got = results[py_name(name)]
        where = f"results[{py_name(name)!r}]"
        for ds, shape in (("histogram/counts", [BINS]), ("histogram/edges", [BINS + 1])):
            want = {"shape": shape, "path": f"/{py_name(name)}/{ds}"}
            expect(got.get(ds) == want, f"{where}[{ds!r}] {got.get(ds)!r}, expected {want!r}")
        finite = col[~np.isnan(col)]
        expect(got["count"] == finite.size and got["nan_count"] == ROWS - finite.size,
               f"{where}: count {got['count']} nan_count {got['nan_count']}, expected "
               f"{finite.size} and {ROWS - finite.size}")
        if finite.size == 0:
            expect(got["mean"] is None and got["min"] is None and got["max"] is None,
                   f"{where}: mean/min/max {got['mean']!r}/{got['min']!r}/{got['max']!r} "
                   f"of an all-NaN column, expected null")
            continue
        want = math.fsum(finite) / finite.size
        expect(abs(got["mean"] - want) <= 1e-12 * abs(want) + 1e-15,
               f"{where}: mean {got['mean']!r}, numpy {want!r}")
        expect(got["min"] == float(finite.min()) and got["max"] == float(finite.max()),
               f"{where}: min/max {got['min']!r}/{got['max']!r}, numpy "
               f"{float(finite.min())!r}/{float(finite.max())!r}")


def json_names(tool, ranks, case_dir):
    cols, input_path = odd_case(case_dir)
    logdir = case_dir / ".log" / "json"
    run = run_tool(launcher(ranks) + [str(tool.binary), "-q", "--format", "json", "job.ini"],
                   case_dir, tool.timeout, logdir)
    expect_ok(run)
    doc = strict_json(logdir)
    for key, want in (("job", JOB_NAME), ("dataset", f"{GROUP}/{DSET}"), ("output", OUTPUT),
                      ("inputs", [py_name(input_path)]), ("skipped_fields", [STRING_FIELD]),
                      ("rows", ROWS)):
        expect(doc.get(key) == want, f"JSON {key} {doc.get(key)!r}, expected {want!r}")
    expect((case_dir / OUTPUT).is_file(), f"no results file {OUTPUT!r}")
    check_odd_results(doc["results"], cols)


def timing_run(tool, ranks, case_dir, label, sets):
    """One histogram_range = auto run with --format json; its document."""
    args = ["-q", "--format", "json", "--set", "input.partition_size=4K",
            "--set", "reduce.ops=mean histogram", "--set", "reduce.histogram_range=auto"]
    args += [a for s in sets for a in ("--set", s)]
    run = tool.run(ranks, args + ["job.ini"], case_dir, case_dir / ".log" / label)
    expect_ok(run)
    return json.loads(run.stdout)


def check_adds_up(doc, label, read_on_main):
    t, total = doc["timing"], doc["elapsed_s"]
    twin = t.get("second_thread")
    if twin is not None:
        read_on_main = True
        spent = twin["read_s"] + twin["reduce_s"]
        expect(spent <= total + TIME_EPS and twin["partitions"] > 0,
               f"{label}: second thread {twin} in {total:.6f} s")
    expect(t["range_s"] > 0, f"{label}: range_s {t['range_s']} with histogram_range = auto")
    parts = ["send_s", "wait_s", "merge_s", "reduce_s", "range_s"]
    parts += ["read_s"] if read_on_main else []
    added = sum(t[p] for p in parts)
    expect(added <= total + TIME_EPS,
           f"{label}: {' + '.join(parts)} = {added:.6f} s > elapsed_s {total:.6f} s ({t})")
    expect(t["read_s"] <= total + TIME_EPS,
           f"{label}: read_s {t['read_s']} > elapsed_s {total}")


def timing_adds_up(tool, ranks, case_dir):
    standard(case_dir)
    if ranks < 2:
        doc = timing_run(tool, ranks, case_dir, "ahead", [])
        twin = doc["timing"].get("second_thread")
        cpus = len(os.sched_getaffinity(0))
        expect(ranks > 0 or (twin is not None) == (cpus >= 2),
               f"read_ahead = auto: second thread {twin} with {cpus} CPUs")
        check_adds_up(doc, "read_ahead = on", read_on_main=False)
        doc = timing_run(tool, ranks, case_dir, "off", ["run.read_ahead=off"])
        expect(doc["timing"].get("second_thread") is None,
               "read_ahead = off: a second thread ran")
        check_adds_up(doc, "read_ahead = off", read_on_main=True)
    else:
        check_adds_up(timing_run(tool, ranks, case_dir, "json", []), "workers",
                      read_on_main=True)
    run = tool.run(ranks, ["-q", "--set", "reduce.ops=mean histogram", "job.ini"], case_dir,
                   case_dir / ".log" / "text")
    expect_ok(run)
    line = [ln for ln in run.stdout.splitlines() if ln.startswith("time: ")]
    expect(len(line) == 1 and "; histogram range pass " in line[0],
           f"text timing line {line!r} does not name the range pass")


SUMMARY_CASES = [
    ("summary/json-names", json_names),
    ("summary/timing-adds-up", timing_adds_up),
]
