#!/usr/bin/env python3
"""Compares Gold checksums (from checksum.py) and fails naming every table and column that differs.

  compare_checksums.py NAME=checksum.json NAME=checksum.json...

The first one is the reference. Exits 0 when all agree, 1 when any differ, 2 on bad usage.
"""

import json
import sys
from pathlib import Path


def differences(reference: dict, other: dict, ref_name: str, name: str) -> list[str]:
    found = []
    for table in sorted(set(reference) | set(other)):
        ref, got = reference.get(table), other.get(table)
        if ref is None or got is None:
            found.append(f"{table}: missing in {ref_name if ref is None else name}")
            continue
        if ref["rows"] != got["rows"]:
            found.append(f"{table}: rows {ref_name}={ref['rows']} {name}={got['rows']}")
        for column in sorted(set(ref["sums"]) | set(got["sums"])):
            a, b = ref["sums"].get(column, "(none)"), got["sums"].get(column, "(none)")
            if a != b:
                found.append(f"{table}.{column}: sum {ref_name}={a} {name}={b}")
    return found


def main() -> int:
    pairs = [arg.split("=", 1) for arg in sys.argv[1:]]
    if len(pairs) < 2 or any(len(p) != 2 for p in pairs):
        print(__doc__, file=sys.stderr)
        return 2
    loaded = [(name, json.loads(Path(path).read_text())) for name, path in pairs]
    ref_name, reference = loaded[0]
    problems = [d for name, data in loaded[1:] for d in differences(reference, data, ref_name, name)]
    for problem in problems:
        print(f"checksum mismatch: {problem}", file=sys.stderr)
    names = ", ".join(name for name, _ in loaded)
    print(f"checksums {'DISAGREE' if problems else 'agree'}: {names}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
