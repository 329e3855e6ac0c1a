# Every Lambda function, from its cargo-lambda zip (`make build`), on provided.al2023 / arm64 with
# JSON logs, X-Ray, a dead-letter queue and on-failure destinations; then its triggers.

locals {
  # The functions and their defaults. Keys are the crate, binary, events/ folder and Terraform
  # names; `vpc` puts a function in the private subnets beside the database.
  functions = {
    seed-rds = {
      description          = "Seeds the shop source database, then simulates business activity on it"
      memory_size          = 512
      timeout              = 300
      reserved_concurrency = 1
      vpc                  = true
    }
    extract-rds = {
      description          = "Extracts changed source rows to landing/ as Parquet"
      memory_size          = 1024
      timeout              = 900
      reserved_concurrency = 1
      vpc                  = true
    }
    write-bronze = {
      description          = "Appends each landing file to its Bronze Delta table, exactly once"
      memory_size          = 1024
      timeout              = 300
      reserved_concurrency = 5
      vpc                  = false
    }
    write-silver = {
      description          = "Merges Bronze into Silver (latest version per key, quality rules, quarantine)"
      memory_size          = 2048
      timeout              = 900
      reserved_concurrency = 1
      vpc                  = false
    }
    write-gold = {
      description          = "Rewrites the Gold tables from Silver with SQL"
      memory_size          = 2048
      timeout              = 900
      reserved_concurrency = 1
      vpc                  = false
    }
    sync-catalog = {
      description          = "Registers the Delta tables in the Glue Data Catalog; optionally starts the crawler"
      memory_size          = 512
      timeout              = 300
      reserved_concurrency = 1
      vpc                  = false
    }
    maintain-tables = {
      description          = "Compacts small files, writes checkpoints and vacuums every Delta table of the lake"
      memory_size          = 2048
      timeout              = 900
      reserved_concurrency = 1
      vpc                  = false
    }
    notify-slack = {
      description          = "Posts alarms, failed invocations and error log lines to Slack"
      memory_size          = 256
      timeout              = 30
      reserved_concurrency = 2
      vpc                  = false
    }
  }

  # The defaults with var.function_settings applied.
  function_config = {
    for name, defaults in local.functions : name => merge(defaults, {
      for setting, value in try(var.function_settings[name], {}) : setting => value if value != null
    })
  }

  function_names = { for name in keys(local.functions) : name => "${local.prefix}-${name}" }
  # Built from names, not from the functions, so that policies need not wait for them.
  function_arns = {
    for name, function_name in local.function_names :
    name => "arn:${local.partition}:lambda:${local.region}:${local.account_id}:function:${function_name}"
  }
  function_zips = { for name in keys(local.functions) : name => "${var.lambda_dist_dir}/${name}/bootstrap.zip" }

  # The functions that read or write the lake.
  data_functions = ["extract-rds", "write-bronze", "write-silver", "write-gold", "sync-catalog", "maintain-tables"]

  lake_environment = merge(
    { LAKEHOUSE_LAKE = "s3://${local.layer_bucket.landing}/" },
    var.bucket_per_layer ? {
      for layer in keys(local.layer_prefixes) : "LAKEHOUSE_${upper(layer)}_ROOT" => local.layer_root[layer]
    } : {},
  )

  source_environment = {
    LAKEHOUSE_SOURCE_URL    = local.source_url
    LAKEHOUSE_DB_SECRET_ARN = local.rds_master_secret
  }

  function_environment = {
    for name in keys(local.functions) : name => merge(
      # The allocator asks for no transparent huge pages even where the kernel would give them
      # unasked (BENCHMARKS.md: memory and the allocator).
      { LAKEHOUSE_METRICS_NAMESPACE = var.metrics_namespace, MIMALLOC_ALLOW_THP = "0" },
      contains(local.data_functions, name) ? local.lake_environment : {},
      contains(["seed-rds", "extract-rds"], name) ? local.source_environment : {},
      name == "sync-catalog" ? merge(
        { LAKEHOUSE_GLUE_DATABASE_PREFIX = local.glue_database_prefix },
        var.enable_crawler ? { LAKEHOUSE_GLUE_CRAWLER = aws_glue_crawler.gold[0].name } : {},
      ) : {},
      name == "maintain-tables" ? { LAKEHOUSE_MAINTAIN_RETENTION_HOURS = tostring(var.maintain_retention_hours) } : {},
      name == "notify-slack" ? { LAKEHOUSE_SLACK_SECRET_ARN = aws_secretsmanager_secret.slack_webhook.arn } : {},
      lookup(var.function_environment, name, {}),
    )
  }
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = local.functions

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lakehouse.arn
}

