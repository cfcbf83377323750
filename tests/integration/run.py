#!/usr/bin/python3
"""Integration tests of h5batch: reduce h5py-written files, compare with numpy.

Each data case (cases.py) is run once per launch mode (--ranks; 0 = without
mpirun) that matrix.py gives it, alternating text and JSON output; every
result file is checked against the oracle (oracle.py), and the files of all
modes must be byte-identical once started/finished/ranks are blanked.
matrix.py says which path each mode reaches: rank 0 alone (0, 1), values
sent point to point (2), the shared window with rank 0 helping at every
chance (3), more ranks than cores (4).  The feature cases
(featurecase.py: PyTables/pandas tables and CF netCDF-4 in realdata.py,
histograms and quantiles in histquant.py, a tiled million-cell field in
tiles.py) run the same way with their own writers and oracles.  Then the CLI
checks (cli_cases.py) and the summary checks (summary_cases.py: names from
users' files in JSON, the timing line), and the results opened by xarray
and ncdump (readers.py), and selections ([input] select) against xarray
(selection.py), weighted reductions ([reduce] weights) and per-record
ones (axis = records) against xarray (weighted.py, records.py), and
climatologies (group_by on a field) against xarray + cftime (climatology.py).  One line per check, closing with
"N passed, N failed".
"""

import argparse
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True

from cases import all_data_cases, expected_for, ops_of, prepare_case, setting
from cli_cases import CLI_CASES
from exact import exact_cases
from featurecase import run_feature_case
from harness import (LAUNCHERS, Failure, Report, Skip, Tool, expect_ok, finish, parse_ranks,
                     rank_label, slug, use_mpi)
from groupbycases import groupby_cases
from histquant import histquant_cases
from matrix import (ALL_MODES, CASE_SETS, LAUNCH_CASES, MPICH_MODES, SAME_AS_RANKS,
                    SANITIZED_CASES, SANITIZED_MPI_MODES, SMOKE_CASES, mode_sets, modes_for,
                    selected)
from oracle import ATOL_DOC
from readers import NAMES as READER_CASES, run_reader_cases
from selection import NAMES as SELECT_CASES, run_selection_cases
from weighted import NAMES as WEIGHTED_CASES, run_weighted_cases
from records import NAMES as RECORDS_CASES, run_records_cases
from climatology import NAMES as CLIM_CASES, run_climatology_cases
from realdata import realdata_cases
from summary_cases import SUMMARY_CASES
from tiles import tile_cases
from verify import check_json, check_result_file, check_runs, keep_result

REPO = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, epilog="Tolerances:\n" + ATOL_DOC,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"), help="h5batch binary")
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"), help="h5batch-gen binary")
    p.add_argument("-k", dest="filter", default="", help="run only cases whose name contains this")
    p.add_argument("--ranks", default=",".join(map(str, ALL_MODES)), type=parse_ranks,
                   help="launch modes to run, comma separated; 0 = without mpirun "
                        "(default: all; each case runs in those of them matrix.py gives it)")
    p.add_argument("--every-mode", action="store_true",
                   help="run every case in every mode of --ranks, not just matrix.py's")
    p.add_argument("--cases", choices=CASE_SETS, default="all",
                   help="all cases, or the sanitized build's subset (matrix.py)")
    p.add_argument("--mpi", choices=sorted(LAUNCHERS), default="openmpi",
                   help="the MPI whose launcher starts the ranks: openmpi (mpirun) or "
                        "mpich (mpiexec.mpich); --bin must be built against it")
    p.add_argument("--same-as", metavar="BIN",
                   help="an h5batch built against Open MPI: every data and feature case "
                        f"also runs it under mpirun -n {SAME_AS_RANKS}, and its result file "
                        "must be byte-identical to --bin's")
    p.add_argument("--keep", action="store_true", help="keep the temp dir and print its path")
    return p.parse_args()


