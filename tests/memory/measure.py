#!/usr/bin/python3
"""Compare the memory plan's estimate with the measured peak RSS (README,
Memory).  Not a test: it prints a table.  For each job it runs h5batch
with --format json and takes the estimate and every rank's ru_maxrss from
the summary's memory object; a run without mpirun is also measured from
outside with /usr/bin/time -f %M.

  measure.py --bin build/h5batch --contig F.h5 --cols16 G.h5 --deflate D.h5
             --grid S.h5
F, G, D: the bench files (/data: 2 GiB of float64, 1-D and 16 columns,
contiguous; 512 MiB in 1 MiB chunks, shuffle + deflate 1; bench.py's
contig, cols16 and deflate cases); S: /grid, 1024 x 256 x 256 float32 in
[0, 1).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

MIB = 1 << 20
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")

JOBS = [
    # name, file key, dataset, ops/extra lines, ranks, --set overrides
    ("contig, moments", "contig", "/data", "ops = count mean std", 0, []),
    ("contig, moments, 256M partitions", "contig", "/data", "ops = count mean std", 0,
     ["input.partition_size=256M"]),
    ("contig, moments", "contig", "/data", "ops = count mean std", 2, []),
    ("contig, moments, 64M x prefetch 4", "contig", "/data", "ops = count mean std", 2,
     ["input.partition_size=64M", "run.prefetch=4"]),
    ("contig, moments, 64M x 4, rank 0 reads", "contig", "/data",
     "ops = count mean std", 2,
     ["input.partition_size=64M", "run.prefetch=4", "run.worker_reads=off"]),
    ("contig, moments, 64M x 4, no shm", "contig", "/data", "ops = count mean std", 2,
     ["input.partition_size=64M", "run.prefetch=4", "run.shared_memory=off",
      "run.worker_reads=off"]),
    ("deflate, moments", "deflate", "/data", "ops = count mean std", 0, []),
    ("deflate, moments", "deflate", "/data", "ops = count mean std", 2, []),
    ("cols16, moments + quantiles", "cols16", "/data",
     "ops = count mean std quantiles", 0, []),
    ("grid 65536 cells, histogram 400 bins", "grid", "/grid",
     "ops = histogram\nhistogram_bins = 400\nhistogram_range = 0, 1", 0, []),
    ("grid 65536 cells, histogram 400 bins", "grid", "/grid",
     "ops = histogram\nhistogram_bins = 400\nhistogram_range = 0, 1", 2, []),
]


def run(binary, path, dataset, ops, ranks, sets, tmp):
    job = os.path.join(tmp, "job.ini")
    out = os.path.join(tmp, "out.h5")
    with open(job, "w") as f:
        f.write("[job]\nname = m\n[input]\nfiles = %s\ndataset = %s\n[reduce]\n%s\n"
                "[output]\nfile = %s\n" % (path, dataset, ops, out))
    argv = [binary, job, "-q", "--format", "json"]
    for s in sets:
        argv += ["--set", s]
    if ranks:
        argv = ["mpirun", "-n", str(ranks), "--oversubscribe", "-q"] + argv
    else:
        argv = ["/usr/bin/time", "-f", "%M", "-o", os.path.join(tmp, "time")] + argv
    p = subprocess.run(argv, env=ENV, stdout=subprocess.PIPE, check=True)
    os.unlink(out)
    mem = json.loads(p.stdout)["memory"]
    outside = None
    if not ranks:
        with open(os.path.join(tmp, "time")) as f:
            outside = int(f.read().split()[-1]) * 1024
    return mem, outside


def row(name, ranks, who, alloc, est, rss):
    print("| %s | %s | %s | %.0f | %.0f | %.0f | %+.0f%% |"
          % (name, ranks or 1, who, alloc / MIB, est / MIB, rss / MIB,
             100.0 * (est - rss) / rss))


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default="build/h5batch")
    p.add_argument("--contig", required=True)
    p.add_argument("--cols16", required=True)
    p.add_argument("--deflate", required=True)
    p.add_argument("--grid", required=True)
    a = p.parse_args()
    files = {"contig": a.contig, "cols16": a.cols16, "grid": a.grid,
             "deflate": a.deflate}
    print("| job | ranks | rank | allocated MiB | resident MiB (estimate) | "
          "peak RSS MiB | resident - RSS |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, key, dataset, ops, ranks, sets in JOBS:
            mem, outside = run(a.bin, files[key], dataset, ops, ranks, sets, tmp)
            alloc, est = mem["estimate_bytes"], mem["estimate_resident_bytes"]
            rss = mem["peak_rss_bytes"]
            row(name, ranks, "0", alloc["rank0"], est["rank0"], rss["rank0"])
            if outside:
                row(name, ranks, "0 (time %M)", alloc["rank0"], est["rank0"], outside)
            for w, r in enumerate(rss["workers"]):
                row(name, ranks, str(w + 1), alloc["worker"], est["worker"], r)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
