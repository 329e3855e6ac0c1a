# A small, cheap development environment:
#   terraform -chdir=infra apply -var-file=examples/dev.tfvars -var lambda_dist_dir=$CARGO_TARGET_DIR/lambda-arm64

name        = "lakehouse"
environment = "dev"
region      = "eu-west-1"

tags = {
  Owner = "data-platform"
}

# Small database, no standby, deletable.
rds_instance_class               = "db.t4g.micro"
rds_multi_az                     = false
rds_performance_insights_enabled = false
rds_deletion_protection          = false
rds_backup_retention_days        = 1

bucket_per_layer        = false
landing_expiration_days = 7
log_retention_days      = 30

function_settings = {
  write-silver = { memory_size = 1024 }
  write-gold   = { memory_size = 1024 }
}

function_environment = {
  seed-rds = { LAKEHOUSE_SEED_ORDERS = "200" }
}

schedules = {
  seed-rds        = "rate(6 hours)"
  extract-rds     = "rate(30 minutes)"
  write-silver    = "rate(30 minutes)"
  write-gold      = "rate(30 minutes)"
  sync-catalog    = "rate(1 day)"
  maintain-tables = "cron(30 3 * * ? *)"
}

gold_freshness_threshold_seconds = 86400
enable_crawler                   = false
enable_airbyte                   = false
