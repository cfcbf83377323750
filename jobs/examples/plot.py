#!/usr/bin/python3
"""Draw the results of h5batch as PNG files: maps, histograms, quantiles.

    /usr/bin/python3 jobs/examples/plot.py -o results results/climate.h5 ...

Each result column (a group of the results file) gives what it holds:
  STEM-GROUP-mean.png        a 2-D mean as a map over its coordinates (lat,
                             lon ...), labelled with its units; a 1-D mean
                             as bars over its dimension
  STEM-GROUP-histogram.png   the histogram summed over the cells, as bars
                             between the edges
  STEM-GROUP-quantiles.png   the quantiles of up to 16 cells against the
                             probabilities
  STEM-GROUP-groupby.png     each key's mean, with min and max when present
The files are opened with xarray, so dimension names, coordinates and
units come from the results file itself.  Prints each PNG it writes.
Needs Debian's python3-xarray and python3-matplotlib (`make deps`).
"""
import argparse
import sys
from pathlib import Path

import h5py
import matplotlib
import numpy as np
import xarray as xr

matplotlib.use("Agg")
import matplotlib.pyplot as plt     # noqa: E402  (after choosing the backend)

MAX_LINES = 16


def label(da):
    """A readable name for a result: its long_name or name, and units."""
    name = da.attrs.get("long_name", da.name)
    units = da.attrs.get("units")
    return f"{name} [{units}]" if units else str(name)


def column_groups(path):
    """Groups of the file holding a result column (a count or a subgroup)."""
    with h5py.File(path, "r") as f:
        return [k for k, v in f.items() if isinstance(v, h5py.Group)]


def open_group(path, group):
    try:
        return xr.open_dataset(path, group=group, engine="h5netcdf")
    except (OSError, KeyError, ValueError):
        return None


def save(fig, out, stem, group, what):
    png = out / f"{stem}-{group}-{what}.png"
    fig.savefig(png, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(png)


def plot_mean(ds, out, stem, group):
    if "mean" not in ds or ds["mean"].ndim not in (1, 2):
        return
    fig, ax = plt.subplots(figsize=(8, 4.5))
    mean = ds["mean"]
    if mean.ndim == 2:
        mean.plot(ax=ax, cbar_kwargs={"label": label(mean)})
    else:
        ax.bar(np.arange(mean.size), mean.values)
        ax.set_xlabel(mean.dims[0])
        ax.set_ylabel(label(mean))
    ax.set_title(f"{group}: {mean.attrs.get('cell_methods', 'mean')}")
    save(fig, out, stem, group, "mean")


def plot_histogram(ds, out, stem, group, units):
    counts = ds["counts"]
    total = counts.sum(dim=[d for d in counts.dims if d != "bin"]).values
    edges = ds["edges"].values
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.bar(edges[:-1], total, width=np.diff(edges), align="edge")
    ax.set_xlabel(f"{group} [{units}]" if units else group)
    ax.set_ylabel("count")
    ax.set_title(f"{group}: histogram over all cells")
    save(fig, out, stem, group, "histogram")


def plot_quantiles(ds, out, stem, group):
    values = ds["values"]
    cells = values.values.reshape(-1, values.sizes["quantile"])
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for row in cells[:MAX_LINES]:
        ax.plot(ds["quantile"].values, row, marker="o", alpha=0.7)
    ax.set_xlabel("probability")
    ax.set_ylabel(label(values))
    shown = min(len(cells), MAX_LINES)
    ax.set_title(f"{group}: quantiles of {shown} of {len(cells)} cells")
    save(fig, out, stem, group, "quantiles")


def plot_groupby(ds, out, stem, group):
    fig, ax = plt.subplots(figsize=(8, 4.5))
    keys = ds["key"].values
    if "min" in ds and "max" in ds:
        ax.fill_between(keys, ds["min"].values, ds["max"].values, alpha=0.3,
                        label="min to max")
    ax.plot(keys, ds["mean"].values, ".", markersize=2, label="mean")
    ax.set_xlabel("key")
    ax.set_ylabel(label(ds["mean"]))
    ax.legend()
    ax.set_title(f"{group}: per key")
    save(fig, out, stem, group, "groupby")


def plot_file(path, out):
    stem = Path(path).stem
    for group in column_groups(path):
        ds = open_group(path, group)
        units = ds["mean"].attrs.get("units") if ds is not None and "mean" in ds else None
        if ds is not None:
            plot_mean(ds, out, stem, group)
        hist = open_group(path, f"{group}/histogram")
        if hist is not None and "counts" in hist:
            plot_histogram(hist, out, stem, group, hist["edges"].attrs.get("units", units))
        quant = open_group(path, f"{group}/quantiles")
        if quant is not None and "values" in quant:
            plot_quantiles(quant, out, stem, group)
        gb = open_group(path, f"{group}/groupby")
        if gb is not None and "mean" in gb:
            plot_groupby(gb, out, stem, group)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--out", default="results", help="directory for the PNG files")
    p.add_argument("files", nargs="+", help="h5batch results files")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for path in args.files:
        plot_file(path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
