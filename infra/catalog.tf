# The Glue Data Catalog: a database per Delta layer (bronze, silver, gold, quarantine) that
# sync-catalog fills with native Delta tables; optionally a crawler over the Gold tables; an
# Athena workgroup to query them.

locals {
  glue_database_prefix = coalesce(var.glue_database_prefix, "${replace(local.prefix, "-", "_")}_")
  catalog_layers       = ["bronze", "silver", "gold", "quarantine"]
  crawler_name         = "${local.prefix}-gold"

  glue_catalog_arn   = "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog"
  glue_database_arns = { for layer in local.catalog_layers : layer => "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.glue_database_prefix}${layer}" }
  glue_table_arns    = { for layer in local.catalog_layers : layer => "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.glue_database_prefix}${layer}/*" }
}

resource "aws_glue_catalog_database" "layer" {
  for_each = toset(local.catalog_layers)

  name         = "${local.glue_database_prefix}${each.key}"
  description  = "${title(each.key)} Delta tables of ${local.prefix}"
  location_uri = local.layer_root[each.key]
}

################################################################################
# Crawler (optional)
################################################################################

resource "aws_glue_crawler" "gold" {
  count = var.enable_crawler ? 1 : 0

  name                   = local.crawler_name
  description            = "Registers the Gold Delta tables as native Delta tables"
  role                   = aws_iam_role.crawler[0].arn
  database_name          = aws_glue_catalog_database.layer["gold"].name
  security_configuration = aws_glue_security_configuration.crawler[0].name
  schedule               = var.crawler_schedule

  delta_target {
    delta_tables              = [for table in var.crawler_gold_tables : "${local.layer_root.gold}${table}/"]
    write_manifest            = false
    create_native_delta_table = true
  }

  schema_change_policy {
    update_behavior = "UPDATE_IN_DATABASE"
    delete_behavior = "LOG"
  }
}

resource "aws_glue_security_configuration" "crawler" {
  count = var.enable_crawler ? 1 : 0

  name = "${local.prefix}-crawler"

  encryption_configuration {
    cloudwatch_encryption {
      cloudwatch_encryption_mode = "SSE-KMS"
      kms_key_arn                = aws_kms_key.lakehouse.arn
    }

    job_bookmarks_encryption {
      job_bookmarks_encryption_mode = "CSE-KMS"
      kms_key_arn                   = aws_kms_key.lakehouse.arn
    }

    s3_encryption {
      s3_encryption_mode = "SSE-KMS"
      kms_key_arn        = aws_kms_key.lakehouse.arn
    }
  }
}

data "aws_iam_policy_document" "crawler_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["glue.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "crawler" {
  count = var.enable_crawler ? 1 : 0

  name               = "${local.prefix}-crawler"
  assume_role_policy = data.aws_iam_policy_document.crawler_assume.json
}

data "aws_iam_policy_document" "crawler" {
  statement {
    sid       = "ReadGoldObjects"
    actions   = ["s3:GetObject"]
    resources = [local.layer_objects_arn.gold]
  }

  statement {
    sid       = "ListGold"
    actions   = ["s3:ListBucket"]
    resources = [local.layer_bucket_arn.gold]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.layer_prefixes.gold, "${local.layer_prefixes.gold}/*"]
    }
  }

  statement {
    sid = "WriteGoldTables"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:BatchGetPartition",
      "glue:GetPartitions",
    ]
    resources = [local.glue_catalog_arn, local.glue_database_arns.gold, local.glue_table_arns.gold]
  }

  statement {
    sid = "WriteCrawlerLogs"
    actions = [
      "logs:CreateLogGroup",
      "logs:CreateLogStream",
      "logs:PutLogEvents",
      "logs:AssociateKmsKey",
    ]
    resources = [
      "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws-glue/crawlers*",
    ]
  }

  statement {
    sid       = "UseLakehouseKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.lakehouse.arn]
  }
}

resource "aws_iam_role_policy" "crawler" {
  count = var.enable_crawler ? 1 : 0

  name   = "crawl-gold"
  role   = aws_iam_role.crawler[0].id
  policy = data.aws_iam_policy_document.crawler.json
}

################################################################################
# Athena
################################################################################

resource "aws_athena_workgroup" "lakehouse" {
  name        = local.prefix
  description = "Queries over the lakehouse's Glue databases"

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.athena_bytes_scanned_cutoff

    result_configuration {
      output_location = "s3://${aws_s3_bucket.this["athena-results"].id}/results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = aws_kms_key.lakehouse.arn
      }
    }
  }
}
