"""Fault injection on the at-least-once paths: duplicates, concurrent writers, a store that fails."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import pytest
from botocore.exceptions import ClientError

from saiken import wiring
from saiken.adapters.repository import IngestionRunRepository, ReceivableRepository
from saiken.domain.models import Receivable
from saiken.domain.status import ReceivableStatus
from saiken.local.handlers import handler
from tests.helpers import csv_bytes, put_and_event

pytestmark = pytest.mark.usefixtures("aws")

ROWS = [f"D{i},債務者{i},090-1234-{i:04d},,R{i},{1000 + i},2026-12-10" for i in range(1, 31)]


class OperatorActsMidWrite(ReceivableRepository):
    """Between the upsert's read and its write, an operator puts R1 on hold (a real write to moto)."""

    def get_many(self, creditor_id: str, receivable_ids: Any) -> dict[str, Receivable]:
        found = super().get_many(creditor_id, receivable_ids)
        if "R1" in found:
            current = ReceivableRepository().get(creditor_id, "R1")
            assert current is not None
            ReceivableRepository().save(current.model_copy(update={"status": ReceivableStatus.ON_HOLD}))
        return found


def test_a_concurrent_status_change_is_kept_and_the_new_terms_applied(lambda_context: Any) -> None:
    handler("ingest")(put_and_event("incoming/acme/receivables/a.csv", csv_bytes(*ROWS)), lambda_context)
    wiring.upserter().receivables = OperatorActsMidWrite()

    changed = [r.replace(",1001,", ",5000,") for r in ROWS]
    run = handler("ingest")(put_and_event("incoming/acme/receivables/b.csv", csv_bytes(*changed)), lambda_context)

    assert (run["runs"][0]["updated"], run["runs"][0]["unchanged"], run["runs"][0]["rejected"]) == (1, 29, 0)
    r1 = ReceivableRepository().get("acme", "R1")
    assert r1 is not None
    assert (r1.amount, r1.status, r1.version) == (5000, ReceivableStatus.ON_HOLD, 3)


class FailsOnce(ReceivableRepository):
    """DynamoDB throttles the second batch (after Lambda's own retries ran out)."""

    def __init__(self) -> None:
        self.calls = 0

    def save_all(self, receivables: Sequence[Receivable]) -> list[bool]:
        self.calls += 1
        if self.calls == 2:
            raise ClientError(
                {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
                "PutItem",
            )
        return super().save_all(receivables)


def test_a_store_failure_mid_file_is_retried_by_redelivery_and_loses_nothing(lambda_context: Any) -> None:
    service = wiring.ingest_service()
    service.batch_size = 10
    wiring.upserter().receivables = FailsOnce()
    event = put_and_event("incoming/acme/receivables/a.csv", csv_bytes(*ROWS))

    with pytest.raises(ClientError):
        handler("ingest")(event, lambda_context)
    [failed] = IngestionRunRepository().for_creditor("acme")
    assert (failed.state, failed.error_code) == ("failed", "internal_error")

    retried = handler("ingest")(event, lambda_context)["runs"][0]  # Lambda's async retry: same event

    assert retried["state"] == "completed"
    assert (retried["rows"], retried["accepted"], retried["created"] + retried["unchanged"]) == (30, 30, 30)
    stored = {r.receivable_id for r in ReceivableRepository().iterate("acme")}
    assert stored == {f"R{i}" for i in range(1, 31)}


def test_the_same_event_delivered_twice_at_once_writes_each_receivable_once(lambda_context: Any) -> None:
    event = put_and_event("incoming/acme/receivables/a.csv", csv_bytes(*ROWS))
    results: list[Any] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            results.append(handler("ingest")(event, lambda_context))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    receivables = list(ReceivableRepository().iterate("acme"))
    assert len(receivables) == 30
    assert {r.version for r in receivables} == {1}


def test_a_run_cut_off_by_the_lambda_timeout_is_finished_by_the_retry(lambda_context: Any) -> None:
    """A timeout kills the function without a word: the run stays 'running' and the retry must redo it."""
    from saiken.domain.models import IngestionRun
    from saiken.services.ingest import run_id_for

    event = put_and_event("incoming/acme/receivables/big.csv", csv_bytes(*ROWS))
    obj = event["Records"][0]["s3"]["object"]
    half = ROWS[:15]
    handler("ingest")(put_and_event("incoming/acme/receivables/first-half.csv", csv_bytes(*half)), lambda_context)
    IngestionRunRepository().save(
        IngestionRun(
            creditor_id="acme",
            run_id=run_id_for("incoming/acme/receivables/big.csv", obj["eTag"]),
            file_key="incoming/acme/receivables/big.csv",
            state="running",
            rows=15,
        )
    )

    retried = handler("ingest")(event, lambda_context)["runs"][0]

    assert retried["state"] == "completed"
    assert (retried["rows"], retried["created"], retried["unchanged"]) == (30, 15, 15)


class IngestWinsTheRace(ReceivableRepository):
    """The first time the operator's status change is written, a file update lands just before it."""

    raced = False

    def save(self, receivable: Receivable) -> Receivable:
        if not self.raced and receivable.status == ReceivableStatus.ON_HOLD:
            self.raced = True
            current = ReceivableRepository().get(receivable.creditor_id, receivable.receivable_id)
            assert current is not None
            ReceivableRepository().save(current.model_copy(update={"amount": 7777, "balance": 7777}))
        return super().save(receivable)


def test_a_status_change_racing_a_file_update_keeps_both(lambda_context: Any) -> None:
    handler("ingest")(put_and_event("incoming/acme/receivables/a.csv", csv_bytes(*ROWS[:1])), lambda_context)
    service = wiring.receivable_service()
    service.repository = IngestWinsTheRace()

    result = service.change_status("acme", "R1", ReceivableStatus.ON_HOLD, "本人申出")

    assert (result.status, result.status_reason, result.amount) == (ReceivableStatus.ON_HOLD, "本人申出", 7777)
    assert result.version == 3
