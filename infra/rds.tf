# The source: RDS MySQL 8 in the private subnets, TLS required, storage and Performance Insights
# encrypted with the lakehouse key, the master password generated and kept in Secrets Manager by
# RDS itself (seed-rds and extract-rds read its `password` field).

locals {
  rds_identifier    = "${local.prefix}-source"
  rds_engine_family = "mysql${join(".", slice(split(".", var.rds_engine_version), 0, 2))}"
  rds_log_exports   = ["error", "slowquery"]
  rds_master_secret = aws_db_instance.source.master_user_secret[0].secret_arn

  # What the functions connect to. No password: it comes from LAKEHOUSE_DB_SECRET_ARN.
  source_url = "mysql://${var.rds_master_username}@${aws_db_instance.source.address}:${aws_db_instance.source.port}/${var.rds_database_name}?ssl-mode=REQUIRED"
}

resource "aws_db_subnet_group" "source" {
  name        = local.rds_identifier
  description = "Private subnets of the source database"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_db_parameter_group" "source" {
  name_prefix = "${local.rds_identifier}-"
  description = "Source database: TLS required"
  family      = local.rds_engine_family

  parameter {
    name  = "require_secure_transport"
    value = "1"
  }

  # Slow statements reach CloudWatch Logs through the slowquery export (no general log: it
  # would hold every row the functions write).
  parameter {
    name  = "slow_query_log"
    value = "1"
  }

  parameter {
    name  = "long_query_time"
    value = "2"
  }

  parameter {
    name  = "log_output"
    value = "FILE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Created ahead of RDS so that the exported logs are encrypted and expire.
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(local.rds_log_exports)

  name              = "/aws/rds/instance/${local.rds_identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lakehouse.arn
}

resource "aws_db_instance" "source" {
  identifier     = local.rds_identifier
  engine         = "mysql"
  engine_version = var.rds_engine_version
  instance_class = var.rds_instance_class

  allocated_storage     = var.rds_allocated_storage
  max_allocated_storage = var.rds_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = aws_kms_key.lakehouse.arn

  db_name                             = var.rds_database_name
  username                            = var.rds_master_username
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = aws_kms_key.lakehouse.arn
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.source.name
  vpc_security_group_ids = [aws_security_group.database.id]
  publicly_accessible    = false
  port                   = 3306
  parameter_group_name   = aws_db_parameter_group.source.name
  ca_cert_identifier     = "rds-ca-rsa2048-g1"
  multi_az               = var.rds_multi_az

  backup_retention_period   = var.rds_backup_retention_days
  backup_window             = "02:00-03:00"
  maintenance_window        = "sun:03:30-sun:04:30"
  copy_tags_to_snapshot     = true
  deletion_protection       = var.rds_deletion_protection
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.rds_identifier}-final"

  auto_minor_version_upgrade      = true
  enabled_cloudwatch_logs_exports = local.rds_log_exports
  monitoring_interval             = var.rds_monitoring_interval_seconds
  monitoring_role_arn             = var.rds_monitoring_interval_seconds > 0 ? aws_iam_role.rds_monitoring.arn : null

  performance_insights_enabled          = var.rds_performance_insights_enabled
  performance_insights_kms_key_id       = var.rds_performance_insights_enabled ? aws_kms_key.lakehouse.arn : null
  performance_insights_retention_period = var.rds_performance_insights_enabled ? 7 : null

  depends_on = [aws_cloudwatch_log_group.rds]
}

data "aws_iam_policy_document" "rds_monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "rds_monitoring" {
  name               = "${local.prefix}-rds-monitoring"
  assume_role_policy = data.aws_iam_policy_document.rds_monitoring_assume.json
}

resource "aws_iam_role_policy_attachment" "rds_monitoring" {
  role       = aws_iam_role.rds_monitoring.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}
