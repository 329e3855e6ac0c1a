################################################################################
# Naming
################################################################################

variable "name" {
  description = "Project name: the first part of every resource name."
  type        = string
  default     = "lakehouse"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name (dev, prod, ...): the second part of every resource name."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,9}$", var.environment))
    error_message = "environment must be 2-10 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region to deploy into."
  type        = string
  default     = "eu-west-1"
}

variable "tags" {
  description = "Tags added to every resource (the provider's default_tags)."
  type        = map(string)
  default     = {}
}

variable "kms_deletion_window_days" {
  description = "Days the lakehouse KMS key waits before deletion once scheduled (7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

################################################################################
# Network
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the VPC; subnets are /24s carved from it."
  type        = string
  default     = "10.40.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 16
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of /16 or larger."
  }
}

variable "availability_zones" {
  description = "Two availability zones for the private subnets; empty means <region>a and <region>b."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) == 2
    error_message = "availability_zones must be empty or name exactly two zones."
  }
}

################################################################################
# Source database (RDS MySQL)
################################################################################

variable "rds_engine_version" {
  description = "MySQL engine version (major.minor such as \"8.4\", or a full version such as \"8.4.5\"); its major.minor picks the parameter group family."
  type        = string
  default     = "8.4"

  validation {
    condition     = can(regex("^8\\.[0-9]+(\\.[0-9]+)?$", var.rds_engine_version))
    error_message = "rds_engine_version must be a MySQL 8 version such as \"8.0\" or \"8.4.5\"."
  }
}

variable "rds_instance_class" {
  description = "RDS instance class. Performance Insights needs db.t4g.medium or larger."
  type        = string
  default     = "db.t4g.medium"
}

variable "rds_allocated_storage" {
  description = "Initial storage of the database, in GiB."
  type        = number
  default     = 20
}

variable "rds_max_allocated_storage" {
  description = "Upper limit for storage autoscaling, in GiB (0 turns autoscaling off)."
  type        = number
  default     = 100
}

variable "rds_database_name" {
  description = "Name of the shop database that seed-rds fills and extract-rds reads."
  type        = string
  default     = "shop"

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,63}$", var.rds_database_name))
    error_message = "rds_database_name must start with a letter and hold only letters, digits and underscores."
  }
}

variable "rds_master_username" {
  description = "Master user name; its password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "lakehouse_admin"
}

variable "rds_backup_retention_days" {
  description = "Days of automated backups kept (1-35)."
  type        = number
  default     = 7

  validation {
    condition     = var.rds_backup_retention_days >= 1 && var.rds_backup_retention_days <= 35
    error_message = "rds_backup_retention_days must be between 1 and 35."
  }
}

variable "rds_deletion_protection" {
  description = "Refuse to delete the database (turn off before destroying an environment)."
  type        = bool
  default     = true
}

variable "rds_multi_az" {
  description = "Run a standby replica in a second availability zone."
  type        = bool
  default     = true
}

variable "rds_performance_insights_enabled" {
  description = "Turn on Performance Insights (encrypted with the lakehouse key); not available on micro and small classes."
  type        = bool
  default     = true
}

variable "rds_monitoring_interval_seconds" {
  description = "Enhanced Monitoring interval in seconds (0 turns it off; 1, 5, 10, 15, 30 or 60)."
  type        = number
  default     = 60

  validation {
    condition     = contains([0, 1, 5, 10, 15, 30, 60], var.rds_monitoring_interval_seconds)
    error_message = "rds_monitoring_interval_seconds must be one of 0, 1, 5, 10, 15, 30, 60."
  }
}

################################################################################
# Lake
################################################################################

variable "bucket_per_layer" {
  description = "One bucket per lake layer (landing, bronze, silver, gold, quarantine, state) instead of one bucket with a prefix per layer."
  type        = bool
  default     = false
}

variable "bucket_name_prefix" {
  description = "First part of every bucket name; null uses \"<name>-<environment>-<account id>\"."
  type        = string
  default     = null
}

