"""The table of data cases: inputs, the job that reduces them, and CLI overrides.

A DataCase is run once per rank mode; its expected results come from
oracle.reference on the very files it wrote, with the job's settings after
any --set overrides.  Case names are "family/what" so -k can pick a family.
"""

import shlex
from dataclasses import dataclass, field

import numpy as np

from data import (Input, ORDERS, TYPES, beyond_2_53, full_range, normal,
                  typed, with_nans, write_input)
from harness import Skip, expect
from oracle import expand_files, reference

ALL_OPS = "count sum mean var std min max"


@dataclass
class Job:
    """The job file as written, plus the settings h5batch should end up with."""
    name: str
    text: str
    dataset: str
    settings: dict


@dataclass
class DataCase:
    name: str
    inputs: list = field(default_factory=list)   # data.Input
    gen: list = field(default_factory=list)      # (path, [h5batch-gen args])
    files: str = "data/*.h5"
    dataset: str = "/group/values"
    ops: str = ALL_OPS
    axis: str = None            # None: key left out (default 0)
    ddof: int = None            # None: key left out (default 0)
    partition: str = None       # None: key left out (default 1M)
    prefetch: int = None
    job_name: str = "demo"      # None: no [job] section, name = file stem
    job_file: str = "job.ini"
    sets: list = field(default_factory=list)     # --set values
    min_partitions: int = 1

    def job(self):
        sections = {"input": {"files": self.files, "dataset": self.dataset},
                    "reduce": {"ops": self.ops},
                    "output": {"file": "results/out.h5"}}
        if self.job_name is not None:
            sections = {"job": {"name": self.job_name}, **sections}
        optional = (("input", "partition_size", self.partition), ("reduce", "axis", self.axis),
                    ("reduce", "ddof", self.ddof), ("run", "prefetch", self.prefetch))
        for section, key, value in optional:
            if value is not None:
                sections.setdefault(section, {})[key] = str(value)
        text = render_ini(sections)
        settings = apply_sets(sections, self.sets)
        stem = self.job_file.rsplit(".", 1)[0]
        name = settings.get("job", {}).get("name", stem)
        return Job(name, text, settings["input"]["dataset"], settings)


def render_ini(sections):
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value}" for key, value in values.items()]
        lines.append("")
    return "\n".join(lines)


def apply_sets(sections, sets):
    """Settings after --set section.key=value overrides."""
    out = {s: dict(v) for s, v in sections.items()}
    for item in sets:
        dotted, value = item.split("=", 1)
        section, key = dotted.split(".", 1)
        out.setdefault(section, {})[key] = value
    return out


def setting(job, section, key, default):
    return job.settings.get(section, {}).get(key, default)


def ops_of(job):
    return setting(job, "reduce", "ops", ALL_OPS).replace(",", " ").split()


# ---------------------------------------------------------------- the table

def type_cases():
    """Every element type in both byte orders, 1-D contiguous and 3-D deflate."""
    cases = []
    for seed, (tname, code) in enumerate(TYPES.items()):
        for oname, order in ORDERS.items():
            one = Input("data/values.h5", typed(code, (5000,), seed, order))
            three = Input("data/values.h5", typed(code, (1001, 3, 4), seed + 100, order),
                          layout="deflate", chunks=(64, 3, 2))
            cases.append(DataCase(f"types/{tname}{oname}-1d", [one], partition="4K"))
            cases.append(DataCase(f"types/{tname}{oname}-3d", [three], partition="64K",
                                  ddof=1))
    return cases


def f8_block(shape=(1003, 5, 2), seed=1):
    return normal("f8", shape, seed, loc=3.0, scale=2.0)


