"""Feature cases: inputs from an independent writer, every result dataset checked.

A data case (cases.py) is one plain column checked by oracle.reference.  A
FeatureCase covers what that cannot: tables with one result group per field
(PyTables, pandas), CF variables (netCDF4), nested results such as
histogram/counts and quantiles/values, and maps of a million cells.  It
writes its own inputs, and its oracle reads them back with an independent
reader and returns an Expect: for every result group, every dataset the
file must hold, with a Want (value, dtype, tolerance) for each.  The file
must hold exactly those groups and datasets.  Comparisons are vectorised,
so a million-cell map is checked in well under a second.

The runner is the data cases' one: every rank mode (or the case's subset),
text and JSON alternating, then the result files of all modes byte-identical
once started/finished/ranks are blanked (verify.check_identical).  A case
may add checks run once after that (e.g. --dry-run output, memory).
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from cases import Job, render_ini
from harness import Failure, Skip, expect, expect_ok, slug
from matrix import mode_sets
from oracle import EPS, as_object_array, float_column, int_column
from verify import (JSON_KEYS, RTOL, axis_names, check_inputs, check_root_attrs, check_runs,
                    compare_json_value, is_scale, keep_result)

U8 = "<u8"
F8 = "<f8"


@dataclass
class Want:
    """One result dataset: expected value (NaN where NaN), dtype and tolerance.

    rtol and atol are scalars or arrays shaped like value; both 0 means an
    exact comparison (integers compared as Python ints, floats bit-equal
    with NaN matching NaN).
    """
    value: np.ndarray
    dtype: str                  # numpy dtype.str, e.g. '<f8', '<u8', '|u1'
    rtol: object = 0.0
    atol: object = 0.0


@dataclass
class Expect:
    inputs: list                # input file paths in processing order
    rows: int
    groups: dict                # group -> {dataset path in the group -> Want}
    skipped: list = None        # JSON skipped_fields (None: not checked)


@dataclass
class FeatureCase:
    name: str
    write: Callable             # write(case_dir): the input files
    sections: dict              # the job file: section -> {key: value}
    oracle: Callable            # oracle(case_dir) -> Expect
    ranks: tuple = None         # rank modes to run (None: all of --ranks)
    min_partitions: int = 1
    extra: list = field(default_factory=list)   # (label, f(tool, case_dir, job, kept))

    def job(self):
        text = render_ini(self.sections)
        name = self.sections.get("job", {}).get("name", "job")
        return Job(name, text, self.sections["input"]["dataset"], self.sections)


def need(module):
    """Import an optional reader (PyTables, pandas, netCDF4) or skip the case."""
    try:
        return __import__(module)
    except ImportError as exc:
        raise Skip(f"python module {module} not available ({exc})")


# ------------------------------------------------------------ expectations

def moment_wants(columns, shape, dtype, ops, ddof=0):
    """Wants for the moments of columns (rows x cells) via oracle.py's fsum path.

    dtype is the input's element type (its min/max type).  Meant for up to
    some thousands of cells; big maps use numpy directly (tiles.py).
    """
    dtype = np.dtype(dtype).newbyteorder("<")
    reduce = float_column if dtype.kind == "f" else int_column
    per_cell = [reduce(columns[:, j], ddof) for j in range(columns.shape[1])]
    wants = {}
    always = ["count"] + (["nan_count"] if dtype.kind == "f" else [])
    for op in always + [op for op in ops if op not in always]:
        values = as_object_array([c[0][op] for c in per_cell], shape)
        slack = as_object_array([c[1].get(op, 0.0) for c in per_cell], shape)
        if op in ("count", "nan_count"):
            wants[op] = Want(values.astype(np.uint64), U8)
        elif op in ("min", "max"):
            empty = columns.shape[0] == 0 and dtype.kind != "f"
            wants[op] = Want(values if not empty else values.astype(float),
                             F8 if empty else dtype.str)
        else:
            wants[op] = Want(values.astype(np.float64), F8, RTOL, slack.astype(np.float64))
    return wants


def spread_atol(abs_total, big, n, var):
    """oracle.spread_slack on arrays: atol for sum, mean, var and std (ATOL_DOC)."""
    var_atol = (4 * EPS * big) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_atol = np.where(n > 0, 1e-15 * abs_total / np.maximum(n, 1), 0.0)
    std_atol = np.where(~np.isnan(var) & (var <= var_atol), 4 * EPS * big, 0.0)
    return {"sum": 1e-15 * abs_total, "mean": mean_atol, "var": var_atol, "std": std_atol}


# ------------------------------------------------------------ comparisons

def datasets_in(group):
    """Paths (relative to group) of every result below it: every dataset
    but the dimension scales, whose every axis is checked to be named."""
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not is_scale(obj):
            axis_names(f"{group.name}/{name}", obj)
            found.append(name)
    group.visititems(visit)
    return set(found)


def check_want(where, ds, want):
    value = np.asarray(want.value)
    expect(ds.shape == value.shape, f"{where}: shape {ds.shape}, expected {value.shape}")
    expect(ds.dtype.str == want.dtype, f"{where}: dtype {ds.dtype.str}, expected {want.dtype}")
    got = np.asarray(ds[()])
    exact = np.all(np.asarray(want.rtol) == 0) and np.all(np.asarray(want.atol) == 0)
    bad = exact_mismatch(got, value) if exact else close_mismatch(got, value, want)
    if not bad.any():
        return
    first = tuple(int(i) for i in np.argwhere(bad)[0]) if bad.ndim else ()
    label = f"{where}[{','.join(map(str, first))}]" if first else where
    how = "exact" if exact else f"rtol {np.broadcast_to(want.rtol, bad.shape)[first]:.3g}, " \
                                f"atol {np.broadcast_to(want.atol, bad.shape)[first]:.3g}"
    raise Failure(f"{label}: got {got[first]!r}, expected {value[first]!r} ({how}); "
                  f"{int(bad.sum())} of {bad.size} values differ")


def exact_mismatch(got, want):
    """Boolean array: where got and want differ (ints as Python ints, NaN == NaN)."""
    if got.dtype.kind in "iu" or want.dtype.kind in "iuO":
        g = got.astype(object).reshape(-1)
        w = want.astype(object).reshape(-1)
        same = [a == b or (is_nan(a) and is_nan(b)) for a, b in zip(g, w)]
        return ~np.array(same, dtype=bool).reshape(got.shape)
    g, w = got.astype(np.float64), want.astype(np.float64)
    return ~((g == w) | (np.isnan(g) & np.isnan(w)))


def is_nan(v):
    return isinstance(v, (float, np.floating)) and math.isnan(v)


def close_mismatch(got, want, spec):
    g, w = got.astype(np.float64), want.astype(np.float64)
    with np.errstate(invalid="ignore"):
        ok = np.abs(g - w) <= spec.rtol * np.abs(w) + spec.atol
        ok |= g == w                     # infinities
    return np.where(np.isnan(w), ~np.isnan(g), ~ok)


def check_file(path, exp, job, ranks, min_partitions):
    """The result file holds exactly exp's groups and datasets, each as wanted."""
    expect(Path(path).is_file(), f"no output file {path}")
    with h5py.File(path, "r") as f:
        expect(set(f.keys()) == set(exp.groups),
               f"root holds {sorted(f.keys())}, expected {sorted(exp.groups)}")
        for gname, wants in exp.groups.items():
            have = datasets_in(f[gname])
            expect(have == set(wants), f"group {gname} holds {sorted(have)}, "
                                       f"expected {sorted(wants)}")
            for dname, want in sorted(wants.items()):
                check_want(f"{gname}/{dname}", f[gname][dname], want)
        check_root_attrs(f.attrs, exp, job, ranks, min_partitions)


