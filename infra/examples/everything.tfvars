# Every optional part turned on: a bucket per layer, the Gold crawler and Airbyte.
# scripts/checkov.sh also scans the configuration with this file, so that the parts that are
# off by default are checked too.

bucket_per_layer = true

enable_crawler   = true
crawler_schedule = "cron(0 3 * * ? *)"

enable_airbyte        = true
airbyte_allowed_cidrs = ["10.0.0.0/8"]
airbyte_reads_rds     = true
