# Alerting: alarms and failed invocations → SNS → notify-slack → Slack; error log lines →
# notify-slack directly; a dashboard of the pipeline's metrics.
#
# The functions emit Embedded Metric Format metrics into var.metrics_namespace with the
# dimension sets [Function, Table] and [Function]; the alarms use [Function].

resource "aws_sns_topic" "alerts" {
  name              = "${local.prefix}-alerts"
  kms_master_key_id = aws_kms_key.lakehouse.arn
}

resource "aws_sns_topic_subscription" "alerts_to_slack" {
  topic_arn = aws_sns_topic.alerts.arn
  protocol  = "lambda"
  endpoint  = aws_lambda_function.this["notify-slack"].arn
}

resource "aws_lambda_permission" "alerts_to_slack" {
  statement_id   = "AlertsTopic"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["notify-slack"].function_name
  principal      = "sns.amazonaws.com"
  source_arn     = aws_sns_topic.alerts.arn
  source_account = local.account_id
}

# The value (the webhook URL) is set outside Terraform:
#   aws secretsmanager put-secret-value --secret-id <slack_webhook_secret_arn> --secret-string https://hooks.slack.com/...
resource "aws_secretsmanager_secret" "slack_webhook" {
  #checkov:skip=CKV2_AWS_57:The value is a Slack incoming-webhook URL issued by Slack; there is no rotation function that could mint a new one.
  name                    = "${local.prefix}/slack-webhook"
  description             = "Slack incoming-webhook URL that notify-slack posts to (value set outside Terraform)"
  kms_key_id              = aws_kms_key.lakehouse.arn
  recovery_window_in_days = 7
}

################################################################################
# Error log lines → notify-slack (not notify-slack's own: that would loop)
################################################################################

locals {
  log_alerted_functions = { for name, function in local.functions : name => function if name != "notify-slack" }
}

resource "aws_lambda_permission" "error_logs_to_slack" {
  for_each = local.log_alerted_functions

  statement_id   = "ErrorLogs-${each.key}"
  action         = "lambda:InvokeFunction"
  function_name  = aws_lambda_function.this["notify-slack"].function_name
  principal      = "logs.amazonaws.com"
  source_arn     = "${aws_cloudwatch_log_group.function[each.key].arn}:*"
  source_account = local.account_id
}

resource "aws_cloudwatch_log_subscription_filter" "error_logs_to_slack" {
  for_each = local.log_alerted_functions

  name            = "error-lines-to-slack"
  log_group_name  = aws_cloudwatch_log_group.function[each.key].name
  filter_pattern  = "{ $.level = \"ERROR\" }"
  destination_arn = aws_lambda_function.this["notify-slack"].arn

  depends_on = [aws_lambda_permission.error_logs_to_slack]
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${local.function_names[each.key]}-errors"
  alarm_description   = "${each.key} reported failed invocations"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this[each.key].function_name }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

locals {
  dead_letter_queues = {
    landing-dlq        = aws_sqs_queue.landing_dlq.name
    failed-invocations = aws_sqs_queue.failed_invocations.name
  }
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${local.prefix}-${each.key}-not-empty"
  alarm_description   = "Messages are waiting in ${each.value}: something could not be processed"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

# write-bronze quarantines whole files (FilesQuarantined), write-silver rows that fail a quality
# rule (RowsQuarantined).
locals {
  quarantine_metrics = {
    write-bronze = "FilesQuarantined"
    write-silver = "RowsQuarantined"
  }
}

resource "aws_cloudwatch_metric_alarm" "quarantined" {
  for_each = local.quarantine_metrics

  alarm_name          = "${local.function_names[each.key]}-quarantined"
  alarm_description   = "${each.key} reported ${each.value}: see quarantine/ for the reasons"
  namespace           = var.metrics_namespace
  metric_name         = each.value
  dimensions          = { Function = each.key }
  statistic           = "Sum"
  period              = var.alarm_period_seconds
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

# Stale Gold, or no report from write-gold at all in two periods.
resource "aws_cloudwatch_metric_alarm" "gold_freshness" {
  alarm_name          = "${local.function_names["write-gold"]}-stale"
  alarm_description   = "Gold is older than ${var.gold_freshness_threshold_seconds} s, or write-gold stopped reporting"
  namespace           = var.metrics_namespace
  metric_name         = "FreshnessSeconds"
  dimensions          = { Function = "write-gold" }
  statistic           = "Maximum"
  period              = var.freshness_alarm_period_seconds
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.gold_freshness_threshold_seconds
  treat_missing_data  = "breaching"
  alarm_actions       = [aws_sns_topic.alerts.arn]
  ok_actions          = [aws_sns_topic.alerts.arn]
}

################################################################################
# Dashboard
################################################################################

locals {
  # Metric => the statistic that makes sense for it.
  dashboard_metrics = {
    RowsRead         = "Sum"
    RowsWritten      = "Sum"
    RowsQuarantined  = "Sum"
    FilesQuarantined = "Sum"
    Files            = "Sum"
    Bytes            = "Sum"
    DeltaVersion     = "Maximum"
    DurationMs       = "Average"
    FreshnessSeconds = "Maximum"
  }

  pipeline_widgets = [
    for index, metric in keys(local.dashboard_metrics) : {
      type   = "metric"
      x      = (index % 2) * 12
      y      = floor(index / 2) * 6
      width  = 12
      height = 6
      properties = {
        title  = metric
        region = local.region
        view   = "timeSeries"
        period = 300
        metrics = [[{
          id         = "m${index}"
          label      = ""
          expression = "SEARCH('{${var.metrics_namespace},Function} MetricName=\"${metric}\"', '${local.dashboard_metrics[metric]}', 300)"
        }]]
      }
    }
  ]

  lambda_widgets = [
    for index, metric in ["Errors", "Duration", "Throttles"] : {
      type   = "metric"
      x      = index * 8
      y      = ceil(length(local.dashboard_metrics) / 2) * 6
      width  = 8
      height = 6
      properties = {
        title   = "Lambda ${metric}"
        region  = local.region
        view    = "timeSeries"
        period  = 300
        stat    = metric == "Duration" ? "Maximum" : "Sum"
        metrics = [for name in keys(local.functions) : ["AWS/Lambda", metric, "FunctionName", local.function_names[name], { label = name }]]
      }
    }
  ]

  queue_widget = {
    type   = "metric"
    x      = 0
    y      = ceil(length(local.dashboard_metrics) / 2) * 6 + 6
    width  = 24
    height = 6
    properties = {
      title  = "Queues (messages visible)"
      region = local.region
      view   = "timeSeries"
      period = 300
      stat   = "Maximum"
      metrics = [
        for queue in [aws_sqs_queue.landing.name, aws_sqs_queue.landing_dlq.name, aws_sqs_queue.failed_invocations.name] :
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue]
      ]
    }
  }
}

resource "aws_cloudwatch_dashboard" "lakehouse" {
  dashboard_name = local.prefix
  dashboard_body = jsonencode({ widgets = concat(local.pipeline_widgets, local.lambda_widgets, [local.queue_widget]) })
}
