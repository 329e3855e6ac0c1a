# A VPC with no internet route for data paths: RDS and the two functions that reach it live in
# private subnets; S3 is reached through a gateway endpoint and Secrets Manager through an
# interface endpoint. Only the database clients' security group reaches MySQL.

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.prefix }
}

# The default security group allows nothing.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.prefix}-default-deny" }
}

resource "aws_subnet" "private" {
  count = 2

  vpc_id            = aws_vpc.this.id
  cidr_block        = cidrsubnet(var.vpc_cidr, 8, count.index)
  availability_zone = local.availability_zones[count.index]

  tags = { Name = "${local.prefix}-private-${local.availability_zones[count.index]}" }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.prefix}-private" }
}

resource "aws_route_table_association" "private" {
  count = 2

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private.id
}

################################################################################
# Endpoints
################################################################################

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]
  policy            = data.aws_iam_policy_document.s3_endpoint.json

  tags = { Name = "${local.prefix}-s3" }
}

# From inside the VPC only the lake's buckets can be reached, whatever a role allows.
data "aws_iam_policy_document" "s3_endpoint" {
  statement {
    sid = "LakeBucketsOnly"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListBucket",
      "s3:ListMultipartUploadParts",
    ]
    resources = flatten([for key in distinct(values(local.layer_bucket_keys)) : [
      aws_s3_bucket.this[key].arn,
      "${aws_s3_bucket.this[key].arn}/*",
    ]])

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

resource "aws_vpc_endpoint" "secretsmanager" {
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${local.region}.secretsmanager"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints.id]
  policy              = data.aws_iam_policy_document.secretsmanager_endpoint.json

  tags = { Name = "${local.prefix}-secretsmanager" }
}

# From inside the VPC only the database's master secret can be read.
data "aws_iam_policy_document" "secretsmanager_endpoint" {
  statement {
    sid       = "DatabaseSecretOnly"
    actions   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
    resources = [local.rds_master_secret]

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }
}

################################################################################
# Security groups
################################################################################

resource "aws_security_group" "database" {
  name        = "${local.prefix}-database"
  description = "The source MySQL database: reachable on 3306 from its clients only"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${local.prefix}-database" }
}

resource "aws_security_group" "database_clients" {
  name        = "${local.prefix}-database-clients"
  description = "seed-rds and extract-rds: MySQL, S3 through its gateway endpoint, Secrets Manager"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${local.prefix}-database-clients" }
}

resource "aws_security_group" "endpoints" {
  name        = "${local.prefix}-endpoints"
  description = "Interface endpoints: HTTPS from the database clients"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${local.prefix}-endpoints" }
}

resource "aws_vpc_security_group_ingress_rule" "database_from_clients" {
  security_group_id            = aws_security_group.database.id
  description                  = "MySQL from seed-rds and extract-rds"
  referenced_security_group_id = aws_security_group.database_clients.id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

resource "aws_vpc_security_group_egress_rule" "clients_to_database" {
  security_group_id            = aws_security_group.database_clients.id
  description                  = "MySQL to the source database"
  referenced_security_group_id = aws_security_group.database.id
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

resource "aws_vpc_security_group_egress_rule" "clients_to_s3" {
  security_group_id = aws_security_group.database_clients.id
  description       = "HTTPS to S3 through the gateway endpoint"
  prefix_list_id    = aws_vpc_endpoint.s3.prefix_list_id
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "clients_to_endpoints" {
  security_group_id            = aws_security_group.database_clients.id
  description                  = "HTTPS to the Secrets Manager endpoint"
  referenced_security_group_id = aws_security_group.endpoints.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_clients" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from seed-rds and extract-rds"
  referenced_security_group_id = aws_security_group.database_clients.id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

################################################################################
# Flow logs
################################################################################

resource "aws_flow_log" "this" {
  vpc_id          = aws_vpc.this.id
  traffic_type    = "ALL"
  log_destination = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn    = aws_iam_role.flow_logs.arn

  tags = { Name = "${local.prefix}-flow-logs" }
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/aws/vpc/${local.prefix}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.lakehouse.arn
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${local.prefix}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

data "aws_iam_policy_document" "flow_logs" {
  statement {
    sid       = "WriteFlowLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }

  statement {
    sid       = "FindFlowLogGroup"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"]
  }
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs.json
}
