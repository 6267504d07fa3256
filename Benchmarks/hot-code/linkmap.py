"""Reading lld's link map (`-Xlinker -Map=FILE`), for order.py and Benchmarks/binary-size/by-module.py.

The map's columns: VMA, LMA, Size, Align, then the name, indented to the header's Out (an output section), In (an
input section, `file:(section)`) or Symbol column.
"""
from collections.abc import Iterator


def entries(link_map: str) -> Iterator[tuple[str, int, str]]:
    """(kind, size in bytes, name) of every line of the map: kind is "output", "input" or "symbol"."""
    with open(link_map, encoding="utf-8", errors="replace") as lines:
        header = next(lines)
        input_column, symbol_column = header.index(" In ") + 1, header.index("Symbol")
        for line in lines:
            fields = line.split(None, 4)
            if len(fields) < 5:
                continue
            name = fields[4].rstrip("\n")
            column = len(line.rstrip("\n")) - len(name)  # the name is the rest of the line
            kind = "output" if column < input_column else "input" if column < symbol_column else "symbol"
            yield kind, int(fields[2], 16), name.strip()


def split_input(name: str) -> tuple[str, str]:
    """(file, section) of an input section's name, `file:(section)`."""
    path, _, section = name.rpartition(":(")
    return path, section.rstrip(")")
