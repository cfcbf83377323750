"""Checks of h5batch's outputs against the oracle's Expected and the spec.

Each check raises harness.Failure with a one-line reason naming the object
(e.g. "values/var[1,2]") and both sides of the comparison.
"""

import json
import math
import re
import shutil
from pathlib import Path

import h5py
import numpy as np

from harness import Failure, expect, slug

RTOL = 1e-12
JSON_RTOL = 1e-15      # a float64 may be printed with 16 significant digits, not 17
FLOAT_OPS = ("sum", "mean", "var", "std")
ROOT_ATTRS = ("h5batch_version", "job_name", "job", "inputs", "dataset", "rows",
              "partitions", "ranks", "started", "finished", "history")
JSON_KEYS = ("job", "dataset", "inputs", "rows", "partitions", "ranks",
             "elapsed_s", "bytes", "results")
RUN_ATTRS = ("started", "finished", "ranks", "history")   # history begins with finished
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|\+00:00)$")


def as_text(value):
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode()
    if isinstance(value, np.ndarray) and value.shape == ():
        return as_text(value[()])
    return str(value)


def as_text_list(value):
    if isinstance(value, (str, bytes, np.bytes_)):
        return [as_text(value)]
    return [as_text(v) for v in np.asarray(value).reshape(-1)]


def is_scale(ds):
    """A netCDF-4 dimension (HDF5 dimension scale), not a result."""
    return as_text(ds.attrs.get("CLASS", b"")) == "DIMENSION_SCALE"


def result_names(group):
    """Names of the results directly in group: its datasets but the scales."""
    return {k for k, v in group.items() if isinstance(v, h5py.Dataset) and not is_scale(v)}


def axis_names(where, ds):
    """The dimension name of every axis of ds (its first scale's name);
    a Failure names the first axis without one (a phony dimension)."""
    names = []
    for k, dim in enumerate(ds.dims):
        expect(len(dim) >= 1, f"{where}: axis {k} has no dimension scale")
        names.append(dim[0].name.rsplit("/", 1)[-1])
    return names


def result_dtype(exp, op):
    """The dtype the spec asks for a result dataset."""
    if op in ("count", "nan_count"):
        return np.dtype("uint64")
    if op in FLOAT_OPS:
        return np.dtype("float64")
    if exp.rows == 0 and not exp.is_float:
        return np.dtype("float64")       # empty integer input: NaN min/max
    return exp.dtype


def check_result_file(path, exp, ops, job, ranks, min_partitions=1):
    """Whole-file check: layout, dtypes, values and root attributes."""
    expect(Path(path).is_file(), f"no output file {path}")
    with h5py.File(path, "r") as f:
        expect(set(f.keys()) == {exp.group},
               f"root holds {sorted(f.keys())}, expected only [{exp.group!r}]")
        group = f[exp.group]
        wanted = {"count"} | set(ops) | ({"nan_count"} if exp.is_float else set())
        expect(result_names(group) == wanted,
               f"group {exp.group} holds {sorted(result_names(group))}, "
               f"expected {sorted(wanted)}")
        for op in sorted(wanted):
            check_op(group[op], exp, op)
        check_root_attrs(f.attrs, exp, job, ranks, min_partitions)


def check_op(ds, exp, op):
    name = f"{exp.group}/{op}"
    expect(ds.shape == exp.shape, f"{name}: shape {ds.shape}, expected {exp.shape}")
    want = result_dtype(exp, op)
    expect(ds.dtype == want, f"{name}: dtype {ds.dtype.str}, expected {want.str}")
    # The inputs have no scales: axis k of the input is named DATASET_dimK.
    dims = [f"{exp.group}_dim{k + 1}" for k in range(len(exp.shape))]
    expect(axis_names(name, ds) == dims, f"{name}: dimensions {axis_names(name, ds)}, "
                                         f"expected {dims}")
    got = np.asarray(ds[()]).reshape(exp.shape)
    for index in np.ndindex(exp.shape):
        where = f"{name}[{','.join(map(str, index))}]" if index else name
        compare_value(where, got[index], exp.stats[op][index], exp.slack[op][index], op)


def compare_value(where, got, want, atol, op):
    """Exact for counts and min/max, rtol (+atol) for the float statistics."""
    if isinstance(want, float) and math.isnan(want):
        expect(isinstance(got, (float, np.floating)) and math.isnan(got),
               f"{where}: got {got!r}, expected NaN")
        return
    if op in FLOAT_OPS:
        got = float(got)
        err = abs(got - want)
        bound = RTOL * abs(want) + atol
        expect(err <= bound, f"{where}: got {got!r}, expected {want!r} "
                             f"(error {err:.3g} > {bound:.3g})")
        return
    same = int(got) == want if isinstance(want, int) else float(got) == want
    expect(same, f"{where}: got {got!r}, expected {want!r} (exact)")