def layout_cases():
    def one(name, inp, **kw):
        return DataCase(f"layout/{name}", [inp], **kw)
    return [
        one("contiguous", Input("data/v.h5", f8_block()), partition="4K", min_partitions=2),
        one("chunks-not-dividing", Input("data/v.h5", f8_block(), "chunked", (7, 5, 2)),
            partition="4K", min_partitions=2),
        one("odd-chunks", Input("data/v.h5", f8_block(), "chunked", (100, 2, 1)),
            partition="64K"),
        one("deflate-shuffle", Input("data/v.h5", f8_block(), "deflate", (33, 5, 2)),
            partition="4K", min_partitions=2),
        one("compact", Input("data/v.h5", f8_block((500, 4, 2)), "compact"), partition="4K"),
        one("sparse-chunks-fill", Input("data/v.h5", full_range("i4", (1003, 5, 2), 2),
                                        "sparse", (50, 5, 2)), partition="4K"),
        one("unlimited", Input("data/v.h5", f8_block(), "chunked", (64, 5, 2), True),
            partition="4K", min_partitions=2),
        one("chunk-longer-than-data", Input("data/v.h5", f8_block(), "chunked",
                                            (2048, 5, 2), True), partition="4K"),
        one("row-bigger-than-partition", Input("data/v.h5", f8_block((60, 40, 40)), "chunked",
                                               (7, 40, 40)), partition="4K", min_partitions=2),
        one("2d-int16", Input("data/v.h5", full_range("i2", (3000, 7), 3), "chunked",
                              (128, 7)), partition="4K", min_partitions=2),
        one("default-partition", Input("data/v.h5", normal("f8", (300000,), 4)),
            min_partitions=2),
        one("partition-1G", Input("data/v.h5", f8_block()), partition="1G"),
        one("partition-2M", Input("data/v.h5", normal("f4", (900000,), 5), "chunked",
                                  (65536,)), partition="2M"),
        one("deep-path", Input("data/v.h5", f8_block(), dataset="/a/b/c/values2"),
            dataset="/a/b/c/values2"),
        one("root-dataset", Input("data/v.h5", full_range("u4", (777,), 6), dataset="/values"),
            dataset="/values"),
        # All of HDF5's metadata past the 8 KiB that checks read at open
        # (h5head.h), the signature found only at 16 KiB.
        one("userblock-16K", Input("data/v.h5", f8_block(), "chunked", (100, 5, 2),
                                   userblock=16384), partition="4K", min_partitions=2),
        one("userblock-contiguous", Input("data/v.h5", f8_block(), userblock=16384),
            partition="4K", min_partitions=2),
    ]


def multi_cases():
    i4 = lambda n, seed, order="<": full_range("i4", (n, 3), seed, order)
    glob_order = [Input("data/part-1.h5", i4(100, 1)),
                  Input("data/part-10.h5", i4(333, 2, ">"), "chunked", (50, 3)),
                  Input("data/part-2.h5", i4(250, 3), "deflate", (64, 3))]
    dedup = [Input(f"data/{c}.h5", full_range("u2", (n,), n)) for c, n in zip("abc", (10, 200, 37))]
    cross_dir = [Input("data/y/0.h5", f8_block((40, 5, 2), 1)),
                 Input("data/x/1.h5", f8_block((70, 5, 2), 2))]
    nan_block = lambda n, seed: with_nans(normal("f8", (n, 3, 4), seed, 10.0, 3.0), 0.1, seed)
    with_empty = [Input("data/a.h5", nan_block(200, 1)),
                  Input("data/b.h5", nan_block(0, 2), "chunked", (16, 3, 4), True),
                  Input("data/c.h5", nan_block(150, 3), "deflate", (40, 3, 4))]
    def f4(n, seed, order):
        return with_nans(normal("f4", (n, 2, 2), seed, 50.0, 5.0, order), 0.2, seed)
    mixed = [Input("data/le.h5", f4(500, 1, "<")), Input("data/be.h5", f4(400, 2, ">"))]
    many = [Input(f"data/f{k:02d}.h5", full_range("i1", (k * 5,), k)) for k in range(12)]
    return [
        DataCase("multi/glob-sorted-by-name", glob_order, files="data/part-*.h5", partition="4K"),
        DataCase("multi/dedup-comma-space", dedup, files="data/b.h5,data/*.h5 data/c.h5"),
        DataCase("multi/sorted-across-patterns", cross_dir, files="data/y/*.h5 data/x/*.h5"),
        DataCase("multi/with-empty-file", with_empty, partition="4K", ddof=1),
        DataCase("multi/mixed-byte-order-f4", mixed, axis="all"),
        DataCase("multi/twelve-files", many, partition="4K"),
    ]


def nan_cases():
    f4 = with_nans(normal("f4", (2000, 3, 4), 7, 1.0, 1.0), 0.3, 7)
    f4[:, 0, 0] = np.nan            # a column with nothing but NaN
    f4[:, 1, 1] = 2.5               # a column without NaN
    one_left = with_nans(normal("f8", (300, 2), 8), 0.0, 8)
    one_left[:, 1] = np.nan
    one_left[17, 1] = 4.0           # count 1: var NaN with ddof 1
    be = with_nans(normal("f8", (1500, 3, 2), 9, -7.0, 2.0, ">"), 0.15, 9)
    return [
        DataCase("nan/float64-1d",
                 [Input("data/v.h5", with_nans(normal("f8", (20000,), 6), 0.1, 6))],
                 partition="4K", min_partitions=2),
        DataCase("nan/float32-3d-nan-column", [Input("data/v.h5", f4, "chunked", (37, 3, 4))],
                 partition="4K", ddof=1),
        DataCase("nan/float64be-3d-axis-all", [Input("data/v.h5", be, "deflate", (100, 3, 2))],
                 axis="all", partition="4K"),
        DataCase("nan/all-nan", [Input("data/v.h5", np.full(1000, np.nan))]),
        DataCase("nan/count-1-ddof-1", [Input("data/v.h5", one_left)], ddof=1),
    ]