def check_json_doc(stdout, path, exp, job, ranks):
    """stdout is one JSON document naming every group and dataset of the file."""
    try:
        doc = json.loads(stdout)
    except ValueError as exc:
        raise Failure(f"stdout is not one JSON document ({exc}): {stdout[:120]!r}")
    missing = [k for k in JSON_KEYS if k not in doc]
    expect(not missing, f"JSON keys missing: {missing}")
    expect(doc["job"] == job.name and doc["dataset"] == job.dataset,
           f"JSON job/dataset {doc['job']!r}/{doc['dataset']!r}")
    expect(doc["rows"] == exp.rows and doc["ranks"] == max(ranks, 1),
           f"JSON rows {doc['rows']} ranks {doc['ranks']}")
    check_inputs(doc["inputs"], exp.inputs, "JSON inputs")
    if exp.skipped is not None:
        got = doc.get("skipped_fields")
        expect(isinstance(got, list) and sorted(got) == sorted(exp.skipped),
               f"JSON skipped_fields {got!r}, expected {sorted(exp.skipped)}")
    results = doc["results"]
    with h5py.File(path, "r") as f:
        expect(set(results) == set(f.keys()),
               f"JSON results {sorted(results)}, file groups {sorted(f.keys())}")
        for gname in f.keys():
            names = datasets_in(f[gname])
            expect(set(results[gname]) == names,
                   f"JSON results/{gname} {sorted(results[gname])}, file has {sorted(names)}")
            for dname in sorted(names):
                compare_json_value(f"JSON {gname}/{dname}", results[gname][dname],
                                   f[gname][dname])


