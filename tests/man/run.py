#!/usr/bin/python3
"""Checks of the man pages man/h5batch.1 and man/h5batch-gen.1.

1. `mandoc -T lint -W warning` reports nothing (style notes aside, such as
   a referenced page that is not installed on this machine).
2. `man --warnings -l` renders each page with nothing on stderr.
3. The pages are the reference: every job-file key that src/job.c accepts
   is an item of h5batch(1), and every long option that `--help` of each
   binary prints is in its page.
4. `make install PREFIX=<tmp>` installs both under share/man/man1, and
   `man -l` renders the installed copies.
One line per check, closing with "N passed, N failed".
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests/integration"))

from harness import Report, expect, finish, one_line   # noqa: E402

PAGES = {"h5batch": REPO / "man/h5batch.1", "h5batch-gen": REPO / "man/h5batch-gen.1"}


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                          timeout=120, **kw)


def lint(page):
    r = run(["mandoc", "-T", "lint", "-W", "warning", page])
    out = (r.stdout + r.stderr).strip()
    expect(r.returncode == 0 and not out, f"mandoc -T lint: exit {r.returncode}: "
                                          f"{one_line(out, 400)}")


def render(page):
    r = run(["man", "--warnings", "-l", page], env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin",
                                                     "LANG": "C.UTF-8"})
    expect(r.returncode == 0, f"man -l: exit {r.returncode}: {one_line(r.stderr)}")
    expect(not r.stderr.strip(), f"man --warnings -l: {one_line(r.stderr, 400)}")
    expect("NAME" in r.stdout and "SYNOPSIS" in r.stdout, "man -l rendered no NAME/SYNOPSIS")


def job_keys():
    """(section, key) of every entry in src/job.c's keydefs table."""
    text = (REPO / "src/job.c").read_text()
    table = text[text.index("keydefs[] = {"):]
    table = table[:table.index("};")]
    keys = re.findall(r'\{\s*"([a-z]+)",\s*"([a-z_0-9]+)"', table)
    expect(len(keys) > 20, f"found only {len(keys)} keys in src/job.c: parser out of date")
    return keys


def keys_documented():
    page = PAGES["h5batch"].read_text()
    missing = []
    for section, key in job_keys():
        block = page[page.index(f".Ss [{section}] section"):]
        block = block[:block.index(".El")]
        if not re.search(rf"^\.It Cm {key}$", block, re.M):
            missing.append(f"[{section}] {key}")
    expect(not missing, f"h5batch(1) lacks job-file keys {missing}")


def options_documented(binary, name):
    r = run([binary, "--help"])
    expect(r.returncode == 0, f"{binary} --help: exit {r.returncode}")
    options = sorted(set(re.findall(r"--([a-z][a-z-]*)", r.stdout)))
    expect(options, f"{binary} --help lists no options")
    page = PAGES[name].read_text()
    missing = [o for o in options if f"Fl -{o}" not in page]
    expect(not missing, f"{name}(1) lacks options {missing}")


def install(prefix):
    r = run(["make", "-s", "-C", REPO, "install", f"PREFIX={prefix}"])
    expect(r.returncode == 0, f"make install: exit {r.returncode}: {one_line(r.stderr, 300)}")
    for name in PAGES:
        installed = Path(prefix) / "share/man/man1" / f"{name}.1"
        expect(installed.is_file(), f"make install did not write {installed}")
        expect(installed.read_bytes() == PAGES[name].read_bytes(), f"{installed} differs")
        render(installed)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=str(REPO / "build/h5batch"))
    p.add_argument("--gen", default=str(REPO / "build/h5batch-gen"))
    p.add_argument("--keep", action="store_true")
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="h5batch-man-"))
    report = Report()
    for name, page in PAGES.items():
        report.check(f"{name}(1) mandoc lint", lint, page)
        report.check(f"{name}(1) man -l", render, page)
    report.check("h5batch(1) job-file keys", keys_documented)
    report.check("h5batch(1) options", options_documented, args.bin, "h5batch")
    report.check("h5batch-gen(1) options", options_documented, args.gen, "h5batch-gen")
    report.check("make install: share/man/man1", install, tmp / "prefix")
    return finish(report, tmp, args.keep)


if __name__ == "__main__":
    sys.exit(main())
