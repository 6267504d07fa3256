#!/usr/bin/env python3
"""What each module and library adds to the release binary, from lld's link map (`-Xlinker -Map=FILE`).

Usage: by-module.py MAP [--top N]
Sums the input sections the link kept by where they came from: a SwiftPM target's objects (`Name.build/`), a
toolchain archive (`libFoundation.a`), a system library; and by kind: code (.text), read-only data (.rodata and the
Swift metadata sections), relocated data (.data.rel.ro, .data), unwind tables (.eh_frame, .gcc_except_table).
`.bss` takes no room in the file and is left out; so are the linker's own sections (.rela.dyn, .dynsym, ...).
"""

import argparse
import collections
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "hot-code"))
import linkmap  # noqa: E402 (lld's map, read as order.py reads it)

KINDS = [
    ("code", re.compile(r"^\.text")),
    ("unwind", re.compile(r"^\.(eh_frame|gcc_except_table)")),
    ("relocated data", re.compile(r"^\.(data\.rel\.ro|data|init_array|fini_array)")),
    ("read-only data", re.compile(r"^(\.rodata|swift5_|\.lrodata)")),
]


def origin(path: str) -> str:
    archive = re.match(r".*/(lib[^/]+\.a)\(", path)
    if archive:
        return archive.group(1)
    target = re.search(r"/([^/]+)\.build/", path)
    if target:
        return target.group(1)
    return path.rsplit("/", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("map")
    parser.add_argument("--top", type=int, default=30)
    options = parser.parse_args()
    sizes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for kind_of_line, size, name in linkmap.entries(options.map):
        if kind_of_line != "input" or not size:
            continue
        path, section = linkmap.split_input(name)
        kind = next((label for label, pattern in KINDS if pattern.match(section)), None)
        if kind:
            sizes[origin(path)][kind] += size
    kinds = [name for name, _ in KINDS]
    rows = sorted(sizes.items(), key=lambda item: -sum(item[1].values()))
    total = collections.Counter()
    for _, counter in rows:
        total.update(counter)
    print(f"| module or library | total MB | {' | '.join(kinds)} |")
    print("|---|---|" + "---|" * len(kinds))
    for name, counter in rows[:options.top]:
        print(f"| {name} | {sum(counter.values()) / 1e6:.2f} | " + " | ".join(f"{counter[k] / 1e6:.2f}" for k in kinds) + " |")
    rest = collections.Counter()
    for _, counter in rows[options.top:]:
        rest.update(counter)
    print(f"| {len(rows) - options.top} more | {sum(rest.values()) / 1e6:.2f} | " + " | ".join(f"{rest[k] / 1e6:.2f}" for k in kinds) + " |")
    print(f"| **all** | {sum(total.values()) / 1e6:.2f} | " + " | ".join(f"{total[k] / 1e6:.2f}" for k in kinds) + " |")


if __name__ == "__main__":
    main()
