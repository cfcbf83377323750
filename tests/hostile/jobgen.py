"""Job files too big or too binary to keep in the tree, made at run time.

A case names one of these with `jobgen: NAME`; the function gets the run's
temp dir (where the HDF5 fixtures are) and returns the job file's bytes.
Everything is deterministic: the "random" bytes come from a fixed seed.
"""

import random

MIB = 1 << 20


def valid_job(tmp, **extra):
    """A job that would run on the good fixture; extra keys go to [reduce]."""
    lines = ["[job]", "name = hostile", "[input]", f"files = {tmp}/good.h5",
             "dataset = /group/values", "[reduce]"]
    lines += [f"{k} = {v}" for k, v in extra.items()]
    lines += ["[output]", f"file = {tmp}/out/result.h5", ""]
    return "\n".join(lines).encode()


def valid(tmp):
    """A valid job, for cases whose hostile part is on the command line."""
    return valid_job(tmp)


def garbage(tmp):
    """4 KiB of random bytes (NULs included)."""
    return random.Random(6).randbytes(4096)


def garbage_no_nul(tmp):
    """4 KiB of random bytes without NUL, in short lines: inih's syntax."""
    rnd = random.Random(7)
    lines = [bytes(rnd.randrange(1, 256) for _ in range(rnd.randrange(1, 60)))
             .replace(b"\n", b" ") for _ in range(80)]
    return b"\n".join(lines) + b"\n"


def long_line(tmp):
    """A 1 MB line as the first line of an otherwise valid job."""
    return b"; " + b"x" * (1000 * 1000) + b"\n" + valid_job(tmp)


def long_value(tmp):
    """A 1 MB value of a list key."""
    return valid_job(tmp).replace(b"[reduce]\n", b"[reduce]\nops = " +
                                  b"count " * (1000 * 1000 // 6) + b"\n")


def repeated_list_key(tmp):
    """10^5 repetitions of `ops=count` in [reduce]: the list grows each time."""
    return valid_job(tmp).replace(b"[reduce]\n", b"[reduce]\n" +
                                  b"ops=count\n" * 100000)


def repeated_key(tmp):
    """10^5 repetitions of a key that is not a list."""
    return valid_job(tmp).replace(b"[reduce]\n", b"[reduce]\n" +
                                  b"ddof=0\n" * 100000)


def many_sections(tmp):
    """10^5 section headers, then an unknown key on the last line."""
    return valid_job(tmp) + b"[run]\n" * 100000 + b"bogus = 1\n"


def many_continuations(tmp):
    """A list key continued over 10^5 indented lines."""
    return valid_job(tmp).replace(b"[reduce]\n", b"[reduce]\nops = count\n" +
                                  b"  sum\n" * 100000)


def nul_in_value(tmp):
    return valid_job(tmp).replace(b"name = hostile", b"name = host\0ile")


def only_nuls(tmp):
    return b"\0" * 1000


def padded(tmp, size):
    """A valid job padded with comment lines to exactly size bytes."""
    job = valid_job(tmp)
    line = b"; " + b"p" * 97 + b"\n"
    body = job + line * ((size - len(job)) // len(line))
    rest = size - len(body)
    return body + (b"; " + b"q" * (rest - 3) + b"\n" if rest >= 3 else b"\n" * rest)


def one_mib_plus_one(tmp):
    return padded(tmp, MIB + 1)


def utf8_bad_key(tmp):
    return valid_job(tmp).replace(b"name = hostile", b"n\xffme = hostile")


def utf8_bad_section(tmp):
    return valid_job(tmp).replace(b"[job]", b"[j\xc3\x28b]")


def utf8_bad_name(tmp):
    """Invalid UTF-8 (a lone continuation byte, an overlong '/') in the job
    name, which would go into the results' attributes and the JSON."""
    return valid_job(tmp).replace(b"name = hostile", b"name = host\x80ile\xc0\xaf")


def utf8_bad_dataset(tmp):
    return valid_job(tmp).replace(b"/group/values", b"/group/val\xfe\xffues")


def utf16_bom(tmp):
    """The job saved as UTF-16 by a Windows editor."""
    return b"\xff\xfe" + valid_job(tmp).decode().encode("utf-16-le")


def control_chars(tmp):
    """A key holding terminal escape sequences and other control bytes."""
    return valid_job(tmp).replace(b"name = hostile",
                                  b"\x1b]0;owned\x07\x1b[2J\x1b[31mname\x0b\x1c = x")


def exactly_one_mib(tmp):
    """The largest job file accepted: valid, padded to exactly 1 MiB."""
    return padded(tmp, MIB)


GENERATORS = {f.__name__.replace("_", "-"): f for f in (
    valid, garbage, garbage_no_nul, long_line, long_value, repeated_list_key,
    repeated_key, many_sections, many_continuations, nul_in_value,
    only_nuls, one_mib_plus_one, utf8_bad_key, utf8_bad_section,
    utf8_bad_name, utf8_bad_dataset, utf16_bom, control_chars,
    exactly_one_mib)}


def make_job(name, tmp):
    """The bytes of generated job `name`."""
    if name not in GENERATORS:
        raise KeyError(f"no job generator {name!r} (known: {' '.join(GENERATORS)})")
    return GENERATORS[name](tmp)


def set_long_value(tmp):
    """One --set of 100 kB (a single argument may be at most 128 KiB)."""
    return ["--set", "input.dataset=/" + "x" * 100000]


def set_many(tmp):
    """5000 valid --set options, then one bad one.  (Not 10^4: an Open MPI
    singleton start hands the whole command line to orted in one string,
    and exec fails with E2BIG above 128 KiB, about 7000 of these, before
    h5batch runs at all.  h5batch alone no longer starts MPI, but
    H5BATCH_MPI=1 still would.)"""
    return ["--set", "reduce.ddof=1"] * 5000 + ["--set", "reduce.ddof=7"]


def set_control_chars(tmp):
    """A dataset path with a newline and an escape sequence: the error line
    names it and must stay one line."""
    return ["--set", "input.dataset=/group/val\nues\x1b[2J"]


ARG_GENERATORS = {f.__name__.replace("_", "-"): f for f in (
    set_long_value, set_many, set_control_chars)}


def make_args(name, tmp):
    """The extra arguments of generator `name`."""
    if name not in ARG_GENERATORS:
        raise KeyError(f"no argument generator {name!r} (known: {' '.join(ARG_GENERATORS)})")
    return ARG_GENERATORS[name](tmp)