def check_root_attrs(attrs, exp, job, ranks, min_partitions):
    missing = [a for a in ROOT_ATTRS if a not in attrs]
    expect(not missing, f"root attributes missing: {missing}")
    expect(as_text(attrs["h5batch_version"]).strip() != "", "h5batch_version is empty")
    expect(as_text(attrs["job_name"]) == job.name,
           f"job_name {as_text(attrs['job_name'])!r}, expected {job.name!r}")
    expect(as_text(attrs["job"]).rstrip() == job.text.rstrip(),
           "attribute job differs from the job file text")
    expect(as_text(attrs["dataset"]) == job.dataset,
           f"dataset attribute {as_text(attrs['dataset'])!r}, expected {job.dataset!r}")
    check_inputs(as_text_list(attrs["inputs"]), exp.inputs, "attribute inputs")
    rows = np.asarray(attrs["rows"])
    expect(rows.dtype == np.uint64, f"rows attribute is {rows.dtype}, expected uint64")
    expect(int(rows) == exp.rows, f"rows attribute {int(rows)}, expected {exp.rows}")
    expect(int(np.asarray(attrs["ranks"])) == max(ranks, 1),
           f"ranks attribute {int(np.asarray(attrs['ranks']))}, expected {max(ranks, 1)}")
    parts = int(np.asarray(attrs["partitions"]))
    floor = min_partitions if exp.rows else 0
    expect(parts >= floor, f"partitions attribute {parts}, expected >= {floor}")
    started, finished = as_text(attrs["started"]), as_text(attrs["finished"])
    for name, stamp in (("started", started), ("finished", finished)):
        expect(ISO_UTC.match(stamp), f"{name} {stamp!r} is not ISO 8601 UTC")
    expect(started[:19] <= finished[:19], f"finished {finished} before started {started}")
    history = as_text(attrs["history"])
    expect(history.startswith(finished + ": h5batch ") and job.dataset in history,
           f"history {history!r} does not start with the finished time and name the dataset")


def check_inputs(got, want, what):
    """Inputs are compared by file name (the tool may print them absolute)."""
    got_names = [Path(p).name for p in got]
    want_names = [Path(p).name for p in want]
    expect(got_names == want_names, f"{what} {got_names}, expected {want_names}")


def check_json(stdout, result_path, exp, job, ranks):
    """stdout is one JSON document that agrees with the result file."""
    try:
        doc = json.loads(stdout)
    except ValueError as exc:
        raise Failure(f"stdout is not one JSON document ({exc}): {stdout[:120]!r}")
    expect(isinstance(doc, dict), "JSON document is not an object")
    missing = [k for k in JSON_KEYS if k not in doc]
    expect(not missing, f"JSON keys missing: {missing}")
    expect(doc["job"] == job.name, f"JSON job {doc['job']!r}, expected {job.name!r}")
    expect(doc["dataset"] == job.dataset, f"JSON dataset {doc['dataset']!r}")
    check_inputs(doc["inputs"], exp.inputs, "JSON inputs")
    expect(doc["rows"] == exp.rows, f"JSON rows {doc['rows']}, expected {exp.rows}")
    expect(doc["ranks"] == max(ranks, 1), f"JSON ranks {doc['ranks']}")
    expect(isinstance(doc["bytes"], int) and doc["bytes"] >= 0, f"JSON bytes {doc['bytes']!r}")
    expect(isinstance(doc["elapsed_s"], (int, float)), f"JSON elapsed_s {doc['elapsed_s']!r}")
    results = doc["results"]
    expect(isinstance(results, dict) and exp.group in results,
           f"JSON results lack group {exp.group!r}")
    with h5py.File(result_path, "r") as f:
        expect(int(np.asarray(f.attrs["partitions"])) == doc["partitions"],
               "JSON partitions differs from the file's")
        group = f[exp.group]
        missing = sorted(result_names(group) - set(results[exp.group]))
        expect(not missing, f"JSON results/{exp.group} lack {missing}")
        for op, value in results[exp.group].items():
            expect(op in group, f"JSON has {op}, the file does not")
            compare_json_value(f"JSON {exp.group}/{op}", value, group[op])


