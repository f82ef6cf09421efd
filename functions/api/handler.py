"""REST API: push and read receivables. The creditor comes from the authorizer's context only."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from saiken import wiring
from saiken.api.models import (
    BatchIn,
    BatchItemOut,
    BatchOut,
    ContactOut,
    ContactPreferencesIn,
    DebtorOut,
    ErrorBody,
    ErrorOut,
    FieldErrorOut,
    HoldIn,
    IngestionRunOut,
    ManualMatchIn,
    NoteIn,
    PaymentBatchIn,
    PaymentBatchOut,
    PaymentOut,
    PaymentResultOut,
    PlanOut,
    PromiseIn,
    ReceivableIn,
    ReceivableOut,
    ReceivablePage,
    ReleaseIn,
    ReportLinkOut,
    StageOut,
    StatusChangeIn,
    TimelineEntryOut,
    UpsertOut,
    WorkItemOut,
)
from saiken.domain.cases import CaseError
from saiken.domain.errors import ConcurrentUpdate, NotFound, NotMatchable
from saiken.domain.status import InvalidTransition, ReceivableStatus
from saiken.intake.fields import FieldIssue
from saiken.observability import logger, metrics, tracer
from saiken.services.reconcile import Outcome

TITLE = "Saiken API"
VERSION = "1.0.0"

app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title=TITLE, version=VERSION)

ERRORS: dict[int, OpenAPIResponse] = {
    404: {
        "description": "Not found among this creditor's data (another creditor's data is never visible)",
        "content": {"application/json": {"model": ErrorOut}},
    },
    422: {"description": "Invalid request", "content": {"application/json": {"model": ErrorOut}}},
}


def creditor_id() -> str:
    """The tenant, from the Lambda authorizer's context; never from the request itself."""
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    creditor = authorizer.get("creditor_id")
    if not creditor:
        raise UnauthorizedError("no creditor in the authorizer context")
    logger.append_keys(creditor_id=creditor)
    return str(creditor)


def _error(status: int, code: str, message: str, errors: list[FieldErrorOut] | None = None) -> Response[Any]:
    body = ErrorOut(error=ErrorBody(code=code, message=message, errors=errors or []))
    return Response(status_code=status, content_type="application/json", body=body.model_dump_json())


@app.exception_handler(NotFound)
def _not_found(exc: NotFound) -> Response[Any]:
    return _error(404, "not_found", str(exc))


@app.exception_handler(InvalidTransition)
def _invalid_transition(exc: InvalidTransition) -> Response[Any]:
    return _error(409, "invalid_transition", str(exc))


@app.exception_handler(NotMatchable)
def _not_matchable(exc: NotMatchable) -> Response[Any]:
    return _error(409, "not_matchable", str(exc))


@app.exception_handler(CaseError)
def _case_error(exc: CaseError) -> Response[Any]:
    return _error(409, exc.code, str(exc))


@app.exception_handler(ConcurrentUpdate)
def _conflict(exc: ConcurrentUpdate) -> Response[Any]:
    return _error(409, "conflict", str(exc))


@app.exception_handler(RequestValidationError)
def _invalid_request(exc: RequestValidationError) -> Response[Any]:
    errors = [
        FieldErrorOut(field=".".join(str(p) for p in e["loc"][1:]) or None, code=e["type"], message=e["msg"])
        for e in exc.errors()
    ]
    return _error(422, "invalid_request", "the request does not match the API schema", errors)


UPSERTED: dict[int, OpenAPIResponse] = {
    201: {"description": "Created", "content": {"application/json": {"model": UpsertOut}}},
    200: {"description": "Updated, or unchanged", "content": {"application/json": {"model": UpsertOut}}},
    422: ERRORS[422],
}


@app.post("/receivables", summary="Create or update one receivable", responses=UPSERTED, tags=["receivables"])
def upsert_receivable(item: Annotated[ReceivableIn, Body()]) -> Response[Any]:
    [result] = wiring.receivable_service().upsert_many(creditor_id(), [item.model_dump(exclude_unset=True)])
    if result.errors:
        errors = [FieldErrorOut(field=e.field, code=e.code, message=e.message) for e in result.errors]
        return _error(422, "invalid_receivable", "the receivable was not accepted", errors)
    receivable = wiring.receivable_service().get(creditor_id(), str(result.receivable_id))
    body = UpsertOut(outcome=result.outcome, receivable=ReceivableOut.of(receivable))
    status = 201 if result.outcome == "created" else 200
    return Response(status_code=status, content_type="application/json", body=body.model_dump_json())


