# One role per function, with three inline policies:
#   runtime   its own log group, the dead-letter queue, its failure destination, the lakehouse key
#   unscoped  the few actions AWS does not let a policy scope (X-Ray, VPC network interfaces)
#   access    what its work needs, on exact ARNs: lake prefixes per layer, secrets, queue, Glue

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = local.functions

  name               = local.function_names[each.key]
  description        = "Execution role of ${local.function_names[each.key]}"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

################################################################################
# runtime
################################################################################

data "aws_iam_policy_document" "runtime" {
  for_each = local.functions

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.failed_invocations.arn]
  }

  dynamic "statement" {
    for_each = each.key == "notify-slack" ? [] : [aws_sns_topic.alerts.arn]

    content {
      sid       = "PublishFailedInvocations"
      actions   = ["sns:Publish"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "UseLakehouseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lakehouse.arn]
  }
}

resource "aws_iam_role_policy" "runtime" {
  for_each = local.functions

  name   = "runtime"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.runtime[each.key].json
}

################################################################################
# unscoped
################################################################################

data "aws_iam_policy_document" "unscoped" {
  for_each = local.functions

  statement {
    sid       = "XRayTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  # What the AWSLambdaVPCAccessExecutionRole managed policy grants, without its logs actions.
  dynamic "statement" {
    for_each = each.value.vpc ? [1] : []

    content {
      sid = "VpcNetworkInterfaces"
      actions = [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
      ]
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "unscoped" {
  for_each = local.functions

  name   = "unscoped"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.unscoped[each.key].json
}

################################################################################
# access
################################################################################

locals {
  # Who touches which layer, and how. "put" writes new objects only; "read-write" is a Delta
  # table or the state files (read, write, delete).
  lake_access = {
    extract-rds  = { landing = "put", state = "read-write" }
    write-bronze = { landing = "read", bronze = "read-write", quarantine = "read-write" }
    write-silver = { bronze = "read", silver = "read-write", quarantine = "read-write" }
    write-gold   = { silver = "read", gold = "read-write" }
    sync-catalog = { bronze = "read", silver = "read", gold = "read", quarantine = "read" }
    # Compaction rewrites every Delta table's files and vacuum deletes the old ones; it never
    # touches landing or the state files.
    maintain-tables = { bronze = "read-write", silver = "read-write", gold = "read-write", quarantine = "read-write" }
  }

  lake_object_actions = {
    put        = ["s3:PutObject", "s3:AbortMultipartUpload"]
    read       = ["s3:GetObject"]
    read-write = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
  }

  # The documents each function's access policy is made of.
  function_policies = {
    seed-rds = [data.aws_iam_policy_document.database_secret.json]
    extract-rds = [
      data.aws_iam_policy_document.database_secret.json,
      data.aws_iam_policy_document.lake["extract-rds"].json,
    ]
    write-bronze = [
      data.aws_iam_policy_document.lake["write-bronze"].json,
      data.aws_iam_policy_document.landing_queue_consumer.json,
    ]
    write-silver = [data.aws_iam_policy_document.lake["write-silver"].json]
    write-gold = [
      data.aws_iam_policy_document.lake["write-gold"].json,
      data.aws_iam_policy_document.invoke_sync_catalog.json,
    ]
    sync-catalog = [
      data.aws_iam_policy_document.lake["sync-catalog"].json,
      data.aws_iam_policy_document.glue_catalog.json,
    ]
    maintain-tables = [data.aws_iam_policy_document.lake["maintain-tables"].json]
    notify-slack    = [data.aws_iam_policy_document.slack_secret.json]
  }
}

data "aws_iam_policy_document" "lake" {
  for_each = local.lake_access

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = "${replace(title(replace(statement.value, "-", " ")), " ", "")}${title(statement.key)}Objects"
      actions   = local.lake_object_actions[statement.value]
      resources = [local.layer_objects_arn[statement.key]]
    }
  }

  # Listing a layer's prefix: Delta logs, and a 404 (not a 403) for a missing object.
  dynamic "statement" {
    for_each = { for layer, mode in each.value : layer => mode if mode != "put" }

    content {
      sid       = "List${title(statement.key)}"
      actions   = ["s3:ListBucket"]
      resources = [local.layer_bucket_arn[statement.key]]

      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [local.layer_prefixes[statement.key], "${local.layer_prefixes[statement.key]}/*"]
      }
    }
  }
}

data "aws_iam_policy_document" "database_secret" {
  statement {
    sid       = "ReadDatabasePassword"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [local.rds_master_secret]
  }
}

data "aws_iam_policy_document" "landing_queue_consumer" {
  statement {
    sid = "ConsumeLandingNotifications"
    actions = [
      "sqs:ReceiveMessage",
      "sqs:DeleteMessage",
      "sqs:ChangeMessageVisibility",
      "sqs:GetQueueAttributes",
    ]
    resources = [aws_sqs_queue.landing.arn]
  }
}

data "aws_iam_policy_document" "invoke_sync_catalog" {
  statement {
    sid       = "SyncCatalogAfterGold"
    actions   = ["lambda:InvokeFunction"]
    resources = [local.function_arns["sync-catalog"]]
  }
}

data "aws_iam_policy_document" "glue_catalog" {
  statement {
    sid = "RegisterLayerTables"
    actions = [
      "glue:GetDatabase",
      "glue:CreateDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
    ]
    resources = concat(
      [local.glue_catalog_arn],
      [for layer in local.catalog_layers : local.glue_database_arns[layer]],
      [for layer in local.catalog_layers : local.glue_table_arns[layer]],
    )
  }

  dynamic "statement" {
    for_each = var.enable_crawler ? [1] : []

    content {
      sid       = "StartCrawler"
      actions   = ["glue:StartCrawler", "glue:GetCrawler"]
      resources = ["arn:${local.partition}:glue:${local.region}:${local.account_id}:crawler/${local.crawler_name}"]
    }
  }
}

data "aws_iam_policy_document" "slack_secret" {
  statement {
    sid       = "ReadSlackWebhook"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.slack_webhook.arn]
  }
}

data "aws_iam_policy_document" "access" {
  for_each = local.function_policies

  source_policy_documents = each.value
}

resource "aws_iam_role_policy" "access" {
  for_each = local.function_policies

  name   = "access"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.access[each.key].json
}