def axis_ddof_cases():
    constant = f8_block((500, 3), 3)
    constant[:, 1] = 0.1
    return [
        DataCase("axis/all-int16-3d-ddof1", [Input("data/v.h5", full_range("i2", (800, 3, 4), 1))],
                 axis="all", ddof=1, partition="4K"),
        DataCase("axis/all-uint32-2d", [Input("data/v.h5", full_range("u4", (900, 5), 2), "chunked",
                                              (100, 5))], axis="all"),
        DataCase("axis/all-float64-1d", [Input("data/v.h5", normal("f8", (999,), 3))], axis="all"),
        DataCase("axis/explicit-0", [Input("data/v.h5", f8_block())], axis="0", ddof=0),
        DataCase("ddof/one-row-ddof0", [Input("data/v.h5", f8_block((1, 3, 4)))], ddof=0),
        DataCase("ddof/one-row-ddof1", [Input("data/v.h5", f8_block((1, 3, 4)))], ddof=1),
        DataCase("ddof/two-rows-ddof1", [Input("data/v.h5", full_range("i4", (2, 3), 4))], ddof=1),
        DataCase("ddof/constant-column", [Input("data/v.h5", constant)], ddof=1, partition="4K"),
    ]


def precision_cases():
    noisy = lambda shape, seed: normal("f8", shape, seed, loc=1e9, scale=1.0)
    cancel = normal("f8", (100001,), 5)
    cancel[::2] += 1e12
    cancel[1::2] -= 1e12
    return [
        DataCase("precision/1e9-noise-1d", [Input("data/v.h5", noisy((200000,), 1))],
                 partition="64K", min_partitions=2),
        DataCase("precision/1e9-noise-3d", [Input("data/v.h5", noisy((20000, 3, 2), 2), "chunked",
                                                  (333, 3, 2))], partition="4K", min_partitions=2),
        DataCase("precision/1e9-noise-axis-all", [Input("data/v.h5", noisy((20000, 3, 2), 3))],
                 axis="all", ddof=1, partition="4K"),
        DataCase("precision/cancelling-sum", [Input("data/v.h5", cancel)], partition="4K"),
        DataCase("precision/float32-offset", [Input("data/v.h5", normal("f4", (50000,), 4, 1e4))],
                 partition="4K"),
    ]


def bigint_cases():
    cases = []
    for signed, tname in ((True, "int64"), (False, "uint64")):
        for oname, order in ORDERS.items():
            data = beyond_2_53(signed, (3000, 2, 3), len(cases), order)
            cases.append(DataCase(f"bigint/{tname}{oname}-beyond-2^53",
                                  [Input("data/v.h5", data, "chunked", (250, 2, 3))],
                                  partition="4K"))
    top = np.array([2**64 - 1, 2**64 - 2, 2**53 + 1] * 1000, dtype="u8")
    return cases + [
        DataCase("bigint/int64-axis-all", [Input("data/v.h5", beyond_2_53(True, (2000, 4), 9))],
                 axis="all"),
        DataCase("bigint/uint64-top", [Input("data/v.h5", top)], partition="4K"),
    ]


def empty_cases():
    def empty(name, code, shape, layout="contiguous", **kw):
        data = np.zeros(shape, dtype=code)
        chunks = (16,) + shape[1:] if layout != "contiguous" else None
        inp = Input("data/v.h5", data, layout, chunks, layout != "contiguous")
        return DataCase(f"empty/{name}", [inp], **kw)
    return [
        empty("float64-1d", "f8", (0,)),
        empty("int32-1d", "<i4", (0,)),
        empty("uint16-3d-axis0", "u2", (0, 3, 4)),
        empty("int64-3d-axis-all", "i8", (0, 3, 4), axis="all"),
        empty("float32be-chunked", ">f4", (0, 2), "chunked", ddof=1),
        empty("ops-subset", "u1", (0, 2), ops="min max count"),
    ]


def ops_cases():
    inp = lambda: [Input("data/v.h5", with_nans(f8_block((400, 3)), 0.05, 1))]
    ints = lambda: [Input("data/v.h5", full_range("i8", (400, 3), 1))]
    return [
        DataCase("ops/min-max-comma", inp(), ops="min,max"),
        DataCase("ops/mean-only", inp(), ops="mean"),
        DataCase("ops/count-only", ints(), ops="count"),
        DataCase("ops/mixed-separators", ints(), ops="std, var  count,sum"),
    ]