# ------------------------------------------------------------ the runner

def run_feature_case(tool, ranks_list, case, tmp, report, also=()):
    """Run a feature case in the modes of ranks_list that it allows, then
    the (tool, ranks) runs of `also` (another build's), all byte-identical."""
    case_dir = tmp / slug(case.name)
    try:
        case_dir.mkdir(parents=True, exist_ok=True)
        (case_dir / "results").mkdir(exist_ok=True)
        case.write(case_dir)
        job = case.job()
        (case_dir / "job.ini").write_text(job.text)
        exp = case.oracle(case_dir)
    except Skip as exc:
        report.skip(case.name, exc)
        return
    except Exception as exc:             # a writer or oracle failure is a setup failure
        report.fail(f"{case.name} [setup]", f"{type(exc).__name__}: {exc}")
        return
    runs = [(tool, r) for r in ranks_list if case.ranks is None or r in case.ranks]
    runs += list(also) if runs else []
    kept = check_runs(report, run_feature_one, runs, case, job, exp, case_dir)
    for label, func in case.extra:
        report.check(f"{case.name} [{label}]", func, tool, case_dir, job, kept)


def run_feature_one(tool, case, job, exp, ranks, fmt, case_dir, kept):
    out = case_dir / job.settings["output"]["file"]
    out.unlink(missing_ok=True)
    args = (["--format", "json"] if fmt == "json" else []) + mode_sets(ranks, case.name) + ["job.ini"]
    run = tool.run(ranks, args, case_dir, case_dir / ".log" / slug(tool.label(ranks)))
    expect_ok(run)
    check_file(out, exp, job, ranks, case.min_partitions)
    if fmt == "json":
        check_json_doc(run.stdout, out, exp, job, ranks)
    keep_result(out, tool.label(ranks), kept)


def job_sections(files, dataset, reduce=None, partition=None, extra_input=None,
                 name="feature"):
    """The usual job-file sections; reduce/extra_input are dicts of keys."""
    inp = {"files": files, "dataset": dataset}
    if partition:
        inp["partition_size"] = partition
    inp.update(extra_input or {})
    sections = {"job": {"name": name}, "input": inp}
    if reduce:
        sections["reduce"] = dict(reduce)
    sections["output"] = {"file": "results/out.h5"}
    return sections
