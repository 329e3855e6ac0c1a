#!/usr/bin/env python3
"""Row counts for bench/run.sh, and its summary: the results JSON and the Markdown tables.

  report.py rows parquet <dir>              rows in the Parquet files under <dir>
  report.py rows delta <dir>                rows in the Delta tables <dir>/*
  report.py summary <work> <size> <out.json>
"""

import json
import operator
import os
import platform
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

MIB = 1024 * 1024
ROUNDS = ("initial", "incremental")
STAGES = [f"{stage}_{r}" for r in ROUNDS for stage in ("extract", "bronze", "silver", "gold")]
PIPELINE = [f"{stage}_{r}" for r in ROUNDS for stage in ("bronze", "silver", "gold")]
NAMES = {
    "lakehouse": "lakehouse (Rust)",
    "python_deltalake": "Python deltalake + polars",
    "pyspark_local": "PySpark local[2], Parquet",
    "arrow-rs-floor": "arrow-rs floor",
}
OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt}
# The targets of issue 8: (label, value key, comparison, bound).
TARGETS = [
    ("pipeline vs Python peer (× faster)", "pipeline_vs_python", ">=", 2),
    ("pipeline vs PySpark (× faster)", "pipeline_vs_pyspark", ">=", 10),
    ("incremental Silver MERGE vs Python peer (× faster)", "silver_incremental_vs_python", ">=", 3),
    ("Bronze vs arrow-rs floor (× its time)", "bronze_vs_floor", "<=", 1.5),
    ("peak RSS vs Python peer (× its peak)", "peak_rss_vs_python", "<=", 0.5),
    ("slowest cold start (ms)", "cold_start_ms_max", "<", 50),
    ("largest zip (MB)", "zip_mb_max", "<", 25),
]


def count_rows(kind: str, folder: Path) -> int:
    if kind == "parquet":
        import pyarrow.parquet as pq

        return sum(pq.read_metadata(f).num_rows for f in folder.rglob("*.parquet"))
    from deltalake import DeltaTable

    return sum(DeltaTable(str(t)).count() for t in sorted(folder.iterdir()) if t.is_dir())


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def collect(work: Path) -> dict:
    """Every implementation's stages as {stage: {wall_s, cpu_s, rows, peak_rss_mib}}, each the
    median of its runs (the peak, the largest), plus each run's pipeline total and their median."""
    rows = {p.name: int(p.read_text()) for p in (work / "rows").iterdir()}
    stage_rows = {f"gold_{r}": rows[f"silver_{r}"] for r in ROUNDS}
    for r in ROUNDS:
        stage_rows.update({f"{s}_{r}": rows[f"landing_{r}"] for s in ("extract", "bronze", "silver")})
    # {implementation: {repeat: {"stages": {...}, "process": record}}}; repeat 0 ran once (seeding, extraction).
    repeats: dict[str, dict[int, dict]] = {}
    for m in read_lines(work / "measurements.jsonl"):
        record = {
            "wall_s": m["wall_s"],
            "cpu_s": m.get("cpu_s"),
            "rows": stage_rows.get(m["stage"]),
            "peak_rss_mib": m["peak_rss_kib"] / 1024,
        }
        run = repeats.setdefault(m["implementation"], {}).setdefault(m.get("repeat", 1), {"stages": {}})
        if m["stage"] == "process":
            run["process"] = record
        else:
            run["stages"][m["stage"]] = record
    for peer, runs in repeats.items():
        # A peer times its own stages: one line per run, in the order of the runs.
        lines = read_lines(work / f"{peer}.json")
        for repeat, line in zip(sorted(runs), lines):
            runs[repeat].update(stages=line["stages"], notes=line.get("notes", []), versions=line.get("versions", {}))
    return {"rows": rows, "implementations": {name: combine(name, runs) for name, runs in repeats.items()}}