def compare_json_value(where, value, ds):
    data = np.asarray(ds[()])
    if isinstance(value, dict):
        expect(list(value.get("shape", [])) == list(data.shape),
               f"{where}: shape {value.get('shape')}, file has {list(data.shape)}")
        expect(str(value.get("path", "")).rstrip("/").endswith(ds.name),
               f"{where}: path {value.get('path')!r} does not name {ds.name}")
        return
    flat = np.asarray(value, dtype=object).reshape(-1) if isinstance(value, list) else [value]
    expect(len(flat) == data.size, f"{where}: {len(flat)} values, file has {data.size}")
    for got, want in zip(flat, data.reshape(-1)):
        same_json_number(where, got, want)


def same_json_number(where, got, want):
    """Integers exact; a float32 must round-trip (9 digits are enough);
    strings (group-by keys, bytes from h5py) as their UTF-8 text."""
    if isinstance(want, bytes):
        expect(got == want.decode("utf-8", "replace"),
               f"{where}: {got!r}, file has {want!r}")
        return
    if isinstance(want, np.floating) and not math.isfinite(want):
        # README.md: NaN and infinities are null in the JSON summary.
        expect(got is None, f"{where}: {got!r} for {want}, expected null")
        return
    expect(isinstance(got, (int, float)) and not isinstance(got, bool),
           f"{where}: {got!r} is not a number")
    if isinstance(want, np.integer):
        expect(got == int(want), f"{where}: {got!r}, file has {int(want)} (exact)")
    elif want.dtype == np.float32:
        expect(np.float32(got) == want, f"{where}: {got!r} is not the file's float32 {want!r}")
    else:
        expect(abs(got - float(want)) <= JSON_RTOL * abs(float(want)),
               f"{where}: {got!r}, file has {float(want)!r}")


def normalized_copy(path, dest):
    """Copy a result file and overwrite started/finished/ranks in place.

    attrs.modify keeps each attribute's type and shape, so the file layout is
    unchanged and two runs that differ only in those attributes end up with
    identical bytes.  One wrinkle: a variable-length string lives in the
    global heap, and rewriting it leaves the old string's bytes behind in the
    freed heap object, so those leftovers are zeroed too (same length, so no
    offset moves).  Returns the normalised bytes.
    """
    shutil.copyfile(path, dest)
    leftovers = []
    with h5py.File(dest, "r+") as f:
        for name in RUN_ATTRS:
            if name not in f.attrs:
                continue
            old = f.attrs[name]
            if isinstance(old, (str, bytes, np.bytes_)):
                leftovers.append(old.encode() if isinstance(old, str) else bytes(old))
                f.attrs.modify(name, "")
            else:
                f.attrs.modify(name, 0)
    raw = Path(dest).read_bytes()
    for old in filter(None, leftovers):
        raw = raw.replace(old, b"\0" * len(old))
    return raw


def check_runs(report, one, runs, case, job, exp, case_dir):
    """Run a prepared case once per (tool, ranks) of runs with one(tool,
    case, job, exp, ranks, fmt, case_dir, kept), alternating text and JSON
    output; one() keeps each result file in kept under tool.label(ranks).
    Then check that the kept files are byte-identical (check_identical)."""
    kept = {}
    for i, (tool, ranks) in enumerate(runs):
        fmt = "json" if i % 2 else "text"
        label = tool.label(ranks) + (", json" if fmt == "json" else "")
        report.check(f"{case.name} [{label}]", one, tool, case, job, exp, ranks, fmt,
                     case_dir, kept)
    if len(kept) >= 2:
        report.check(f"{case.name} [identical: {', '.join(kept)}]", check_identical, kept,
                     case_dir)
    return kept


def keep_result(out, label, kept):
    """Move a run's result file aside as kept.LABEL.h5, noted in kept[label]."""
    kept_path = out.with_name(f"kept.{slug(label)}.h5")
    out.rename(kept_path)
    kept[label] = kept_path


def check_identical(paths, scratch):
    """Result files from different rank counts agree byte for byte."""
    labels = list(paths)
    base_label = labels[0]
    base = normalized_copy(paths[base_label], Path(scratch) / "norm-base.h5")
    for label in labels[1:]:
        other = normalized_copy(paths[label], Path(scratch) / "norm-other.h5")
        if other == base:
            continue
        diffs = [i for i, (a, b) in enumerate(zip(base, other)) if a != b]
        raise Failure(f"{label} differs from {base_label}: sizes {len(base)}/{len(other)}, "
                      f"{len(diffs)} differing bytes, first at offset "
                      f"{diffs[0] if diffs else min(len(base), len(other))}")
