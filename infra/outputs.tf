output "lake_buckets" {
  description = "Bucket name per lake layer (landing, bronze, silver, gold, quarantine, state); one name for all when bucket_per_layer is false."
  value       = local.layer_bucket
}

output "lake_roots" {
  description = "s3:// root of each lake layer, as the functions see it."
  value       = local.layer_root
}

output "lake_environment" {
  description = "The LAKEHOUSE_LAKE (and LAKEHOUSE_<LAYER>_ROOT) variables the data functions get; export them to point `lakehouse` at the same lake."
  value       = local.lake_environment
}

output "athena_results_bucket" {
  description = "Bucket of the Athena workgroup's query results."
  value       = aws_s3_bucket.this["athena-results"].id
}

output "artifacts_bucket" {
  description = "Bucket the function zips are uploaded to."
  value       = aws_s3_bucket.this["artifacts"].id
}

output "access_logs_bucket" {
  description = "Bucket receiving the S3 server access logs of the other buckets."
  value       = aws_s3_bucket.access_logs.id
}

output "kms_key_arn" {
  description = "ARN of the lakehouse's KMS key."
  value       = aws_kms_key.lakehouse.arn
}

output "landing_queue_url" {
  description = "URL of the SQS queue receiving landing/*.parquet notifications (write-bronze's trigger)."
  value       = aws_sqs_queue.landing.id
}

output "landing_dlq_url" {
  description = "URL of the landing queue's dead-letter queue."
  value       = aws_sqs_queue.landing_dlq.id
}

output "failed_invocations_queue_url" {
  description = "URL of the dead-letter queue of failed asynchronous invocations."
  value       = aws_sqs_queue.failed_invocations.id
}

output "function_names" {
  description = "Lambda function name per function key (seed-rds, extract-rds, ...)."
  value       = { for name, function in aws_lambda_function.this : name => function.function_name }
}

output "function_arns" {
  description = "Lambda function ARN per function key."
  value       = { for name, function in aws_lambda_function.this : name => function.arn }
}

output "function_role_arns" {
  description = "Execution role ARN per function key."
  value       = { for name, role in aws_iam_role.function : name => role.arn }
}

output "vpc_id" {
  description = "ID of the lakehouse VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "IDs of the private subnets holding the database and the functions that reach it."
  value       = aws_subnet.private[*].id
}

output "rds_endpoint" {
  description = "Host name of the source MySQL database."
  value       = aws_db_instance.source.address
}

output "rds_master_secret_arn" {
  description = "ARN of the RDS-managed secret holding the master password (its `password` field)."
  value       = local.rds_master_secret
}

output "source_url" {
  description = "LAKEHOUSE_SOURCE_URL of seed-rds and extract-rds (no password)."
  value       = local.source_url
}

output "glue_databases" {
  description = "Glue database name per Delta layer (bronze, silver, gold, quarantine)."
  value       = { for layer, database in aws_glue_catalog_database.layer : layer => database.name }
}

output "glue_crawler_name" {
  description = "Name of the Gold crawler, or null when enable_crawler is false."
  value       = var.enable_crawler ? aws_glue_crawler.gold[0].name : null
}

output "athena_workgroup" {
  description = "Name of the Athena workgroup for queries over the lake."
  value       = aws_athena_workgroup.lakehouse.name
}

output "alerts_topic_arn" {
  description = "ARN of the SNS topic that alarms and failed invocations publish to (notify-slack subscribes)."
  value       = aws_sns_topic.alerts.arn
}

output "slack_webhook_secret_arn" {
  description = "ARN of the secret whose value must be set to the Slack webhook URL (outside Terraform)."
  value       = aws_secretsmanager_secret.slack_webhook.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard of the pipeline."
  value       = aws_cloudwatch_dashboard.lakehouse.dashboard_name
}

output "airbyte_instance_id" {
  description = "ID of the Airbyte EC2 instance, or null when enable_airbyte is false."
  value       = var.enable_airbyte ? aws_instance.airbyte["airbyte"].id : null
}