def pipeline_of(name: str, stages: dict) -> tuple[float, float | None]:
    """A run's pipeline wall time and the largest peak of the stages it counts."""
    counted = list(stages) if name == "arrow-rs-floor" else [s for s in stages if s in PIPELINE or s in ("import", "startup")]
    return sum(stages[s]["wall_s"] for s in counted), max((stages[s]["peak_rss_mib"] for s in counted), default=None)


def median_record(records: list[dict]) -> dict:
    """The median wall and CPU time of a stage's runs, and the largest peak of any of them."""
    cpu = [r["cpu_s"] for r in records if r.get("cpu_s") is not None]
    return {
        **records[0],
        "wall_s": statistics.median(r["wall_s"] for r in records),
        "cpu_s": statistics.median(cpu) if cpu else None,
        "peak_rss_mib": max(r["peak_rss_mib"] for r in records),
        "runs": len(records),
    }


def combine(name: str, runs: dict[int, dict]) -> dict:
    """One implementation's runs as one: median stages, each run's pipeline total and its median."""
    once = runs.get(0, {"stages": {}})
    timed = [runs[r] for r in sorted(runs) if r > 0]
    stage_names = {s for run in timed for s in run["stages"]}
    combined = {
        "stages": {
            **once["stages"],
            **{s: median_record([run["stages"][s] for run in timed if s in run["stages"]]) for s in stage_names},
        },
        "runs": len(timed),
        "pipeline_runs_s": [],
        "peak_rss_mib": None,
    }
    peaks = []
    for run in timed:
        total, peak = pipeline_of(name, run["stages"])
        combined["pipeline_runs_s"].append(round(total, 3))
        peaks += [p for p in (peak, run.get("process", {}).get("peak_rss_mib")) if p is not None]
    combined["pipeline_wall_s"] = statistics.median(combined["pipeline_runs_s"]) if timed else 0.0
    combined["peak_rss_mib"] = max(peaks, default=None)
    processes = [run["process"] for run in timed if "process" in run]
    if processes:
        combined["process"] = median_record(processes)
    if timed and "notes" in timed[0]:
        combined.update(notes=timed[0]["notes"], versions=timed[0]["versions"])
    return combined


def ratios(runs: dict, cold: list[dict], zips: list[dict]) -> dict:
    def wall(name, stages=None):
        run = runs.get(name)
        if run is None:
            return None
        if stages is None:
            return run["pipeline_wall_s"]
        found = [run["stages"][s]["wall_s"] for s in stages if s in run["stages"]]
        return sum(found) if len(found) == len(stages) else None

    def ratio(a, b):
        return round(a / b, 2) if a is not None and b else None

    ours = wall("lakehouse")
    bronze = [f"bronze_{r}" for r in ROUNDS]
    python_peak = runs.get("python_deltalake", {}).get("peak_rss_mib")
    return {
        "pipeline_vs_python": ratio(wall("python_deltalake"), ours),
        # Run by run (the runs alternate: ours, then the peer's), to show the spread of the median.
        "pipeline_vs_python_runs": [
            ratio(theirs, mine)
            for theirs, mine in zip(
                runs.get("python_deltalake", {}).get("pipeline_runs_s", []), runs["lakehouse"]["pipeline_runs_s"]
            )
        ],
        "pipeline_vs_pyspark": ratio(wall("pyspark_local"), ours),
        "silver_incremental_vs_python": ratio(
            wall("python_deltalake", ["silver_incremental"]), wall("lakehouse", ["silver_incremental"])
        ),
        "bronze_vs_floor": ratio(wall("lakehouse", bronze), wall("arrow-rs-floor", bronze)),
        "peak_rss_vs_python": ratio(runs["lakehouse"]["peak_rss_mib"], python_peak),
        "cold_start_ms_max": max((c["first_event_ms"] for c in cold.values()), default=None),
        "zip_mb_max": round(max(z["bytes"] for z in zips) / 1e6, 2) if zips else None,
    }


