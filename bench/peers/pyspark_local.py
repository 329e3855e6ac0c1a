#!/usr/bin/env python3
"""The shop pipeline in PySpark local mode (local[2]), the engine of the original design.

  pyspark_local.py --pipeline pipelines/shop --lake DIR --checksum OUT.json ROUND...

The same stages as python_deltalake.py, on the same landing files, but every table is plain
Parquet: Delta Lake's Spark jars (delta-spark) cannot be downloaded on this machine. So Bronze is
an append of Parquet files, and the Silver "MERGE" rewrites the table: the stored rows whose key
did not get a newer version, plus the newer valid versions, written to a new folder that then
replaces the old one. Gold runs the very SQL of pipelines/shop/gold/*.sql through Spark SQL.
"""

from common import BENCH_DIR, QUARANTINE_EXTRA, Meter, as_datetime, check_rules, extracted_at, landing_files
from common import load_pipeline, now_micros, parse_args

meter = Meter("pyspark-local")
with meter.stage("import"):
    import os
    import shutil
    import sys
    import uuid

    import pyarrow.parquet as pq
    import pyspark
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F

sys.path.insert(0, str(BENCH_DIR))
import checksum  # noqa: E402

PLAIN_PARQUET = "writes plain Parquet, not Delta: Delta Lake's Spark jars cannot be downloaded on this machine"

# The rules of pipeline.toml, as Spark column expressions. A row passes a rule when it is TRUE.
RULES = {
    "customers": {
        "email_format": lambda: F.col("email").like("%_@_%"),
        "country_iso2": lambda: F.col("country").rlike("^[A-Z]{2}$"),
    },
    "products": {
        "price_not_negative": lambda: F.col("unit_price") >= 0,
        "category_present": lambda: F.trim(F.col("category")) != "",  # Spark's trim: spaces only
    },
    "orders": {
        "status_known": lambda: F.col("status").isin("placed", "paid", "shipped", "delivered", "cancelled"),
    },
    "order_items": {
        "quantity_positive": lambda: F.col("quantity") > 0,
        "price_not_negative": lambda: F.col("unit_price") >= 0,
    },
}