def job_cases():
    inp = lambda: [Input("data/v.h5", with_nans(f8_block((600, 3, 4)), 0.05, 2), "chunked",
                         (50, 3, 4))]
    return [
        DataCase("set/axis-all", inp(), axis="0", sets=["reduce.axis=all"]),
        DataCase("set/several", inp(), sets=["reduce.ops=min,max", "reduce.ddof=1",
                                             "input.partition_size=4K",
                                             "output.file=results/set.h5"], min_partitions=2),
        DataCase("set/ddof", inp(), ddof=0, sets=["reduce.ddof=1"]),
        DataCase("job/default-name", inp(), job_name=None, job_file="nightly-stats.ini"),
        DataCase("job/prefetch", inp(), prefetch=4, partition="4K"),
    ]


def gen_cases():
    """Cases whose inputs come from h5batch-gen (skipped when it is missing)."""
    def g(name, files, **kw):
        return DataCase(f"gen/{name}", gen=files, **kw)
    return [
        g("float64-sensor-nan", [("data/g.h5", "-t f64 -s 4000x3x4 -c 100x3x4 -z 4 --shuffle "
                                               "-D sensor --nan-frac 0.05 --seed 7")],
          partition="4K"),
        g("int64be-wide", [("data/g.h5", "-t i64be -s 10000 -D wide --seed 3")], partition="4K"),
        g("uint16le-ramp", [("data/g.h5", "-t u16le -s 777x5 -c 50x5 -D ramp --seed 1")], ddof=1),
        g("float32-offset-two-files", [("data/g1.h5", "-t f32 -s 3000x2x2 -D offset --seed 1"),
                                       ("data/g2.h5", "-t f32 -s 2000x2x2 -D offset --seed 2")],
          axis="all"),
        g("int8-uniform", [("data/g.h5", "-t i8 -s 5000 -D uniform --seed 5")]),
        g("uint32-offset-deflate", [("data/g.h5", "-t u32 -s 2000x4x4 -c 128x4x4 -z 6 -D offset")],
          partition="4K"),
        g("float64be-append", [("data/g.h5", "-d /group/other -t i32 -s 100 -D ramp"),
                               ("data/g.h5", "-t f64be -s 500x3 -D normal --seed 2 --append")]),
        g("int32-keys-empty-file", [("data/g1.h5", "-t i32 -s 3000x2 -D keys --keys 50"),
                                    ("data/g2.h5", "-t i32 -s 0x2 -D keys")], partition="4K"),
        g("float64-offset-1e9", [("data/g.h5", "-t f64 -s 100000 -c 4096 -D offset --seed 9")],
          partition="4K", ddof=1, min_partitions=2),
    ]


def all_data_cases():
    return (type_cases() + layout_cases() + multi_cases() + nan_cases() + axis_ddof_cases()
            + precision_cases() + bigint_cases() + empty_cases() + ops_cases() + job_cases()
            + gen_cases())


# ------------------------------------------------------- making a case real

def prepare_case(case_dir, case, gen_tool):
    """Write the case's inputs (h5py or h5batch-gen), job file and results dir.

    Returns the Job.  Raises Skip when the case needs h5batch-gen and it is
    not built, Failure when the generator fails.
    """
    case_dir.mkdir(parents=True, exist_ok=True)
    for inp in case.inputs:
        write_input(case_dir, inp)
    for path, args in case.gen:
        run_gen(gen_tool, case_dir, path, case.dataset, args)
    job = case.job()
    (case_dir / case.job_file).write_text(job.text)
    (case_dir / "results").mkdir(exist_ok=True)
    return job


def run_gen(gen_tool, case_dir, path, dataset, args):
    if gen_tool is None or not gen_tool.binary.is_file():
        raise Skip("h5batch-gen not built")
    (case_dir / path).parent.mkdir(parents=True, exist_ok=True)
    argv = ["-o", path] + (["-d", dataset] if "-d" not in args.split() else [])
    argv += shlex.split(args) + ["-q"]
    run = gen_tool.run(0, argv, case_dir, case_dir / ".log-gen")
    expect(not run.timed_out and run.rc == 0,
           f"h5batch-gen {' '.join(argv)} failed: {run.describe()}")


def expected_for(case_dir, job):
    """Oracle results for a prepared job (inputs read back from its files)."""
    files = expand_files(setting(job, "input", "files", ""), case_dir)
    expect(files, "the job's input.files matches no file (harness bug)")
    axis = setting(job, "reduce", "axis", "0")
    ddof = int(setting(job, "reduce", "ddof", "0"))
    return reference(files, job.dataset, axis, ddof, case_dir)