def run_data_case(tool, gen, ranks_list, case, tmp, report, also=()):
    """Run a data case in ranks_list's modes, then the (tool, ranks) runs of
    `also` (another build's), all checked and byte-identical."""
    case_dir = tmp / slug(case.name)
    try:
        job = prepare_case(case_dir, case, gen)
        exp = expected_for(case_dir, job)
    except Skip as exc:
        report.skip(case.name, exc)
        return
    except Failure as exc:
        report.fail(f"{case.name} [setup]", exc)
        return
    runs = [(tool, r) for r in ranks_list]
    runs += list(also) if runs else []
    check_runs(report, run_one, runs, case, job, exp, case_dir)


def run_one(tool, case, job, exp, ranks, fmt, case_dir, kept):
    """One h5batch run of a prepared case, its result checked and kept for later."""
    out = case_dir / setting(job, "output", "file", "results/out.h5")
    out.unlink(missing_ok=True)
    args = ["--format", "json"] if fmt == "json" else []
    args += [a for s in case.sets for a in ("--set", s)]
    args += mode_sets(ranks, case.name) + [case.job_file]
    run = tool.run(ranks, args, case_dir, case_dir / ".log" / slug(tool.label(ranks)))
    expect_ok(run)
    check_result_file(out, exp, ops_of(job), job, ranks, case.min_partitions)
    if fmt == "json":
        check_json(run.stdout, out, exp, job, ranks)
    keep_result(out, tool.label(ranks), kept)


def run_cli_case(tool, ranks_list, name, func, tmp, report):
    for ranks in ranks_list:
        case_dir = tmp / slug(name) / slug(rank_label(ranks))
        report.check(f"{name} [{rank_label(ranks)}]", func, tool, ranks, case_dir)


def main():
    args = parse_args()
    use_mpi(args.mpi)
    tool = Tool(Path(args.bin).resolve(), TIMEOUT_S)
    gen = Tool(Path(args.gen).resolve(), TIMEOUT_S)
    also = []
    if args.same_as:
        also = [(Tool(Path(args.same_as).resolve(), TIMEOUT_S, "openmpi", "openmpi"),
                 SAME_AS_RANKS)]
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-it-"))
    print(f"# h5batch integration: bin={tool.binary} mpi={args.mpi} ranks={args.ranks} "
          f"tmp={tmp}", flush=True)
    report = Report()
    data = all_data_cases()
    features = (realdata_cases() + histquant_cases() + tile_cases() + exact_cases() +
                groupby_cases())
    commands = CLI_CASES + SUMMARY_CASES
    names = [c.name for c in data + features] + [name for name, _ in commands] + READER_CASES \
        + SELECT_CASES + WEIGHTED_CASES + RECORDS_CASES + CLIM_CASES
    unknown = (LAUNCH_CASES | SANITIZED_CASES | SMOKE_CASES | set(MPICH_MODES)) - set(names)
    unknown |= set(SANITIZED_MPI_MODES) - SANITIZED_CASES
    if unknown:
        report.fail("matrix.py", f"names no case: {sorted(unknown)}")

    def chosen(name):
        return args.filter in name and selected(name, args.cases)

    def modes(name):
        return modes_for(name, args.ranks, args.cases, args.every_mode)
    for case in data:
        if chosen(case.name):
            run_data_case(tool, gen, modes(case.name), case, tmp, report, also)
    for case in features:
        if chosen(case.name):
            run_feature_case(tool, modes(case.name), case, tmp, report, also)
    for name, func in commands:
        if chosen(name):
            run_cli_case(tool, modes(name), name, func, tmp, report)
    run_reader_cases(tool, args.ranks, tmp, report, chosen)
    run_selection_cases(tool, args.ranks, tmp, report, chosen)
    run_weighted_cases(tool, args.ranks, tmp, report, chosen)
    run_records_cases(tool, args.ranks, tmp, report, chosen)
    run_climatology_cases(tool, args.ranks, tmp, report, chosen)
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
