"""Cold-start factories: clients, repositories and services built once per process.

Nothing here runs at import time, so tests can set the environment first and call
``reset()`` between cases. Each factory imports what it builds, so a function only pays for
the modules its own path needs (the authorizer never imports S3 or the intake core).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from saiken.settings import Settings, get_settings

if TYPE_CHECKING:
    from saiken.adapters.objects import ObjectStore
    from saiken.adapters.repository import ApiKeyRepository
    from saiken.services.accounting import AccountingService
    from saiken.services.cases import CaseService
    from saiken.services.dunning import DunningService
    from saiken.services.feedback import FeedbackService
    from saiken.services.ingest import IngestService
    from saiken.services.receivables import ReceivableService
    from saiken.services.reconcile import PaymentFileService, ReconcileService
    from saiken.services.runs import RunService
    from saiken.services.upsert import Upserter


@lru_cache(maxsize=1)
def settings() -> Settings:
    from saiken.adapters.tables import bind_tables

    current = get_settings()
    bind_tables(current)
    return current


@lru_cache(maxsize=1)
def s3_client() -> Any:
    import boto3

    return boto3.client("s3", region_name=settings().region)


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    from saiken.adapters.objects import ObjectStore

    return ObjectStore(s3_client(), settings().bucket)


@lru_cache(maxsize=1)
def upserter() -> Upserter:
    from saiken.adapters.repository import DebtorRepository, ReceivableRepository
    from saiken.services.upsert import Upserter

    settings()
    return Upserter(ReceivableRepository(), DebtorRepository())


@lru_cache(maxsize=1)
def ingest_service() -> IngestService:
    from saiken.adapters.repository import IngestionRunRepository
    from saiken.services.ingest import IngestService

    return IngestService(upserter(), IngestionRunRepository(), object_store())


@lru_cache(maxsize=1)
def receivable_service() -> ReceivableService:
    from saiken.adapters.repository import ReceivableRepository
    from saiken.services.receivables import ReceivableService

    settings()
    return ReceivableService(ReceivableRepository(), upserter())


@lru_cache(maxsize=1)
def run_service() -> RunService:
    from saiken.adapters.repository import IngestionRunRepository
    from saiken.services.runs import RunService

    return RunService(IngestionRunRepository(), object_store())


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyRepository:
    from saiken.adapters.repository import ApiKeyRepository

    settings()
    return ApiKeyRepository()


# -- time -------------------------------------------------------------------------------
_clock_override: Callable[[], datetime] | None = None


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """The local runtime's virtual clock (None = real time). Lambda never calls this."""
    global _clock_override
    _clock_override = clock


def now() -> datetime:
    return _clock_override() if _clock_override is not None else datetime.now(UTC)


# -- dunning ------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def schedules() -> Any:
    import boto3

    from saiken.adapters.schedules import ScheduleGateway

    s = settings()
    return ScheduleGateway(
        client=boto3.client("scheduler", region_name=s.region),
        group=s.schedule_group,
        target_arn=s.send_queue_arn,
        role_arn=s.scheduler_role_arn,
        dlq_arn=s.send_dlq_arn,
        window_minutes=s.schedule_window_minutes,
        max_event_age=s.schedule_max_event_age,
        retries=s.schedule_retries,
    )


@lru_cache(maxsize=1)
def escalation_schedules() -> Any:
    """One pending stage boundary per receivable: a Scheduler entry that starts the state machine."""
    import boto3

    from saiken.adapters.schedules import ScheduleGateway

    s = settings()
    return ScheduleGateway(
        client=boto3.client("scheduler", region_name=s.region),
        group=s.escalation_group,
        target_arn=s.escalation_state_machine_arn,
        role_arn=s.escalation_role_arn,
        dlq_arn=s.escalation_dlq_arn,
        window_minutes=s.schedule_window_minutes,
        max_event_age=s.schedule_max_event_age,
        retries=s.schedule_retries,
    )


@lru_cache(maxsize=1)
def creditor_config() -> Any:
    from saiken.adapters.objects import ConfigStore

    return ConfigStore(object_store())


@lru_cache(maxsize=1)
def channels() -> dict[Any, Any]:
    import boto3

    from saiken.adapters import channels as ch
    from saiken.domain.rules import Channel

    s = settings()
    outbox = Path(s.outbox_path)
    return {
        Channel.EMAIL: (
            ch.OutboxChannel(outbox, "email")
            if s.email_mode == "outbox"
            else ch.SesEmailChannel(boto3.client("sesv2", region_name=s.region), s.email_from, s.ses_configuration_set)
        ),
        Channel.SMS: (
            ch.OutboxChannel(outbox, "sms")
            if s.sms_mode == "outbox"
            else ch.SmsChannel(
                boto3.client("pinpoint-sms-voice-v2", region_name=s.region),
                s.sms_origination_identity,
                s.sms_configuration_set,
            )
        ),
        Channel.IVR: (
            ch.OutboxChannel(outbox, "ivr")
            if s.ivr_mode == "outbox"
            else ch.ConnectIvrChannel(
                boto3.client("connect", region_name=s.region),
                s.connect_instance_id,
                s.connect_contact_flow_id,
                s.connect_source_phone,
            )
        ),
    }


