# The lake: landing, bronze, silver, gold, quarantine and the pipeline's state, either as prefixes
# of one bucket or one bucket per layer (var.bucket_per_layer). Each layer keeps its folder name
# inside its bucket either way (s3://<bucket>/landing/..., s3://<bucket>/_state/...), so the IAM
# prefixes and the landing notification are the same in both layouts. Beside the lake: the Athena
# results bucket and the artifacts bucket that the function zips are uploaded to. All of them:
# public access blocked, TLS only, SSE-KMS, versioning, lifecycle, access logs.

locals {
  bucket_prefix = coalesce(var.bucket_name_prefix, "${local.prefix}-${local.account_id}")

  # Layer => its folder in the lake (the names the Rust `Layer` uses).
  layer_prefixes = {
    landing    = "landing"
    bronze     = "bronze"
    silver     = "silver"
    gold       = "gold"
    quarantine = "quarantine"
    state      = "_state"
  }

  # Layer => key of the bucket that holds it.
  layer_bucket_keys = { for layer in keys(local.layer_prefixes) : layer => var.bucket_per_layer ? layer : "lake" }

  buckets = merge(
    { for key in distinct(values(local.layer_bucket_keys)) : key => "${local.bucket_prefix}-${key}" },
    {
      athena-results = "${local.bucket_prefix}-athena-results"
      artifacts      = "${local.bucket_prefix}-artifacts"
    },
  )

  layer_bucket     = { for layer, key in local.layer_bucket_keys : layer => aws_s3_bucket.this[key].id }
  layer_bucket_arn = { for layer, key in local.layer_bucket_keys : layer => aws_s3_bucket.this[key].arn }
  # s3://<bucket>/<folder>/: a layer's root as LAKEHOUSE_<LAYER>_ROOT gives it.
  layer_root = { for layer, folder in local.layer_prefixes : layer => "s3://${local.layer_bucket[layer]}/${folder}/" }
  # The ARN of every object of a layer.
  layer_objects_arn = { for layer, folder in local.layer_prefixes : layer => "${local.layer_bucket_arn[layer]}/${folder}/*" }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Single-region deployment; versioning with noncurrent-version retention is the recovery mechanism here. Cross-region replication doubles storage and is a disaster-recovery decision left to the deployer.
  for_each = local.buckets

  bucket = each.value
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.lakehouse.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_logging" "this" {
  for_each = aws_s3_bucket.this

  bucket        = each.value.id
  target_bucket = aws_s3_bucket.access_logs.id
  target_prefix = "${each.key}/"
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket_tls_only[each.key].json

  depends_on = [aws_s3_bucket_public_access_block.this]
}

data "aws_iam_policy_document" "bucket_tls_only" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }
  }

  # Landing files are in Bronze once write-bronze has run; old ones only cost money.
  dynamic "rule" {
    for_each = each.key == local.layer_bucket_keys.landing ? [local.layer_prefixes.landing] : []

    content {
      id     = "expire-old-landing-files"
      status = "Enabled"

      filter {
        prefix = "${rule.value}/"
      }

      expiration {
        days = var.landing_expiration_days
      }
    }
  }

  dynamic "rule" {
    for_each = each.key == "athena-results" ? [1] : []

    content {
      id     = "expire-query-results"
      status = "Enabled"

      filter {}

      expiration {
        days = var.athena_results_expiration_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

################################################################################
# Landing notifications: S3 → SQS (with a dead-letter queue) → write-bronze
################################################################################

resource "aws_s3_bucket_notification" "landing" {
  bucket = aws_s3_bucket.this[local.layer_bucket_keys.landing].id

  queue {
    id            = "landing-parquet"
    queue_arn     = aws_sqs_queue.landing.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = "${local.layer_prefixes.landing}/"
    filter_suffix = ".parquet"
  }

  depends_on = [aws_sqs_queue_policy.landing]
}

resource "aws_sqs_queue" "landing" {
  name = "${local.prefix}-landing"
  # AWS's advice for a Lambda trigger: six times the function's timeout.
  visibility_timeout_seconds        = 6 * local.function_config["write-bronze"].timeout
  message_retention_seconds         = 345600
  kms_master_key_id                 = aws_kms_key.lakehouse.arn
  kms_data_key_reuse_period_seconds = 300

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.landing_dlq.arn
    maxReceiveCount     = var.landing_max_receive_count
  })
}

resource "aws_sqs_queue" "landing_dlq" {
  name                              = "${local.prefix}-landing-dlq"
  message_retention_seconds         = 1209600
  kms_master_key_id                 = aws_kms_key.lakehouse.arn
  kms_data_key_reuse_period_seconds = 300
}

resource "aws_sqs_queue_redrive_allow_policy" "landing_dlq" {
  queue_url = aws_sqs_queue.landing_dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.landing.arn]
  })
}

resource "aws_sqs_queue_policy" "landing" {
  queue_url = aws_sqs_queue.landing.id
  policy    = data.aws_iam_policy_document.landing_queue.json
}

data "aws_iam_policy_document" "landing_queue" {
  statement {
    sid       = "LandingBucketNotifies"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.landing.arn]

    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [local.layer_bucket_arn.landing]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

################################################################################
# Access logs of the buckets above
################################################################################

resource "aws_s3_bucket" "access_logs" {
  #checkov:skip=CKV_AWS_145:S3 server access log delivery supports only SSE-S3 (AES256) on the target bucket, not SSE-KMS.
  #checkov:skip=CKV_AWS_144:Access logs are kept in-region for audit; cross-region replication is a disaster-recovery choice left to the deployer.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the access-log bucket.
  bucket = "${local.bucket_prefix}-access-logs"
}

resource "aws_s3_bucket_public_access_block" "access_logs" {
  bucket                  = aws_s3_bucket.access_logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id

  rule {
    id     = "expire-access-logs"
    status = "Enabled"

    filter {}

    expiration {
      days = var.access_log_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.access_logs]
}

resource "aws_s3_bucket_policy" "access_logs" {
  bucket = aws_s3_bucket.access_logs.id
  policy = data.aws_iam_policy_document.access_logs.json

  depends_on = [aws_s3_bucket_public_access_block.access_logs]
}

data "aws_iam_policy_document" "access_logs" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.access_logs.arn, "${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "S3DeliversAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.access_logs.arn}/*"]

    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [for bucket in aws_s3_bucket.this : bucket.arn]
    }
  }
}