@app.post("/receivables/batch", summary="Create or update up to 500 receivables", tags=["receivables"])
def upsert_batch(batch: Annotated[BatchIn, Body()]) -> BatchOut:
    items = [item.model_dump(exclude_unset=True) for item in batch.items]
    results = wiring.receivable_service().upsert_many(creditor_id(), items)
    rejected = sum(bool(r.errors) for r in results)
    return BatchOut(accepted=len(results) - rejected, rejected=rejected, results=[BatchItemOut.of(r) for r in results])


@app.get("/receivables", summary="List the creditor's receivables", tags=["receivables"])
def list_receivables(
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[str | None, Query(description="last receivable_id of the previous page")] = None,
    status: Annotated[ReceivableStatus | None, Query()] = None,
) -> ReceivablePage:
    items, next_after = wiring.receivable_service().page(creditor_id(), limit=limit, after=after, status=status)
    return ReceivablePage(items=[ReceivableOut.of(r) for r in items], next_after=next_after)


@app.get("/receivables/<receivable_id>", summary="Get one receivable", responses=ERRORS, tags=["receivables"])
def get_receivable(receivable_id: Annotated[str, Path(max_length=64)]) -> ReceivableOut:
    return ReceivableOut.of(wiring.receivable_service().get(creditor_id(), receivable_id))


@app.get("/debtors/<debtor_id>/receivables", summary="A debtor's receivables, oldest due first", tags=["debtors"])
def debtor_receivables(debtor_id: Annotated[str, Path(max_length=64)]) -> list[ReceivableOut]:
    return [ReceivableOut.of(r) for r in wiring.receivable_service().list_for_debtor(creditor_id(), debtor_id)]


@app.get("/debtors/<debtor_id>", summary="A debtor, their flags and receivables", responses=ERRORS, tags=["debtors"])
def get_debtor(debtor_id: Annotated[str, Path(max_length=64)]) -> DebtorOut:
    return DebtorOut.of(wiring.receivable_service().debtor(creditor_id(), debtor_id))


@app.put(
    "/receivables/<receivable_id>/status",
    summary="Change a receivable's status (cancel, hold, dispute, release)",
    responses={
        **ERRORS,
        409: {"description": "Transition not allowed", "content": {"application/json": {"model": ErrorOut}}},
    },
    tags=["receivables"],
)
def change_status(
    receivable_id: Annotated[str, Path(max_length=64)], change: Annotated[StatusChangeIn, Body()]
) -> ReceivableOut:
    before, after = wiring.receivable_service().change_status_from(
        creditor_id(), receivable_id, ReceivableStatus(change.status), change.reason
    )
    if after is not None:
        wiring.case_service().record_status_change(before, after, actor=_actor("api"))
    return ReceivableOut.of(after or before)


@app.put(
    "/debtors/<debtor_id>/contact-preferences",
    summary="Do-not-contact, lawyer retained (受任通知), channel opt-outs",
    responses=ERRORS,
    tags=["debtors"],
)
def set_contact_preferences(
    debtor_id: Annotated[str, Path(max_length=64)], preferences: Annotated[ContactPreferencesIn, Body()]
) -> DebtorOut:
    creditor = creditor_id()
    overview = wiring.receivable_service().set_contact_preferences(
        creditor, debtor_id, preferences.model_dump(exclude_none=True)
    )
    wiring.dunning_service().replan_debtor(creditor, debtor_id)  # a hard stop removes pending reminders now
    return DebtorOut.of(overview)


@app.get(
    "/receivables/<receivable_id>/plan",
    summary="The remaining reminder calendar, with the guardrail behind every moved or dropped step",
    responses=ERRORS,
    tags=["dunning"],
)
def get_plan(receivable_id: Annotated[str, Path(max_length=64)]) -> PlanOut:
    return PlanOut.model_validate(wiring.dunning_service().plan(creditor_id(), receivable_id))


@app.get(
    "/receivables/<receivable_id>/contacts",
    summary="The reminders sent, held back or failed for this receivable, oldest first (応対履歴)",
    responses=ERRORS,
    tags=["dunning"],
)
def get_contacts(receivable_id: Annotated[str, Path(max_length=64)]) -> list[ContactOut]:
    creditor = creditor_id()
    wiring.receivable_service().get(creditor, receivable_id)  # 404 unless it is this creditor's
    history = wiring.contact_history().for_receivable(creditor, receivable_id)
    return [ContactOut.model_validate(c.model_dump()) for c in history]


