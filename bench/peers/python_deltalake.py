#!/usr/bin/env python3
"""The shop pipeline as a team would write it for a Python Lambda: deltalake (delta-rs) + polars.

  python_deltalake.py --pipeline pipelines/shop --lake DIR --checksum OUT.json ROUND...

Each ROUND is a landing root (<table>/**/*.parquet, as our extractor writes it), processed in
order, each through three stages:
  bronze  every landing file appended to bronze/<table> on its own, with ingestion metadata;
  silver  the round's Bronze rows reduced to the newest version per key (updated_at, then
          extraction time, then landing file), judged by the quality rules, and MERGEd into
          silver/<table> (valid rows) and quarantine/<table> (failing rows); soft-deleted keys
          leave both;
  gold    the three aggregates of pipelines/shop/gold/*.sql as polars expressions, overwritten.
Prints one JSON line: each stage's wall time, rows and peak RSS, the total and the peak.
"""

from common import BENCH_DIR, METADATA, QUARANTINE_EXTRA, Meter, as_datetime, check_rules, extracted_at
from common import landing_files, load_pipeline, now_micros, parse_args

meter = Meter("python-deltalake")
with meter.stage("import"):
    import sys
    import uuid

    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq
    import deltalake
    from deltalake import DeltaTable, write_deltalake

sys.path.insert(0, str(BENCH_DIR))
import checksum  # noqa: E402

TIMESTAMP = pa.timestamp("us", tz="UTC")

# The rules of pipeline.toml, as polars expressions. A row passes a rule when it is TRUE.
RULES = {
    "customers": {
        "email_format": pl.col("email").str.contains(r"(?s).@."),  # LIKE '%_@_%'
        "country_iso2": pl.col("country").str.contains(r"^[A-Z]{2}$"),
    },
    "products": {
        "price_not_negative": pl.col("unit_price") >= 0,
        "category_present": pl.col("category").str.strip_chars(" ") != "",  # btrim trims spaces
    },
    "orders": {
        "status_known": pl.col("status").is_in(["placed", "paid", "shipped", "delivered", "cancelled"]),
    },
    "order_items": {
        "quantity_positive": pl.col("quantity") > 0,
        "price_not_negative": pl.col("unit_price") >= 0,
    },
}


def bronze(lake, root, pipeline) -> tuple[int, int]:
    """Appends each landing file to its Bronze table; returns (rows, when the round began)."""
    ingested_at, rows = now_micros(), 0
    for table in pipeline["table"]:
        for relative, path in landing_files(root, table["name"]):
            data = pq.read_table(path)
            n = data.num_rows
            metadata = {
                "_source_file": pa.array([relative] * n, pa.string()),
                "_extracted_at": pa.array([extracted_at(path, data.schema.metadata)] * n, TIMESTAMP),
                "_ingested_at": pa.array([ingested_at] * n, TIMESTAMP),
                "_batch_id": pa.array([str(uuid.uuid4())] * n, pa.string()),
            }
            for name, column in metadata.items():
                data = data.append_column(name, column)
            write_deltalake(
                str(lake / "bronze" / table["name"]),
                data.replace_schema_metadata(None),
                mode="append",
                schema_mode="merge",
            )
            rows += n
    return rows, ingested_at


def verdicts(changes: pl.DataFrame, table: dict) -> pl.DataFrame:
    """The newest version of each key with _deleted, _failed_rule and _failed_check."""
    key, cursor, soft_delete = table["key"], table["cursor"], table["soft_delete"]
    latest = changes.sort([key, cursor, "_extracted_at", "_source_file"]).unique(subset=[key], keep="last")
    deleted = pl.col(soft_delete).is_not_null() if soft_delete in changes.columns else pl.lit(False)
    rule, check = pl.when(deleted).then(None), pl.when(deleted).then(None)
    for spec in table["rules"]:
        fails = ~RULES[table["name"]][spec["name"]].fill_null(False)
        rule, check = rule.when(fails).then(pl.lit(spec["name"])), check.when(fails).then(pl.lit(spec["check"]))
    return latest.with_columns(
        deleted.alias("_deleted"),
        rule.otherwise(None).cast(pl.String).alias("_failed_rule"),
        check.otherwise(None).cast(pl.String).alias("_failed_check"),
    )


def merge_latest(uri: str, latest: pl.DataFrame, keep: list[str], belongs: pl.Expr, table: dict) -> None:
    """MERGEs the newest versions into `uri`, which holds the keys whose newest version `belongs`:
    such a version is inserted or replaces the stored one, any other removes the key; an older
    version never touches a newer one."""
    source = latest.select(*keep, belongs.alias("_belongs")).to_arrow(compat_level=pl.CompatLevel.oldest())
    if not DeltaTable.is_deltatable(uri):
        write_deltalake(uri, source.filter(source["_belongs"]).drop_columns(["_belongs"]))
        return
    key, cursor = table["key"], table["cursor"]
    not_older = f"source.{cursor} >= target.{cursor}"
    columns = {c: f"source.{c}" for c in keep}
    (
        DeltaTable(uri)
        .merge(source, f"target.{key} = source.{key}", source_alias="source", target_alias="target")
        .when_matched_delete(predicate=f"NOT source._belongs AND {not_older}")
        .when_matched_update(columns, predicate=f"source._belongs AND {not_older}")
        .when_not_matched_insert(columns, predicate="source._belongs")
        .execute()
    )


