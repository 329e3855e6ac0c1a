# Optional Airbyte (var.enable_airbyte): for a team that keeps Airbyte as its extractor instead of
# extract-rds. One EC2 instance in its own private subnet runs Airbyte with abctl; its role may
# only write into the landing prefix, where write-bronze picks the Parquet files up like ours.
# Installing Airbyte needs the internet, so this subnet alone routes through a NAT gateway; the
# database's and functions' subnets still have no internet route.

locals {
  airbyte = var.enable_airbyte ? toset(["airbyte"]) : toset([])
}

resource "aws_subnet" "public" {
  for_each = local.airbyte

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, 100)
  availability_zone = local.availability_zones[0]

  tags = { Name = "${local.prefix}-public-nat" }
}

resource "aws_internet_gateway" "this" {
  for_each = local.airbyte

  vpc_id = aws_vpc.this.id

  tags = { Name = local.prefix }
}

resource "aws_route_table" "public" {
  for_each = local.airbyte

  vpc_id = aws_vpc.this.id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[each.key].id
  }

  tags = { Name = "${local.prefix}-public" }
}

resource "aws_route_table_association" "public" {
  for_each = local.airbyte

  subnet_id      = aws_subnet.public[each.key].id
  route_table_id = aws_route_table.public[each.key].id
}

resource "aws_eip" "nat" {
  for_each = local.airbyte

  domain = "vpc"

  tags = { Name = "${local.prefix}-nat" }
}

resource "aws_nat_gateway" "this" {
  for_each = local.airbyte

  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id

  tags = { Name = local.prefix }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_subnet" "airbyte" {
  for_each = local.airbyte

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, 10)
  availability_zone = local.availability_zones[0]

  tags = { Name = "${local.prefix}-airbyte" }
}

resource "aws_route_table" "airbyte" {
  for_each = local.airbyte

  vpc_id = aws_vpc.this.id

  route {
    cidr_block     = "0.0.0.0/0"
    nat_gateway_id = aws_nat_gateway.this[each.key].id
  }

  tags = { Name = "${local.prefix}-airbyte" }
}

resource "aws_route_table_association" "airbyte" {
  for_each = local.airbyte

  subnet_id      = aws_subnet.airbyte[each.key].id
  route_table_id = aws_route_table.airbyte[each.key].id
}

################################################################################
# Security group
################################################################################

resource "aws_security_group" "airbyte" {
  for_each = local.airbyte

  name        = "${local.prefix}-airbyte"
  description = "Airbyte: HTTPS out (install, images, S3), MySQL to the source, its UI from allowed CIDRs"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${local.prefix}-airbyte" }
}

resource "aws_vpc_security_group_egress_rule" "airbyte_https" {
  for_each = local.airbyte

  security_group_id = aws_security_group.airbyte[each.key].id
  description       = "HTTPS: packages, abctl, container images, S3"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "airbyte_to_database" {
  for_each = var.airbyte_reads_rds ? local.airbyte : toset([])

  security_group_id            = aws_security_group.airbyte[each.key].id
  description                  = "MySQL to the source database"
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

resource "aws_vpc_security_group_ingress_rule" "database_from_airbyte" {
  for_each = var.airbyte_reads_rds ? local.airbyte : toset([])

  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from Airbyte"
  referenced_security_group_id = aws_security_group.airbyte[each.key].id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

resource "aws_vpc_security_group_ingress_rule" "airbyte_ui" {
  for_each = var.enable_airbyte ? toset(var.airbyte_allowed_cidrs) : toset([])

  security_group_id = aws_security_group.airbyte["airbyte"].id
  description       = "Airbyte web UI"
  cidr_ipv4         = each.key
  ip_protocol       = "tcp"
  from_port         = 8000
  to_port           = 8000
}

################################################################################
# Instance role: write into landing/ only
################################################################################

data "aws_iam_policy_document" "airbyte_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "airbyte" {
  for_each = local.airbyte

  name               = "${local.prefix}-airbyte"
  description        = "Airbyte's S3 destination: writes into the lake's landing prefix only"
  assume_role_policy = data.aws_iam_policy_document.airbyte_assume.json
}

# Airbyte's S3 destination checks its connection by writing and deleting a test object under
# its path, and uploads in parts.
data "aws_iam_policy_document" "airbyte" {
  statement {
    sid = "WriteLandingObjects"
    actions = [
      "s3:PutObject",
      "s3:GetObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.layer_objects_arn.landing]
  }

  statement {
    sid       = "ListLanding"
    actions   = ["s3:ListBucket", "s3:ListBucketMultipartUploads"]
    resources = [local.layer_bucket_arn.landing]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.layer_prefixes.landing, "${local.layer_prefixes.landing}/*"]
    }
  }

  statement {
    sid       = "LocateLandingBucket"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.layer_bucket_arn.landing]
  }

  statement {
    sid       = "EncryptLandingObjects"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.lakehouse.arn]

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "airbyte" {
  for_each = local.airbyte

  name   = "write-landing"
  role   = aws_iam_role.airbyte[each.key].id
  policy = data.aws_iam_policy_document.airbyte.json
}

resource "aws_iam_instance_profile" "airbyte" {
  for_each = local.airbyte

  name = "${local.prefix}-airbyte"
  role = aws_iam_role.airbyte[each.key].name
}

################################################################################
# Instance
################################################################################

data "aws_ssm_parameter" "airbyte_ami" {
  for_each = local.airbyte

  name = var.airbyte_ami_ssm_parameter
}

resource "aws_instance" "airbyte" {
  for_each = local.airbyte

  ami                    = nonsensitive(data.aws_ssm_parameter.airbyte_ami[each.key].value)
  instance_type          = var.airbyte_instance_type
  subnet_id              = aws_subnet.airbyte[each.key].id
  vpc_security_group_ids = [aws_security_group.airbyte[each.key].id]
  iam_instance_profile   = aws_iam_instance_profile.airbyte[each.key].name
  ebs_optimized          = true
  monitoring             = true

  associate_public_ip_address = false

  metadata_options {
    http_endpoint = "enabled"
    http_tokens   = "required"
    # Airbyte's pods run in kind inside Docker: two hops more than the host.
    http_put_response_hop_limit = 3
  }

  root_block_device {
    volume_type = "gp3"
    volume_size = var.airbyte_volume_size
    encrypted   = true
    kms_key_id  = aws_kms_key.lakehouse.arn
  }

  user_data_replace_on_change = true
  user_data = templatefile("${path.module}/templates/airbyte-user-data.sh.tftpl", {
    landing_bucket = local.layer_bucket.landing
    landing_prefix = local.layer_prefixes.landing
    region         = local.region
  })

  tags = { Name = "${local.prefix}-airbyte" }

  lifecycle {
    ignore_changes = [ami]
  }
}
