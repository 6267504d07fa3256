#!/usr/bin/env python3
"""The ICU data the release binary links: the toolchain's, less what the agent never loads.

Full Foundation (imported by GRDB and postgres-nio) links `lib_FoundationICU.a`, whose member
`icu_packaged_data.cpp.o` holds ICU's whole common data package as one symbol, `icudtNN_dat` (34 MB: collation,
word-break dictionaries, transliteration, the display names of every language, region, currency, unit and zone,
legacy charset converters, and the locale data of some 800 locales). The agent loads four of its items: the time
zone rules of `[reports] time_zone` and of the host's zone (`zoneinfo64`, `timezoneTypes`, `keyTypeData`; traced
with a breakpoint on ICU's table-of-contents lookup while every route was called, docs/benchmarks.md) and, for a URL
with a host name that is not ASCII, the IDNA mapping (`uts46`).

This script writes an object with a package of the items in KEEP, taken byte for byte from the toolchain's package,
under a symbol of its own, and the linker arguments that make ICU's symbol its alias (`--defsym`, which lld resolves
before it reads the archives, so the archive's member is never taken; a second definition of the symbol itself would
come after the archive's in the link and clash with it). The release link reads them (the Makefile's RELEASE_FLAGS).
The package format is ICU's common data ("CmnD"): the original header, an item count, (name offset, data offset)
pairs sorted by name (ICU searches them by bisection), the names, then each item aligned to 16 bytes.

Usage: trim.py --archive lib_FoundationICU.a --tools DIR_WITH_LLVM_TOOLS --output DIR
writes DIR/icudata.dat (the package), DIR/icudata.o (it as a symbol) and DIR/swift-build-flags (`swift build`'s
arguments that pass the object and the alias to the linker). The toolchain's llvm-nm, llvm-ar, llvm-objcopy and
clang do the ELF work.
"""

import argparse
import re
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

# The items kept (names under the package's "icudtNNl/" prefix), with the reason for each.
KEEP = [
    # Loaded by the agent: TimeZone(identifier:), TimeZone.current, offsets and transitions.
    "zoneinfo64.res",         # the rules of every IANA zone
    "timezoneTypes.res",      # IANA names <-> canonical names and BCP 47 zone keys
    "keyTypeData.res",        # BCP 47 keywords (the calendar and zone keys of a locale ID)
    # Zone metadata that ICU's time zone code may consult (aliases, Windows names, metazones).
    "metaZones.res",
    "windowsZones.res",
    # The root and English (POSIX) locales with what a calendar or a date formatter of them reads, so that any
    # Foundation code that formats a date the way GRDB's storage formatter does (en_US_POSIX, Gregorian) finds its
    # data instead of falling back silently.
    "res_index.res",
    "pool.res",
    "root.res",
    "en.res",
    "en_US.res",
    "en_US_POSIX.res",
    "supplementalData.res",
    "likelySubtags.res",
    "numberingSystems.res",
    "plurals.res",
    "dayPeriods.res",
    "icuver.res",
    "icustd.res",
    # Charset name aliases (UTF-8 by any of its names) and compatibility normalisation.
    "cnvalias.icu",
    "nfkc.nrm",
    # Loaded by the agent for a URL whose host name is not ASCII (a webhook at an internationalised domain name, or
    # typed in full-width letters): Foundation's URL maps the host with ICU's UTS #46 IDNA (traced the same way).
    "uts46.nrm",
]

HEADER_MAGIC = b"\xda\x27"
# The symbol of the trimmed package; ICU's own name (icudtNN_dat) becomes its alias.
TRIMMED_SYMBOL = "viworks_icu_data"


def run(*arguments: str, capture: bool = True) -> str:
    result = subprocess.run(arguments, check=True, capture_output=capture, text=True)
    return result.stdout if capture else ""


def find_data_symbol(tools: Path, archive: Path) -> tuple[str, str, int]:
    """(member, symbol, size) of the archive member that defines icudtNN_dat."""
    listing = run(str(tools / "llvm-nm"), "-A", "-S", "--defined-only", str(archive))
    for line in listing.splitlines():
        # ".../lib_FoundationICU.a:icu_packaged_data.cpp.o: 0000000000000000 0000000002066f20 R icudt76_dat"
        match = re.match(r".*:([^:]+\.o):\s*[0-9a-f]+ ([0-9a-f]+) [RrDd] (icudt\d+_dat)$", line)
        if match:
            return match.group(1), match.group(3), int(match.group(2), 16)
    sys.exit(f"{archive}: no member defines icudtNN_dat")


