"""Runtime configuration, validated once at cold start (never os.environ below a handler)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAIKEN_", extra="ignore")

    stage: str = "local"
    debtors_table: str = "saiken-debtors"
    receivables_table: str = "saiken-receivables"
    ingestion_runs_table: str = "saiken-ingestion-runs"
    api_keys_table: str = "saiken-api-keys"
    contacts_table: str = "saiken-contacts"
    idempotency_table: str = "saiken-idempotency"
    payments_table: str = "saiken-payments"
    name_match_threshold: float = Field(default=85.0, ge=50, le=100, description="kana name similarity (0-100)")
    # dunning: EventBridge Scheduler -> the send queue
    schedule_group: str = "saiken-reminders"
    send_queue_arn: str = "arn:aws:sqs:ap-northeast-1:123456789012:saiken-send"
    send_dlq_arn: str = "arn:aws:sqs:ap-northeast-1:123456789012:saiken-send-dlq"
    scheduler_role_arn: str = "arn:aws:iam::123456789012:role/saiken-scheduler"
    schedule_window_minutes: int = Field(default=0, ge=0, le=60, description="Scheduler FlexibleTimeWindow")
    schedule_max_event_age: int = Field(default=3600, ge=60, le=86400)
    schedule_retries: int = Field(default=10, ge=0, le=185)
    # escalation: EventBridge Scheduler -> the escalation state machine (Step Functions)
    escalation_group: str = "saiken-escalations"
    escalation_state_machine_arn: str = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:saiken-escalation"
    escalation_role_arn: str = "arn:aws:iam::123456789012:role/saiken-escalation-scheduler"
    escalation_dlq_arn: str = "arn:aws:sqs:ap-northeast-1:123456789012:saiken-escalation-dlq"
    # channels: "aws" = SES / End User Messaging SMS / Connect; "outbox" = a JSONL file (local stack)
    email_mode: str = "aws"
    sms_mode: str = "aws"
    ivr_mode: str = "aws"
    outbox_path: str = "demo-output/channel-outbox.jsonl"
    ses_configuration_set: str = "saiken-reminders"
    email_from: str = "noreply@saiken.example"
    sms_origination_identity: str | None = None
    sms_configuration_set: str | None = None
    connect_instance_id: str = "00000000-0000-0000-0000-000000000000"
    connect_contact_flow_id: str = "00000000-0000-0000-0000-000000000000"
    connect_source_phone: str | None = None
    bucket: str = "saiken-intake"
    region: str = Field(default="ap-northeast-1", validation_alias="AWS_REGION")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
