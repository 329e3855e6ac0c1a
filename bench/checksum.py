#!/usr/bin/env python3
"""The Gold checksum every implementation must agree on.

For each Gold table: its row count and the exact sum of every decimal column (a string with the
column's full scale, e.g. "1234.50") and of every integer column. Printed as sorted JSON.

  checksum.py delta   <gold-dir> [out.json]   each <gold-dir>/<table> a Delta table
  checksum.py parquet <gold-dir> [out.json]   each <gold-dir>/<table> a folder of Parquet files
"""

import json
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc


def column_sum(column: pa.ChunkedArray) -> str | None:
    """The exact sum of a decimal or integer column as text, or None for other types."""
    kind = column.type
    if pa.types.is_decimal(kind):
        total = pc.sum(column.cast(pa.decimal128(38, kind.scale))).as_py() or Decimal(0)
        return str(total.quantize(Decimal(1).scaleb(-kind.scale)))
    if pa.types.is_integer(kind):
        return str(sum(pc.sum(chunk.cast(pa.int64())).as_py() or 0 for chunk in column.chunks))
    return None


def table_checksum(table: pa.Table) -> dict:
    sums = {}
    for name in table.column_names:
        value = column_sum(table.column(name))
        if value is not None:
            sums[name] = value
    return {"rows": table.num_rows, "sums": sums}


def read_gold(gold_dir: Path, fmt: str) -> dict[str, pa.Table]:
    tables = {}
    for path in sorted(p for p in gold_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))):
        if fmt == "delta":
            from deltalake import DeltaTable

            tables[path.name] = DeltaTable(str(path)).to_pyarrow_table()
        else:
            import pyarrow.parquet as pq

            tables[path.name] = pq.read_table(path)
    return tables


def checksum(gold_dir: Path, fmt: str) -> dict:
    return {name: table_checksum(table) for name, table in read_gold(gold_dir, fmt).items()}


def write(result: dict, out: Path | None) -> None:
    text = json.dumps(result, indent=2, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text)


def main() -> None:
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("delta", "parquet"):
        sys.exit(__doc__)
    out = Path(sys.argv[3]) if len(sys.argv) == 4 else None
    write(checksum(Path(sys.argv[2]), sys.argv[1]), out)


if __name__ == "__main__":
    main()
