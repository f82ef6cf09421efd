"""Names shared by the stack's constructs (one place, so infra and tests agree)."""

from __future__ import annotations

SERVICE = "saiken"
METRICS_NAMESPACE = "Saiken"
LAMBDA_PYTHON = "3.14"
INTAKE_PREFIX = "incoming/"
REPORTS_PREFIX = "reports/"
REPORT_RETENTION_DAYS = 180
API_BATCH_LIMIT = 500
AUTHORIZER_CACHE_SECONDS = 300
SCHEDULE_GROUP = "saiken-reminders"
SES_CONFIGURATION_SET = "saiken-reminders"
ESCALATION_GROUP = "saiken-escalations"