@app.get("/ingestions", summary="The latest files ingested for this creditor, newest first", tags=["ingestions"])
def list_ingestions(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[IngestionRunOut]:
    return [IngestionRunOut.of(run) for run in wiring.run_service().latest(creditor_id(), limit)]


@app.get("/ingestions/<run_id>", summary="One file's ingestion result", responses=ERRORS, tags=["ingestions"])
def get_ingestion(run_id: Annotated[str, Path(max_length=64)]) -> IngestionRunOut:
    return IngestionRunOut.of(wiring.run_service().get(creditor_id(), run_id))


@app.get(
    "/ingestions/<run_id>/report",
    summary="A short-lived link to one file's per-row error report (CSV)",
    responses=ERRORS,
    tags=["ingestions"],
)
def get_ingestion_report(run_id: Annotated[str, Path(max_length=64)]) -> ReportLinkOut:
    url, expires_in = wiring.run_service().report_link(creditor_id(), run_id)
    return ReportLinkOut(url=url, expires_in=expires_in)


# --- payments (入金消込) ---------------------------------------------------------------


def _result(outcome: Outcome | None, issues: list[FieldIssue], index: int | None = None) -> PaymentResultOut:
    if outcome is None:
        errors = [FieldErrorOut(field=i.field, code=i.code, message=i.message) for i in issues]
        return PaymentResultOut(index=index, payment_id=None, state="rejected", errors=errors)
    return PaymentResultOut.model_validate({**outcome.as_dict(), "index": index})


@app.post(
    "/payments",
    summary="Report up to 500 payments (入金): each is matched and applied once, however often it is sent",
    responses={422: ERRORS[422]},
    tags=["payments"],
)
def post_payments(batch: Annotated[PaymentBatchIn, Body()]) -> PaymentBatchOut:
    items = [p.model_dump(exclude_unset=True, mode="json") for p in batch.payments]
    answers = wiring.reconcile_service().receive_items(creditor_id(), items, source="api")
    results = []
    for index, (outcome, issues) in enumerate(answers):
        result = _result(outcome, issues, index)
        if outcome is None and items[index].get("payment_id"):
            result.payment_id = str(items[index]["payment_id"])
        results.append(result)
    rejected = sum(r.state == "rejected" for r in results)
    return PaymentBatchOut(accepted=len(results) - rejected, rejected=rejected, results=results)


@app.get(
    "/payments/unmatched",
    summary="The unmatched queue: payments no rule could place, oldest first",
    tags=["payments"],
)
def unmatched_payments(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[PaymentOut]:
    return [
        PaymentOut.model_validate(p.model_dump()) for p in wiring.reconcile_service().unmatched(creditor_id(), limit)
    ]


@app.get("/payments/<payment_id>", summary="One payment and what was done with it", responses=ERRORS, tags=["payments"])
def get_payment(payment_id: Annotated[str, Path(max_length=128)]) -> PaymentOut:
    return PaymentOut.model_validate(wiring.reconcile_service().get(creditor_id(), payment_id).model_dump())


@app.post(
    "/payments/<payment_id>/match",
    summary="Apply an unmatched payment to a receivable (then the debtor's older ones, then credit)",
    responses={
        **ERRORS,
        409: {"description": "The payment is not unmatched", "content": {"application/json": {"model": ErrorOut}}},
    },
    tags=["payments"],
)
def match_payment(
    payment_id: Annotated[str, Path(max_length=128)], body: Annotated[ManualMatchIn, Body()]
) -> PaymentResultOut:
    return _result(wiring.reconcile_service().match_manually(creditor_id(), payment_id, body.receivable_id), [])


# --- cases (応対管理): timeline, notes, promises, disputes, holds, worklist, stage ----------

CONFLICT: dict[int, OpenAPIResponse] = {
    **ERRORS,
    409: {
        "description": "Not possible as the receivable stands (closed, held, promise out of range...)",
        "content": {"application/json": {"model": ErrorOut}},
    },
}
RID = Annotated[str, Path(max_length=64)]


def _actor(by: str) -> str:
    """Who, for the audit trail: the operator's name as given, and the API key that was used."""
    authorizer = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    key_id = authorizer.get("key_id")
    return f"operator:{by}" + (f" (key {key_id})" if key_id else "")


@app.get(
    "/receivables/<receivable_id>/timeline",
    summary="Every contact and answer for this receivable, oldest first (応対履歴)",
    responses=ERRORS,
    tags=["cases"],
)
def receivable_timeline(receivable_id: RID) -> list[TimelineEntryOut]:
    entries = wiring.case_service().history(creditor_id(), receivable_id=receivable_id)
    return [TimelineEntryOut.model_validate(e) for e in entries]


@app.get(
    "/debtors/<debtor_id>/timeline",
    summary="Every contact and answer for this debtor, across their receivables, oldest first",
    responses=ERRORS,
    tags=["cases"],
)
def debtor_timeline(debtor_id: Annotated[str, Path(max_length=64)]) -> list[TimelineEntryOut]:
    entries = wiring.case_service().history(creditor_id(), debtor_id=debtor_id)
    return [TimelineEntryOut.model_validate(e) for e in entries]


@app.post(
    "/receivables/<receivable_id>/notes",
    summary="Log an operator's note or call outcome (the worklist updates)",
    responses=ERRORS,
    tags=["cases"],
)
def add_note(receivable_id: RID, body: Annotated[NoteIn, Body()]) -> TimelineEntryOut:
    event = wiring.case_service().note(
        creditor_id(), receivable_id, body.text, actor=_actor(body.by), outcome=body.outcome
    )
    return TimelineEntryOut.model_validate(event.model_dump())


@app.post(
    "/receivables/<receivable_id>/promise",
    summary="Record a promise to pay: reminders pause until the date (+ grace); kept or broken is decided after",
    responses=CONFLICT,
    tags=["cases"],
)
def promise(receivable_id: RID, body: Annotated[PromiseIn, Body()]) -> ReceivableOut:
    r = wiring.case_service().promise(
        creditor_id(), receivable_id, body.promised_date, body.amount, actor=_actor(body.by), note=body.note
    )
    return ReceivableOut.of(r)


def _hold(receivable_id: str, body: HoldIn, status: ReceivableStatus) -> ReceivableOut:
    r = wiring.case_service().hold(
        creditor_id(), receivable_id, status, body.reason, body.until, actor=_actor(body.by), note=body.note
    )
    return ReceivableOut.of(r)


@app.post(
    "/receivables/<receivable_id>/dispute",
    summary="The debtor disputes it (異議): dunning and escalation stop now, until resolved or 'until'",
    responses=CONFLICT,
    tags=["cases"],
)
def dispute(receivable_id: RID, body: Annotated[HoldIn, Body()]) -> ReceivableOut:
    return _hold(receivable_id, body, ReceivableStatus.DISPUTED)


@app.post(
    "/receivables/<receivable_id>/hold",
    summary="Hold dunning (e.g. a payment plan being agreed): stops now, until released or 'until'",
    responses=CONFLICT,
    tags=["cases"],
)
def hold(receivable_id: RID, body: Annotated[HoldIn, Body()]) -> ReceivableOut:
    return _hold(receivable_id, body, ReceivableStatus.ON_HOLD)


@app.post(
    "/receivables/<receivable_id>/release",
    summary="End a dispute or hold: dunning resumes at the next step",
    responses=CONFLICT,
    tags=["cases"],
)
def release(receivable_id: RID, body: Annotated[ReleaseIn, Body()]) -> ReceivableOut:
    r = wiring.case_service().release(
        creditor_id(), receivable_id, actor=_actor(body.by), reason=body.reason, note=body.note
    )
    return ReceivableOut.of(r)


@app.post(
    "/debtors/<debtor_id>/hold",
    summary="Hold (or, with reason 'disputed:...', dispute) every open receivable of a debtor",
    responses=CONFLICT,
    tags=["cases"],
)
def hold_debtor(
    debtor_id: Annotated[str, Path(max_length=64)],
    body: Annotated[HoldIn, Body()],
    dispute: Annotated[bool, Query(description="a dispute rather than a hold")] = False,
) -> list[ReceivableOut]:
    status = ReceivableStatus.DISPUTED if dispute else ReceivableStatus.ON_HOLD
    held = wiring.case_service().hold_debtor(
        creditor_id(), debtor_id, status, body.reason, body.until, actor=_actor(body.by), note=body.note
    )
    return [ReceivableOut.of(r) for r in held]


@app.post(
    "/debtors/<debtor_id>/release",
    summary="End the disputes and holds of every receivable of a debtor",
    responses=CONFLICT,
    tags=["cases"],
)
def release_debtor(
    debtor_id: Annotated[str, Path(max_length=64)], body: Annotated[ReleaseIn, Body()]
) -> list[ReceivableOut]:
    released = wiring.case_service().release_debtor(creditor_id(), debtor_id, actor=_actor(body.by), note=body.note)
    return [ReceivableOut.of(r) for r in released]


@app.get(
    "/worklist", summary="The collector worklist: receivables that need a human, highest priority first", tags=["cases"]
)
def worklist(limit: Annotated[int, Query(ge=1, le=500)] = 100) -> list[WorkItemOut]:
    return [
        WorkItemOut(
            priority=round(w.priority, 1), days_past_due=w.days_past_due, receivable=ReceivableOut.of(w.receivable)
        )
        for w in wiring.case_service().worklist(creditor_id(), limit)
    ]


@app.get(
    "/receivables/<receivable_id>/stage",
    summary="The escalation stage, the cadence in force, and the next boundary",
    responses=ERRORS,
    tags=["cases"],
)
def get_stage(receivable_id: RID) -> StageOut:
    return StageOut.model_validate(wiring.case_service().stage(creditor_id(), receivable_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