def items(package: bytes) -> tuple[int, list[tuple[str, bytes]]]:
    """(header size, [(name, bytes)]) of an ICU common data package."""
    header_size = struct.unpack_from("<H", package, 0)[0]
    if package[2:4] != HEADER_MAGIC or package[12:16] != b"CmnD" or package[4 + 4] != 0:
        sys.exit("not a little-endian ICU common data package (CmnD)")
    toc = header_size
    count = struct.unpack_from("<I", package, toc)[0]
    entries = [struct.unpack_from("<II", package, toc + 4 + 8 * index) for index in range(count)]
    result = []
    for index, (name_offset, data_offset) in enumerate(entries):
        end = entries[index + 1][1] if index + 1 < count else len(package) - toc
        name_start = toc + name_offset
        name = package[name_start:package.index(b"\0", name_start)].decode("ascii")
        result.append((name, package[toc + data_offset:toc + end]))
    return header_size, result


def pad16(length: int) -> int:
    return (length + 15) & ~15


def build(header: bytes, kept: list[tuple[str, bytes]]) -> bytes:
    count = len(kept)
    names = b"".join(name.encode("ascii") + b"\0" for name, _ in kept)
    table_length = 4 + 8 * count
    data_start = pad16(table_length + len(names))
    name_offsets, data_offsets = [], []
    name_cursor, data_cursor = table_length, data_start
    for name, data in kept:
        name_offsets.append(name_cursor)
        name_cursor += len(name) + 1
        data_offsets.append(data_cursor)
        data_cursor += pad16(len(data))
    toc = bytearray(struct.pack("<I", count))
    for name_offset, data_offset in zip(name_offsets, data_offsets):
        toc += struct.pack("<II", name_offset, data_offset)
    toc += names
    toc += b"\0" * (data_start - len(toc))
    for _, data in kept:
        toc += data + b"\0" * (pad16(len(data)) - len(data))
    return header + bytes(toc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--tools", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    options = parser.parse_args()

    member, symbol, size = find_data_symbol(options.tools, options.archive)
    options.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        member_path = scratch / member
        member_path.write_bytes(subprocess.run([str(options.tools / "llvm-ar"), "p", str(options.archive), member],
                                               check=True, capture_output=True).stdout)
        full_path = scratch / "full.dat"
        run(str(options.tools / "llvm-objcopy"), "-O", "binary", "--only-section=.rodata", str(member_path),
            str(full_path))
        package = full_path.read_bytes()
        if len(package) != size:
            sys.exit(f"{member}: .rodata is {len(package)} bytes, {symbol} {size}: not the one-symbol member expected")

        header_size, every = items(package)
        prefix = every[0][0].split("/", 1)[0] + "/"
        by_name = dict(every)
        missing = [name for name in KEEP if prefix + name not in by_name]
        if missing:
            sys.exit(f"{options.archive}: the package has no {', '.join(missing)}")
        wanted = {prefix + name for name in KEEP}
        kept = [(name, data) for name, data in every if name in wanted]  # the package's (sorted) order
        trimmed = build(package[:header_size], kept)

        # Read back: every kept item byte for byte, in order, and nothing else.
        _, again = items(trimmed)
        if [name for name, _ in again] != [name for name, _ in kept] or any(
                data[:len(original)] != original for (_, data), (_, original) in zip(again, kept)):
            sys.exit("the trimmed package does not read back as written")

        data_path = options.output / "icudata.dat"
        object_path = options.output / "icudata.o"
        data_path.write_bytes(trimmed)
        assembly = scratch / "icudata.S"
        assembly.write_text(
            f'\t.section .rodata.{TRIMMED_SYMBOL},"a",@progbits\n'
            f"\t.balign 16\n"
            f"\t.globl {TRIMMED_SYMBOL}\n"
            f"\t.type {TRIMMED_SYMBOL},@object\n"
            f"{TRIMMED_SYMBOL}:\n"
            f'\t.incbin "{data_path.resolve()}"\n'
            f"\t.size {TRIMMED_SYMBOL}, . - {TRIMMED_SYMBOL}\n"
            f'\t.section .note.GNU-stack,"",@progbits\n')
        run(str(options.tools / "clang"), "-c", str(assembly), "-o", str(object_path), capture=False)
        (options.output / "swift-build-flags").write_text(
            f"-Xlinker {object_path.resolve()} -Xlinker --defsym={symbol}={TRIMMED_SYMBOL}\n")

    print(f"{options.output}: {symbol} = {TRIMMED_SYMBOL}, {len(kept)} of {len(every)} items, {len(trimmed):,} of {size:,} bytes")


if __name__ == "__main__":
    main()