@lru_cache(maxsize=1)
def idempotency() -> Any:
    """powertools idempotency for deliveries, keyed by the reminder id (the ``task`` argument)."""
    from aws_lambda_powertools.utilities.idempotency import (
        DynamoDBPersistenceLayer,
        IdempotencyConfig,
        idempotent_function,
    )

    config = IdempotencyConfig(event_key_jmespath="reminder_id", expires_after_seconds=14 * 24 * 3600)
    store = DynamoDBPersistenceLayer(table_name=settings().idempotency_table)

    def once(func: Callable[..., Any]) -> Callable[..., Any]:
        wrapped: Callable[..., Any] = idempotent_function(
            data_keyword_argument="task", persistence_store=store, config=config
        )(func)
        return wrapped

    once.config = config  # type: ignore[attr-defined]
    return once


@lru_cache(maxsize=1)
def contact_history() -> Any:
    from saiken.adapters.contacts import ContactRepository

    settings()
    return ContactRepository()


@lru_cache(maxsize=1)
def backoff() -> Any:
    import boto3

    from saiken.adapters.queues import Backoff

    return Backoff(boto3.client("sqs", region_name=settings().region))


@lru_cache(maxsize=1)
def dunning_service() -> DunningService:
    from saiken.adapters.repository import DebtorRepository, ReceivableRepository
    from saiken.services.dunning import DunningService

    settings()
    return DunningService(
        receivables=ReceivableRepository(),
        debtors=DebtorRepository(),
        contacts=contact_history(),
        schedules=schedules(),
        config_for=creditor_config(),
        channels=channels(),
        clock=now,
        once=idempotency(),
        escalations=escalation_schedules(),
    )


@lru_cache(maxsize=1)
def case_service() -> CaseService:
    from saiken.adapters.repository import ReceivableRepository
    from saiken.services.cases import CaseService

    settings()
    return CaseService(
        receivables=ReceivableRepository(),
        timeline=contact_history(),
        schedules=schedules(),
        escalations=escalation_schedules(),
        config_for=creditor_config(),
        clock=now,
    )


@lru_cache(maxsize=1)
def feedback_service() -> FeedbackService:
    from saiken.adapters.repository import DebtorRepository, ReceivableRepository
    from saiken.services.feedback import FeedbackService

    settings()
    return FeedbackService(
        receivables=ReceivableRepository(),
        debtors=DebtorRepository(),
        timeline=contact_history(),
        cases=case_service(),
        replan_debtor=lambda creditor, debtor: dunning_service().replan_debtor(creditor, debtor),
        clock=now,
    )


@lru_cache(maxsize=1)
def reconcile_service() -> ReconcileService:
    from saiken.adapters.payments import PaymentRepository
    from saiken.adapters.repository import DebtorRepository, ReceivableRepository
    from saiken.services.reconcile import ReconcileService

    current = settings()
    return ReconcileService(
        payments=PaymentRepository(),
        receivables=ReceivableRepository(),
        debtors=DebtorRepository(),
        name_threshold=current.name_match_threshold,
        clock=now,
    )


@lru_cache(maxsize=1)
def payment_file_service() -> PaymentFileService:
    from saiken.adapters.repository import IngestionRunRepository
    from saiken.services.reconcile import PaymentFileService

    return PaymentFileService(reconcile_service(), IngestionRunRepository(), object_store(), clock=now)


@lru_cache(maxsize=1)
def accounting_service() -> AccountingService:
    from saiken.adapters.payments import PaymentRepository
    from saiken.adapters.repository import ReceivableRepository
    from saiken.services.accounting import AccountingService

    settings()
    return AccountingService(
        receivables=ReceivableRepository(),
        payments=PaymentRepository(),
        config_for=creditor_config(),
        reports=object_store(),
        list_creditors=object_store().creditors,
        clock=now,
    )


def reset() -> None:
    """Forget every cached object (tests and the local stack switch endpoints)."""
    for factory in (
        settings,
        s3_client,
        object_store,
        upserter,
        ingest_service,
        receivable_service,
        run_service,
        api_keys,
        schedules,
        escalation_schedules,
        creditor_config,
        channels,
        idempotency,
        contact_history,
        backoff,
        dunning_service,
        reconcile_service,
        payment_file_service,
        accounting_service,
        case_service,
        feedback_service,
    ):
        factory.cache_clear()
    get_settings.cache_clear()
