"""The functions of a binary that have cost in callgrind profiles, costliest first, as a linker's symbol order.

Usage: order.py BINARY LINK_MAP CALLGRIND_OUT... (profiles written with --compress-strings=no --demangle=no; the map is
lld's -Map of the same link). Names callgrind gives a recursion depth (name'2) count as the function. Left out: names
defined more than once in the binary, and names whose code the map places in an object's whole `.text` of more than
16 KB (code compiled without function sections, such as the static Swift runtime's): the linker moves a section
whole, so one such name would bring kilobytes of code that does not run into the hot region.
"""
import collections
import re
import subprocess
import sys

import linkmap


def main() -> None:
    binary, link_map, profiles = sys.argv[1], sys.argv[2], sys.argv[3:]
    cost: collections.Counter[str] = collections.Counter()
    for path in profiles:
        in_binary, function = False, None
        with open(path) as profile:
            for line in profile:
                if line.startswith("ob="):
                    in_binary = line[3:].strip() == binary
                elif line.startswith("fn="):
                    function = re.sub(r"'\d+$", "", line[3:].strip()) if in_binary else None
                    if function:
                        cost[function] += 0
                elif line.startswith(("cfn=", "cob=", "cfi=", "cfl=", "fl=", "fi=", "fe=")):
                    continue
                elif line.startswith("calls="):
                    # The next cost line is a call's inclusive cost, not the function's own.
                    next(profile, None)
                elif function and line[:1].isdigit():
                    fields = line.split()
                    if len(fields) >= 2:
                        cost[function] += int(fields[1])
    symbols = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    definitions = collections.Counter(
        fields[2] for fields in map(str.split, symbols.splitlines()) if len(fields) == 3 and fields[1] in "tTwW"
    )
    # A name defined more than once is a local symbol of several objects (value witnesses, merged thunks): the linker
    # would move every one of them, and with each the whole section around it.
    whole = whole_text_symbols(link_map, limit=16 * 1024)
    known = sorted(
        (name for name in cost if definitions[name] == 1 and name not in whole), key=lambda name: (-cost[name], name)
    )
    print(f"{len(cost)} functions ran, {len(known)} of them defined once in the binary", file=sys.stderr)
    sys.stdout.write("".join(name + "\n" for name in known))


def whole_text_symbols(link_map: str, limit: int) -> set[str]:
    """The symbols lld's map places in an input section named just `.text` larger than `limit` bytes."""
    symbols: set[str] = set()
    in_text, large = False, False
    for kind, size, name in linkmap.entries(link_map):
        if kind == "output":
            in_text = name == ".text"
        elif kind == "input":
            large = in_text and name.endswith(":(.text)") and size > limit
        elif large:
            symbols.add(name)
    return symbols


if __name__ == "__main__":
    main()