# Zips go through S3: a function linking delta-rs and DataFusion is over Lambda's 50 MB limit
# for a direct upload.
resource "aws_s3_object" "function_zip" {
  for_each = local.functions

  bucket      = aws_s3_bucket.this["artifacts"].id
  key         = "functions/${each.key}/bootstrap.zip"
  source      = local.function_zips[each.key]
  source_hash = filebase64sha256(local.function_zips[each.key])
  kms_key_id  = aws_kms_key.lakehouse.arn

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_272:The zips are built by cargo-lambda in this repository's build and uploaded by Terraform; there is no AWS Signer signing profile in this setup.
  for_each = local.functions

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  s3_bucket         = aws_s3_object.function_zip[each.key].bucket
  s3_key            = aws_s3_object.function_zip[each.key].key
  s3_object_version = aws_s3_object.function_zip[each.key].version_id
  source_code_hash  = filebase64sha256(local.function_zips[each.key])

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = ["arm64"]

  memory_size                    = local.function_config[each.key].memory_size
  timeout                        = local.function_config[each.key].timeout
  reserved_concurrent_executions = local.function_config[each.key].reserved_concurrency

  kms_key_arn = aws_kms_key.lakehouse.arn

  environment {
    variables = local.function_environment[each.key]
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
    application_log_level = var.function_log_level
    system_log_level      = "WARN"
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.failed_invocations.arn
  }

  # Only seed-rds and extract-rds reach the database, so only they run in the VPC; the others
  # call AWS APIs and Slack, which from the VPC would need a NAT gateway.
  dynamic "vpc_config" {
    for_each = each.value.vpc ? [1] : []

    content {
      subnet_ids         = aws_subnet.private[*].id
      security_group_ids = [aws_security_group.database_clients.id]
    }
  }

  # Lambda checks a VPC function's network-interface permissions when it creates it.
  depends_on = [aws_iam_role_policy.runtime, aws_iam_role_policy.unscoped, aws_iam_role_policy.access]
}

# Asynchronous invocations (schedules, alerts, the Gold → catalog chain) that still fail after
# their retries reach Slack through the alerts topic; notify-slack's own go to the queue, which
# has a depth alarm. After Gold, the catalog is synced.
resource "aws_lambda_function_event_invoke_config" "this" {
  for_each = local.functions

  function_name          = aws_lambda_function.this[each.key].function_name
  maximum_retry_attempts = var.async_retry_attempts

  destination_config {
    on_failure {
      destination = each.key == "notify-slack" ? aws_sqs_queue.failed_invocations.arn : aws_sns_topic.alerts.arn
    }

    dynamic "on_success" {
      for_each = each.key == "write-gold" ? [local.function_arns["sync-catalog"]] : []

      content {
        destination = on_success.value
      }
    }
  }
}

# Dead letters of asynchronous invocations.
resource "aws_sqs_queue" "failed_invocations" {
  name                              = "${local.prefix}-failed-invocations"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.lakehouse.arn
  kms_data_key_reuse_period_seconds = 300
}

################################################################################
# Triggers
################################################################################

resource "aws_lambda_event_source_mapping" "landing" {
  event_source_arn                   = aws_sqs_queue.landing.arn
  function_name                      = aws_lambda_function.this["write-bronze"].arn
  batch_size                         = var.landing_batch_size
  maximum_batching_window_in_seconds = var.landing_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = local.function_config["write-bronze"].reserved_concurrency > 0 ? [local.function_config["write-bronze"].reserved_concurrency] : []

    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = local.function_config["write-bronze"].reserved_concurrency == -1 || local.function_config["write-bronze"].reserved_concurrency >= 2
      error_message = "write-bronze needs a reserved concurrency of at least 2 (an SQS trigger's minimum) or -1 (none)."
    }
  }
}

# Scheduled as EventBridge rules, so each function receives the "Scheduled Event" of events/.
resource "aws_cloudwatch_event_rule" "schedule" {
  for_each = var.schedules

  name                = local.function_names[each.key]
  description         = "Runs ${each.key} on a schedule"
  schedule_expression = each.value
}

resource "aws_cloudwatch_event_target" "schedule" {
  for_each = var.schedules

  rule = aws_cloudwatch_event_rule.schedule[each.key].name
  arn  = aws_lambda_function.this[each.key].arn
}

resource "aws_lambda_permission" "schedule" {
  for_each = var.schedules

  statement_id   = "RunOnSchedule"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this[each.key].function_name
  principal      = "events.amazonaws.com"
  source_arn     = aws_cloudwatch_event_rule.schedule[each.key].arn
  source_account = local.account_id
}
