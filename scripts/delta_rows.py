#!/usr/bin/env python3
"""Reads Delta tables with DuckDB's delta extension (delta-kernel-rs, an implementation
independent of delta-rs) and prints, per table, its row count and columns as JSON lines.

usage: delta_rows.py TABLE_PATH...
"""
import glob
import json
import os
import site
import sys

import duckdb


def extension_directory():
    for base in site.getsitepackages() + [site.getusersitepackages()]:
        for found in glob.glob(os.path.join(base, "duckdb_ext*", "extensions")):
            return found
    raise SystemExit("duckdb-ext-delta is not installed")


def main(paths):
    con = duckdb.connect()
    con.execute("SET autoinstall_known_extensions = false")
    con.execute(f"SET extension_directory = '{extension_directory()}'")
    con.execute("LOAD delta")
    for path in paths:
        scan = f"delta_scan('{path}')"
        rows = con.execute(f"SELECT COUNT(*) FROM {scan}").fetchone()[0]
        columns = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()]
        print(json.dumps({"path": path, "rows": rows, "columns": columns}))


if __name__ == "__main__":
    main(sys.argv[1:])