def silver(lake, pipeline, since: int) -> None:
    """Refines the Bronze rows ingested since `since` (µs) into Silver and quarantine."""
    for table in pipeline["table"]:
        name = table["name"]
        changes = (
            pl.scan_delta(str(lake / "bronze" / name))
            .filter(pl.col("_ingested_at") >= as_datetime(since))
            .drop("_ingested_at", "_batch_id")
            .collect()
        )
        data = [c for c in changes.columns if c not in METADATA]
        latest = verdicts(changes, table)
        silver_columns = [c for c in data if c != table["soft_delete"]] + ["_source_file", "_extracted_at"]
        valid = ~pl.col("_deleted") & pl.col("_failed_rule").is_null()
        merge_latest(str(lake / "silver" / name), latest, silver_columns, valid, table)
        failing = ~pl.col("_deleted") & pl.col("_failed_rule").is_not_null()
        now = pl.lit(as_datetime(now_micros())).dt.cast_time_unit("us")
        latest = latest.with_columns(now.alias("_quarantined_at"))
        merge_latest(str(lake / "quarantine" / name), latest, data + QUARANTINE_EXTRA, failing, table)


def money(expr: pl.Expr) -> pl.Expr:
    """CAST(COALESCE(SUM(expr), 0) AS DECIMAL(18, 2))."""
    return expr.sum().fill_null(0).cast(pl.Decimal(18, 2))


def distinct(column: str) -> pl.Expr:
    """COUNT(DISTINCT column): NULL is not a value."""
    return pl.col(column).drop_nulls().n_unique().cast(pl.Int64)


def gold_tables(silver: dict[str, pl.LazyFrame]) -> dict[str, pl.LazyFrame]:
    """pipelines/shop/gold/*.sql in polars."""
    orders = silver["orders"].filter(pl.col("status") != "cancelled")
    items = silver["order_items"]
    line_value = pl.col("quantity") * pl.col("unit_price")
    ordered = orders.select(pl.col("id").alias("order_id"), "customer_id", "ordered_at").join(
        items.select("order_id", "product_id", "quantity", "unit_price"), on="order_id", how="left"
    )
    daily_sales = (
        ordered.group_by(pl.col("ordered_at").dt.date().alias("order_date"))
        .agg(
            distinct("order_id").alias("orders"),
            pl.col("quantity").sum().fill_null(0).cast(pl.Int64).alias("items"),
            money(line_value).alias("revenue"),
            distinct("customer_id").alias("customers"),
        )
    )
    customer_ltv = (
        silver["customers"]
        .select(pl.col("id").alias("customer_id"), "country")
        .join(ordered.drop("product_id"), on="customer_id", how="left")
        .group_by("customer_id", "country")
        .agg(
            distinct("order_id").alias("orders"),
            money(line_value).alias("lifetime_value"),
            pl.col("ordered_at").min().alias("first_order_at"),
            pl.col("ordered_at").max().alias("last_order_at"),
        )
    )
    sold = items.select("product_id", "order_id", "quantity", "unit_price").join(
        orders.select(pl.col("id").alias("order_id")), on="order_id", how="inner"
    )
    product_sales = (
        silver["products"]
        .select(pl.col("id").alias("product_id"), "category")
        .join(sold, on="product_id", how="left")
        .group_by("product_id", "category")
        .agg(
            pl.col("quantity").sum().fill_null(0).cast(pl.Int64).alias("units"),
            money(line_value).alias("revenue"),
            distinct("order_id").alias("orders"),
        )
    )
    return {"daily_sales": daily_sales, "customer_ltv": customer_ltv, "product_sales": product_sales}


def gold(lake, pipeline) -> None:
    """Rebuilds every Gold table from Silver."""
    silver = {t["name"]: pl.scan_delta(str(lake / "silver" / t["name"])) for t in pipeline["table"]}
    queries = gold_tables(silver)
    wanted = [g["name"] for g in pipeline["gold"]]
    if sorted(wanted) != sorted(queries):
        sys.exit(f"pipeline.toml has Gold tables {wanted}, this peer implements {sorted(queries)}")
    for name, frame in zip(queries, pl.collect_all(list(queries.values()))):
        write_deltalake(
            str(lake / "gold" / name),
            frame.to_arrow(compat_level=pl.CompatLevel.oldest()),
            mode="overwrite",
            schema_mode="overwrite",
        )


def silver_rows(lake, pipeline) -> int:
    return sum(DeltaTable(str(lake / "silver" / t["name"])).count() for t in pipeline["table"])


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    pipeline = load_pipeline(args.pipeline)
    for table in pipeline["table"]:
        check_rules(table, RULES[table["name"]])
    meter.extra["versions"] = {"deltalake": deltalake.__version__, "polars": pl.__version__, "pyarrow": pa.__version__}
    for number, root in enumerate(args.rounds):
        round_name = "initial" if number == 0 else "incremental" if number == 1 else f"round{number + 1}"
        with meter.stage(f"bronze_{round_name}") as stage:
            stage["rows"], since = bronze(args.lake, root, pipeline)
        with meter.stage(f"silver_{round_name}", rows=stage["rows"]):
            silver(args.lake, pipeline, since)
        with meter.stage(f"gold_{round_name}", rows=silver_rows(args.lake, pipeline)):
            gold(args.lake, pipeline)
    checksum.write(checksum.checksum(args.lake / "gold", "delta"), args.checksum)
    meter.report()


if __name__ == "__main__":
    main()