def start_spark(lake) -> "SparkSession":
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    spark = (
        SparkSession.builder.master("local[2]")
        .appName("lakehouse-bench")
        .config("spark.driver.memory", os.environ.get("BENCH_SPARK_MEMORY", "2g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.warehouse.dir", str(lake / "_warehouse"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    spark.sql("CREATE DATABASE IF NOT EXISTS silver")
    return spark


def bronze(spark, lake, root, pipeline) -> tuple[int, int]:
    """Appends each landing file to its Bronze folder; returns (rows, when the round began)."""
    ingested_at, rows = now_micros(), 0
    for table in pipeline["table"]:
        for relative, path in landing_files(root, table["name"]):
            footer = pq.read_metadata(path)
            data = spark.read.parquet(str(path)).withColumns(
                {
                    "_source_file": F.lit(relative),
                    "_extracted_at": F.lit(as_datetime(extracted_at(path, footer.metadata))),
                    "_ingested_at": F.lit(as_datetime(ingested_at)),
                    "_batch_id": F.lit(str(uuid.uuid4())),
                }
            )
            data.write.mode("append").parquet(str(lake / "bronze" / table["name"]))
            rows += footer.num_rows
    return rows, ingested_at


def verdicts(changes, table):
    """The newest version of each key with _deleted, _failed_rule and _failed_check."""
    key, cursor, soft_delete = table["key"], table["cursor"], table["soft_delete"]
    newest = Window.partitionBy(key).orderBy(
        F.col(cursor).desc(), F.col("_extracted_at").desc(), F.col("_source_file").desc()
    )
    latest = changes.withColumn("_rank", F.row_number().over(newest)).filter("_rank = 1").drop("_rank")
    deleted = F.col(soft_delete).isNotNull() if soft_delete in changes.columns else F.lit(False)
    rule, check = F.when(deleted, F.lit(None)), F.when(deleted, F.lit(None))
    for spec in table["rules"]:
        fails = ~F.coalesce(RULES[table["name"]][spec["name"]](), F.lit(False))
        rule, check = rule.when(fails, F.lit(spec["name"])), check.when(fails, F.lit(spec["check"]))
    return latest.withColumns(
        {"_deleted": deleted, "_failed_rule": rule.cast("string"), "_failed_check": check.cast("string")}
    )


def merge_latest(spark, path, latest, keep: list[str], belongs, table) -> None:
    """The MERGE of python_deltalake.py, as a rewrite of a Parquet folder."""
    source = latest.select(*keep, belongs.alias("_belongs"))
    if not path.exists():
        source.filter("_belongs").drop("_belongs").write.parquet(str(path))
        return
    key, cursor = table["key"], table["cursor"]
    target = spark.read.parquet(str(path))
    arrived = source.select(key, F.col(cursor).alias("_source_cursor"))
    kept = (
        target.join(arrived, key, "left")
        .filter(F.col("_source_cursor").isNull() | (F.col("_source_cursor") < F.col(cursor)))
        .select(*target.columns)
    )
    stored = target.select(key, F.col(cursor).alias("_target_cursor"))
    replacing = (
        source.filter("_belongs")
        .join(stored, key, "left")
        .filter(F.col("_target_cursor").isNull() | (F.col(cursor) >= F.col("_target_cursor")))
        .select(*keep)
    )
    staged = path.with_name(path.name + ".next")
    kept.unionByName(replacing, allowMissingColumns=True).write.mode("overwrite").parquet(str(staged))
    shutil.rmtree(path)
    staged.rename(path)


def silver(spark, lake, pipeline, since: int) -> None:
    """Refines the Bronze rows ingested since `since` (µs) into Silver and quarantine."""
    for table in pipeline["table"]:
        name = table["name"]
        changes = (
            spark.read.parquet(str(lake / "bronze" / name))
            .filter(F.col("_ingested_at") >= F.lit(as_datetime(since)))
            .drop("_ingested_at", "_batch_id")
        )
        data = [c for c in changes.columns if c not in ("_source_file", "_extracted_at")]
        latest = verdicts(changes, table).cache()
        silver_columns = [c for c in data if c != table["soft_delete"]] + ["_source_file", "_extracted_at"]
        valid = ~F.col("_deleted") & F.col("_failed_rule").isNull()
        merge_latest(spark, lake / "silver" / name, latest, silver_columns, valid, table)
        failing = ~F.col("_deleted") & F.col("_failed_rule").isNotNull()
        latest = latest.withColumn("_quarantined_at", F.current_timestamp())
        merge_latest(spark, lake / "quarantine" / name, latest, data + QUARANTINE_EXTRA, failing, table)
        latest.unpersist()


def gold(spark, lake, pipeline) -> None:
    """Runs each Gold query of the pipeline over the Silver folders and overwrites its output."""
    for table in pipeline["table"]:
        spark.sql(f"DROP TABLE IF EXISTS silver.{table['name']}")
        path = str(lake / "silver" / table["name"])
        spark.catalog.createTable(f"silver.{table['name']}", path=path, source="parquet")
    for spec in pipeline["gold"]:
        spark.sql(spec["sql_text"]).write.mode("overwrite").parquet(str(lake / "gold" / spec["name"]))


def parquet_rows(folder) -> int:
    return sum(pq.read_metadata(f).num_rows for f in folder.rglob("*.parquet"))


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    pipeline = load_pipeline(args.pipeline)
    for table in pipeline["table"]:
        check_rules(table, RULES[table["name"]])
    meter.notes.append(PLAIN_PARQUET)
    meter.extra["versions"] = {"pyspark": pyspark.__version__}
    with meter.stage("startup"):
        spark = start_spark(args.lake)
    for number, root in enumerate(args.rounds):
        round_name = "initial" if number == 0 else "incremental" if number == 1 else f"round{number + 1}"
        with meter.stage(f"bronze_{round_name}") as stage:
            stage["rows"], since = bronze(spark, args.lake, root, pipeline)
        with meter.stage(f"silver_{round_name}", rows=stage["rows"]):
            silver(spark, args.lake, pipeline, since)
        with meter.stage(f"gold_{round_name}", rows=parquet_rows(args.lake / "silver")):
            gold(spark, args.lake, pipeline)
    spark.stop()
    checksum.write(checksum.checksum(args.lake / "gold", "parquet"), args.checksum)
    meter.report()


if __name__ == "__main__":
    main()