# AWS Lambda on arm64, us-east-1 list prices, and the memory size that comes with one full vCPU.
PRICE_PER_GB_SECOND = 0.0000133334
PRICE_PER_REQUEST = 0.20 / 1e6
ONE_VCPU_MIB = 1769


def lambda_cost(records: list[dict]) -> float:
    """What running `records` (each a process: one invocation) as Lambda invocations costs: each
    billed for max(wall, CPU) seconds, the time it would take on one vCPU, at 1,769 MB or at
    its peak RSS plus 10 % if that is more."""
    dollars = 0.0
    for r in records:
        seconds = max(r["wall_s"], r.get("cpu_s") or 0.0)
        gib = max(ONE_VCPU_MIB, r["peak_rss_mib"] * 1.1) / 1024
        dollars += seconds * gib * PRICE_PER_GB_SECOND + PRICE_PER_REQUEST
    return dollars


def costs(runs: dict, rows: dict) -> dict:
    """Lambda dollars per million source (landing) rows, for ours and for the Python peer."""
    millions = sum(rows[f"landing_{r}"] for r in ROUNDS) / 1e6
    out = {}
    ours = runs.get("lakehouse", {}).get("stages", {})
    if all(s in ours for s in PIPELINE):
        out["lakehouse_pipeline"] = lambda_cost([ours[s] for s in PIPELINE]) / millions
        every = [s for s in STAGES if s in ours]
        out["lakehouse_with_extraction"] = lambda_cost([ours[s] for s in every]) / millions
    python = runs.get("python_deltalake", {}).get("process")
    if python and python.get("cpu_s") is not None:
        out["python_deltalake"] = lambda_cost([python]) / millions
    return {k: round(v, 8) for k, v in out.items()}


def cold_starts(runs: list[dict]) -> dict[str, dict]:
    """Per function, the median of its runs (lakehouse-bench cold-start lines)."""
    by_function: dict[str, list[dict]] = {}
    for run in runs:
        by_function.setdefault(run["function"], []).append(run)
    return {
        name: {
            "runs": len(found),
            "init_ms": round(statistics.median(r["init_ms"] for r in found), 1),
            "first_event_ms": round(statistics.median(r["first_event_ms"] for r in found), 1),
            "outcomes": sorted({r["outcome"] for r in found}),
        }
        for name, found in sorted(by_function.items())
    }


def cell(record: dict | None) -> str:
    if record is None:
        return "–"
    rate = ""
    if record.get("rows"):
        thousands = record["rows"] / record["wall_s"] / 1000
        rate = f" · {thousands:,.{0 if thousands >= 10 else 1}f}k rows/s"
    return f"{record['wall_s']:.2f} s{rate} · {record['peak_rss_mib']:,.0f} MiB"


