"""What both peers share: the command line, the pipeline definition, landing files, and a meter
that times each stage and samples the peak RSS of the whole process tree (PySpark's JVM included).

Imports only the standard library and psutil, so that a peer can time its own heavy imports.
"""

import argparse
import json
import sys
import threading
import time
import tomllib
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent.parent
METADATA = ["_source_file", "_extracted_at", "_ingested_at", "_batch_id"]
# What quarantine keeps beside the data columns.
QUARANTINE_EXTRA = ["_source_file", "_extracted_at", "_failed_rule", "_failed_check", "_quarantined_at"]
EXTRACTED_AT_KEY = b"lakehouse.extracted_at"
MIB = 1024 * 1024


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pipeline", type=Path, required=True, help="the pipeline folder (pipeline.toml, gold/)")
    parser.add_argument("--lake", type=Path, required=True, help="this peer's own lake (created)")
    parser.add_argument("--checksum", type=Path, required=True, help="where to write the Gold checksum")
    parser.add_argument(
        "rounds", nargs="+", type=Path, help="landing roots (<table>/**/*.parquet), processed in order"
    )
    return parser.parse_args()


def load_pipeline(folder: Path) -> dict:
    """pipeline.toml with each table's defaults filled in and each Gold query's SQL read."""
    spec = tomllib.loads((folder / "pipeline.toml").read_text())
    defaults = spec.get("defaults", {})
    for table in spec["table"]:
        for field in ("key", "cursor", "soft_delete"):
            table.setdefault(field, defaults.get(field))
        table.setdefault("rules", [])
    for gold in spec["gold"]:
        gold["sql_text"] = (folder / gold["sql"]).read_text()
    return spec


def check_rules(table: dict, implemented: dict) -> None:
    """Fails when the peer's hand-written rules drift from pipeline.toml's."""
    wanted = [rule["name"] for rule in table["rules"]]
    if wanted != list(implemented):
        sys.exit(f"{table['name']}: pipeline.toml has rules {wanted}, this peer implements {list(implemented)}")


def landing_files(root: Path, table: str) -> list[tuple[str, Path]]:
    """A table's landing files as (path relative to the landing root, absolute path), in order."""
    return [(p.relative_to(root).as_posix(), p) for p in sorted((root / table).rglob("*.parquet"))]


def extracted_at(path: Path, key_value: dict | None) -> int:
    """When the file's rows were extracted (µs UTC): our extractor's footer key, else mtime."""
    value = (key_value or {}).get(EXTRACTED_AT_KEY)
    return int(value) if value else int(path.stat().st_mtime * 1_000_000)


def now_micros() -> int:
    return time.time_ns() // 1000


def as_datetime(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=timezone.utc)


class Meter:
    """Times named stages and samples the process tree's RSS every 10 ms."""

    def __init__(self, implementation: str):
        self.implementation = implementation
        self.started = time.perf_counter()
        self.stages: dict[str, dict] = {}
        self.notes: list[str] = []
        self.extra: dict = {}
        self._process = psutil.Process()
        self._peak = self._stage_peak = self._rss()
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    def _rss(self) -> int:
        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            try:
                total += process.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self._observe()

    def _observe(self) -> None:
        rss = self._rss()
        self._peak = max(self._peak, rss)
        self._stage_peak = max(self._stage_peak, rss)

    @contextmanager
    def stage(self, name: str, rows: int | None = None):
        """Times the block; the block may set the stage's row count with `record['rows'] = n`."""
        self._stage_peak = self._rss()
        record = {"rows": rows}
        begun = time.perf_counter()
        yield record
        wall = time.perf_counter() - begun
        self._observe()
        self.stages[name] = {
            "wall_s": round(wall, 4),
            "rows": record["rows"],
            "peak_rss_mib": round(self._stage_peak / MIB, 1),
        }
        print(f"{self.implementation}: {name} {wall:.3f} s", file=sys.stderr)

    def report(self) -> None:
        """Prints the one JSON line the harness reads."""
        self._stop.set()
        self._observe()
        print(
            json.dumps(
                {
                    "implementation": self.implementation,
                    "stages": self.stages,
                    "wall_s": round(time.perf_counter() - self.started, 4),
                    "peak_rss_mib": round(self._peak / MIB, 1),
                    "notes": self.notes,
                    **self.extra,
                }
            ),
            flush=True,
        )
