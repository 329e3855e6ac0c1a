# Naming and the account facts every other file builds ARNs from.

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

data "aws_partition" "current" {}

locals {
  # Every resource name starts with this, e.g. "lakehouse-dev-write-bronze".
  prefix     = "${var.name}-${var.environment}"
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  # Named, not looked up: a data source's zone list changes when AWS adds a zone.
  availability_zones = length(var.availability_zones) > 0 ? var.availability_zones : ["${local.region}a", "${local.region}b"]
}