def markdown(summary: dict) -> str:
    runs = summary["implementations"]
    order = [n for n in NAMES if n in runs]
    lines = [
        f"Size **{summary['size']}** ({summary['orders']:,} orders; landing rows: "
        f"{summary['rows']['landing_initial']:,} initial, {summary['rows']['landing_incremental']:,} incremental), "
        f"{summary['date']}, commit {summary['commit']}, "
        f"{summary['machine']['cpus']} cores. Times are medians of {runs['lakehouse']['runs']} "
        "alternated runs (PySpark: one run); peaks are the largest of any run.",
        "",
        "| stage | " + " | ".join(NAMES[n] for n in order) + " |",
        "|---|" + "---|" * len(order),
    ]
    setup = ("seed", "activity")  # seeding the source: not part of any pipeline
    extra = sorted({s for n in order for s in runs[n]["stages"] if s not in STAGES and s not in setup})
    for stage in extra + STAGES:
        if any(stage in runs[n]["stages"] for n in order):
            lines.append(f"| {stage} | " + " | ".join(cell(runs[n]["stages"].get(stage)) for n in order) + " |")
    lines.append(
        "| **pipeline** (Bronze+Silver+Gold, both rounds, with the peers' import/startup) | "
        + " | ".join(
            "–"
            if n == "arrow-rs-floor"
            else f"**{runs[n]['pipeline_wall_s']:.2f} s · {runs[n]['peak_rss_mib']:,.0f} MiB**"
            for n in order
        )
        + " |"
    )
    each = "; ".join(
        f"{NAMES[n]} " + ", ".join(f"{t:.2f}" for t in runs[n]["pipeline_runs_s"])
        for n in order
        if n != "arrow-rs-floor" and len(runs[n]["pipeline_runs_s"]) > 1
    )
    by_run = ", ".join(f"{r}×" for r in summary["ratios"]["pipeline_vs_python_runs"] if r)
    if each:
        lines += ["", f"Pipeline of each run (s): {each}" + (f"; ours against the Python peer, run by run: {by_run}" if by_run else "") + "."]
    lines += ["", "| target | measured | bound | met |", "|---|---|---|---|"]
    for label, key, op, bound in TARGETS:
        value = summary["ratios"][key]
        met = "–" if value is None else "yes" if OPS[op](value, bound) else "**no**"
        lines.append(f"| {label} | {'not measured' if value is None else value} | {op} {bound} | {met} |")
    if summary["cold_start"] or summary["zips"]:
        cold, zips = summary["cold_start"], {z["function"]: z["bytes"] for z in summary["zips"]}
        lines += [
            "",
            "| function | init (ms) | cold start: first event handled (ms) | answer | zip (MB) |",
            "|---|---|---|---|---|",
        ]
        for fn in sorted(set(cold) | set(zips)):
            c = cold.get(fn, {})
            size = f"{zips[fn] / 1e6:.2f}" if fn in zips else "–"
            answer = ", ".join(c.get("outcomes", ["–"]))
            lines.append(f"| {fn} | {c.get('init_ms', '–')} | {c.get('first_event_ms', '–')} | {answer} | {size} |")
    if summary.get("costs"):
        labels = {
            "lakehouse_pipeline": "lakehouse, Bronze + Silver + Gold (a process per stage and round)",
            "lakehouse_with_extraction": "lakehouse, with extraction from MariaDB",
            "python_deltalake": "Python deltalake + polars (one process)",
        }
        lines += ["", "| Lambda cost per million source rows (arm64) | $ |", "|---|---|"]
        for key, dollars in summary["costs"].items():
            lines.append(f"| {labels[key]} | {dollars:.6f} |")
    for name in order:
        for note in runs[name].get("notes", []):
            lines.append(f"\n{NAMES[name]}: {note}.")
    return "\n".join(lines) + "\n"


def summary(work: Path, size: str, out: Path) -> None:
    collected = collect(work)
    cold, zips = cold_starts(read_lines(work / "cold_start.jsonl")), read_lines(work / "zips.jsonl")
    result = {
        "size": size,
        "orders": {"small": 10_000, "medium": 100_000, "large": 1_000_000}[size],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": (work / "commit").read_text().strip(),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1),
            "system": platform.platform(),
        },
        **collected,
        "ratios": ratios(collected["implementations"], cold, zips),
        "costs": costs(collected["implementations"], collected["rows"]),
        "cold_start": cold,
        "zips": zips,
        "checksums": {p.stem: json.loads(p.read_text()) for p in sorted((work / "checksums").glob("*.json"))},
    }
    result["markdown"] = markdown(result)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(result["markdown"])
    print(f"results: {out}", file=sys.stderr)


def main() -> None:
    args = sys.argv[1:]
    if len(args) == 3 and args[0] == "rows" and args[1] in ("parquet", "delta"):
        print(count_rows(args[1], Path(args[2])))
    elif len(args) == 4 and args[0] == "summary":
        summary(Path(args[1]), args[2], Path(args[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
