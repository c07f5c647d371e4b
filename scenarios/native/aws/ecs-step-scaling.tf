# The same service and policies as ecs-step-scaling.yaml, in Terraform.

variable "max_tasks" {
  type    = number
  default = 16
}

locals {
  cluster = "agents"
}

resource "aws_ecs_service" "agent" {
  name            = "agent"
  cluster         = local.cluster
  desired_count   = 3
  launch_type     = "FARGATE"
  task_definition = aws_ecs_task_definition.agent.arn
}

resource "aws_appautoscaling_target" "agent" {
  min_capacity       = 2
  max_capacity       = var.max_tasks
  resource_id        = "service/${local.cluster}/${aws_ecs_service.agent.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  service_namespace  = "ecs"
}

resource "aws_appautoscaling_policy" "scale_out" {
  name               = "agent-scale-out"
  policy_type        = "StepScaling"
  resource_id        = aws_appautoscaling_target.agent.resource_id
  scalable_dimension = aws_appautoscaling_target.agent.scalable_dimension
  service_namespace  = aws_appautoscaling_target.agent.service_namespace

  step_scaling_policy_configuration {
    adjustment_type         = "ChangeInCapacity"
    cooldown                = 60
    metric_aggregation_type = "Average"

    step_adjustment {
      metric_interval_lower_bound = 0
      metric_interval_upper_bound = 15
      scaling_adjustment          = 1
    }

    step_adjustment {
      metric_interval_lower_bound = 15
      scaling_adjustment          = 3
    }
  }
}

resource "aws_appautoscaling_policy" "scale_in" {
  name               = "agent-scale-in"
  policy_type        = "StepScaling"
  resource_id        = aws_appautoscaling_target.agent.resource_id
  scalable_dimension = aws_appautoscaling_target.agent.scalable_dimension
  service_namespace  = aws_appautoscaling_target.agent.service_namespace

  step_scaling_policy_configuration {
    adjustment_type          = "PercentChangeInCapacity"
    cooldown                 = 300
    min_adjustment_magnitude = 1

    step_adjustment {
      metric_interval_upper_bound = "0"
      scaling_adjustment          = -25
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_high" {
  alarm_name          = "agent-cpu-high"
  alarm_description   = "Scale out when CPU is over 60%"
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = 60
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_appautoscaling_policy.scale_out.arn]

  dimensions = {
    ClusterName = local.cluster
    ServiceName = aws_ecs_service.agent.name
  }
}

resource "aws_cloudwatch_metric_alarm" "cpu_low" {
  alarm_name          = "agent-cpu-low"
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  statistic           = "Average"
  period              = 60
  evaluation_periods  = 10
  threshold           = 25
  comparison_operator = "LessThanThreshold"
  alarm_actions       = [aws_appautoscaling_policy.scale_in.arn]
}

resource "aws_ecs_task_definition" "agent" {
  family                   = "agent"
  cpu                      = "1024"
  memory                   = "2048"
  requires_compatibilities = ["FARGATE"]
  container_definitions    = jsonencode([{ name = "agent", image = "agent:latest" }])
}