variable "landing_expiration_days" {
  description = "Days after which landing files (already loaded into Bronze) expire."
  type        = number
  default     = 30

  validation {
    condition     = var.landing_expiration_days >= 1
    error_message = "landing_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept in the versioned buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "athena_results_expiration_days" {
  description = "Days Athena query results are kept."
  type        = number
  default     = 30
}

variable "access_log_expiration_days" {
  description = "Days S3 server access logs are kept."
  type        = number
  default     = 365
}

variable "landing_max_receive_count" {
  description = "Deliveries of one landing notification before it moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "landing_batch_size" {
  description = "Landing notifications write-bronze receives per invocation."
  type        = number
  default     = 10
}

variable "landing_batching_window_seconds" {
  description = "Seconds the SQS trigger waits to fill a batch for write-bronze."
  type        = number
  default     = 5
}

################################################################################
# Functions
################################################################################

variable "lambda_dist_dir" {
  description = "Folder holding the cargo-lambda zips as <function>/bootstrap.zip, relative to infra/ or absolute (`make build` writes $CARGO_TARGET_DIR/lambda-arm64)."
  type        = string
  default     = "../target/lambda-arm64"
}

variable "function_settings" {
  description = "Per-function overrides of memory_size (MB), timeout (seconds) and reserved_concurrency (-1 for none), keyed by function name; unset values keep the defaults in functions.tf."
  type = map(object({
    memory_size          = optional(number)
    timeout              = optional(number)
    reserved_concurrency = optional(number)
  }))
  default = {}

  validation {
    condition = alltrue([for name in keys(var.function_settings) : contains(
      ["seed-rds", "extract-rds", "write-bronze", "write-silver", "write-gold", "sync-catalog", "maintain-tables", "notify-slack"], name
    )])
    error_message = "function_settings keys must be function names: seed-rds, extract-rds, write-bronze, write-silver, write-gold, sync-catalog, maintain-tables, notify-slack."
  }
}

variable "function_environment" {
  description = "Extra environment variables per function (e.g. LAKEHOUSE_SEED_ORDERS for seed-rds, LAKEHOUSE_PIPELINE), keyed by function name; they override the generated ones."
  type        = map(map(string))
  default     = {}
}

variable "schedules" {
  description = "EventBridge schedule expression per scheduled function; leave a function out to not schedule it."
  type        = map(string)
  default = {
    seed-rds        = "rate(1 hour)"
    extract-rds     = "rate(15 minutes)"
    write-silver    = "rate(15 minutes)"
    write-gold      = "rate(15 minutes)"
    sync-catalog    = "rate(1 hour)"
    maintain-tables = "cron(30 3 * * ? *)"
  }

  validation {
    condition = alltrue([for name in keys(var.schedules) : contains(
      ["seed-rds", "extract-rds", "write-silver", "write-gold", "sync-catalog", "maintain-tables"], name
    )])
    error_message = "schedules keys must be among seed-rds, extract-rds, write-silver, write-gold, sync-catalog, maintain-tables."
  }
}

variable "maintain_retention_hours" {
  description = "Hours maintain-tables' vacuum keeps files that no current table version needs, for readers of older versions (LAKEHOUSE_MAINTAIN_RETENTION_HOURS; at least 24)."
  type        = number
  default     = 168

  validation {
    condition     = var.maintain_retention_hours >= 24 && floor(var.maintain_retention_hours) == var.maintain_retention_hours
    error_message = "maintain_retention_hours must be a whole number of hours, at least 24: a shorter retention could delete files a reader still needs."
  }
}

variable "async_retry_attempts" {
  description = "Retries Lambda makes of a failed asynchronous invocation (scheduled runs, alerts) before its on-failure destination (0-2)."
  type        = number
  default     = 2
}

variable "log_retention_days" {
  description = "Days the functions', flow logs' and database's log groups keep their events."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ..., 365, ..., 3653)."
  }
}

variable "function_log_level" {
  description = "Lowest application log level the functions emit (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.function_log_level)
    error_message = "function_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL."
  }
}

################################################################################
# Catalog and query
################################################################################

variable "glue_database_prefix" {
  description = "Prefix of the Glue databases (<prefix>bronze, <prefix>silver, <prefix>gold, <prefix>quarantine); null uses \"<name>_<environment>_\"."
  type        = string
  default     = null

  validation {
    condition     = var.glue_database_prefix == null || can(regex("^[a-z0-9_]*$", coalesce(var.glue_database_prefix, "x")))
    error_message = "glue_database_prefix may hold only lowercase letters, digits and underscores."
  }
}

variable "enable_crawler" {
  description = "Create a Glue crawler over the Gold Delta tables (sync-catalog registers tables itself; the crawler is optional)."
  type        = bool
  default     = false
}

variable "crawler_gold_tables" {
  description = "Gold tables (folder names under gold/) the crawler's Delta target lists."
  type        = list(string)
  default     = ["daily_sales", "customer_ltv", "product_sales"]
}

variable "crawler_schedule" {
  description = "Cron schedule of the crawler (e.g. \"cron(0 3 * * ? *)\"); null runs it only when sync-catalog starts it."
  type        = string
  default     = null
}

variable "athena_bytes_scanned_cutoff" {
  description = "Bytes one Athena query may scan in the workgroup before it is cancelled."
  type        = number
  default     = 10737418240
}

################################################################################
# Monitoring
################################################################################

variable "metrics_namespace" {
  description = "CloudWatch namespace of the functions' Embedded Metric Format metrics (LAKEHOUSE_METRICS_NAMESPACE)."
  type        = string
  default     = "Lakehouse"
}

variable "gold_freshness_threshold_seconds" {
  description = "Alarm when write-gold reports FreshnessSeconds above this."
  type        = number
  default     = 7200
}

variable "alarm_period_seconds" {
  description = "Period of the error, quarantine and dead-letter alarms."
  type        = number
  default     = 300
}

variable "freshness_alarm_period_seconds" {
  description = "Period of the Gold freshness alarm; no FreshnessSeconds datapoint in two periods also alarms, so keep it above write-gold's schedule interval."
  type        = number
  default     = 3600
}

################################################################################
# Airbyte (optional)
################################################################################

variable "enable_airbyte" {
  description = "Run Airbyte (abctl) on an EC2 instance in a private subnet, allowed to write only to the landing prefix."
  type        = bool
  default     = false
}

variable "airbyte_instance_type" {
  description = "EC2 instance type for Airbyte (x86_64; Airbyte wants at least 4 vCPUs and 8 GiB)."
  type        = string
  default     = "t3.xlarge"
}

variable "airbyte_volume_size" {
  description = "Root volume size of the Airbyte instance, in GiB."
  type        = number
  default     = 50
}

variable "airbyte_ami_ssm_parameter" {
  description = "SSM public parameter naming the Amazon Linux 2023 AMI for Airbyte."
  type        = string
  default     = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
}

variable "airbyte_allowed_cidrs" {
  description = "CIDR blocks (a VPN or bastion) allowed to reach the Airbyte web UI on port 8000."
  type        = list(string)
  default     = []
}

variable "airbyte_reads_rds" {
  description = "Let the Airbyte instance reach the RDS database on 3306 (when Airbyte replaces extract-rds as the extractor)."
  type        = bool
  default     = true
}
