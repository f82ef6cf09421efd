"""`saiken cases ...`: an operator's 応対管理 on the local stack (the same service the API calls):
the worklist, a receivable's timeline, notes, promises, disputes, holds and releases."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from saiken.domain.cases import CaseError
from saiken.domain.errors import ConcurrentUpdate, NotFound
from saiken.domain.status import ReceivableStatus

cases_app = typer.Typer(
    help="Contacts and answers (応対管理) on the local stack: worklist, timeline, promise, dispute, hold.",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)

Creditor = Annotated[str, typer.Option(help="whose receivables", envvar="SAIKEN_CREDITOR")]
By = Annotated[str, typer.Option("--by", help="who (the operator's name or id), kept in the audit trail")]
Json = Annotated[bool, typer.Option("--json")]
Endpoint = Annotated[str | None, typer.Option(help="AWS endpoint (default: the running `saiken local up`)")]


def _service(endpoint: str | None) -> Any:
    from saiken import wiring
    from saiken.cli.main import _connect

    _connect(endpoint)
    return wiring.case_service()


def _run(action: Any) -> Any:
    try:
        return action()
    except (NotFound, CaseError, ConcurrentUpdate) as exc:
        code = getattr(exc, "code", type(exc).__name__)
        err.print(f"[red]{code}: {exc}[/red]")
        raise typer.Exit(2) from exc


def _show(r: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(r.model_dump(mode="json"), ensure_ascii=False))
        return
    extra = ""
    if r.promised_until:
        extra = f" until {r.promised_until} (¥{r.promised_amount:,})"
    elif r.hold_until:
        extra = f" until {r.hold_until}"
    console.print(f"{r.receivable_id}: [bold]{r.status.value}[/bold] ({r.status_reason or '-'}){extra}")


@cases_app.command("worklist")
def worklist(creditor: Creditor, limit: int = 50, as_json: Json = False, endpoint: Endpoint = None) -> None:
    """Receivables that need a human, highest priority first."""
    items = _service(endpoint).worklist(creditor, limit)
    if as_json:
        rows = [
            {"priority": round(w.priority, 1), "days_past_due": w.days_past_due, **w.receivable.model_dump(mode="json")}
            for w in items
        ]
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("priority", "receivable", "debtor", "balance", "days past due", "stage", "why", title=creditor)
    for w in items:
        r = w.receivable
        table.add_row(
            f"{w.priority:,.0f}",
            r.receivable_id,
            r.debtor_id,
            f"¥{r.balance:,}",
            str(w.days_past_due),
            r.stage or "",
            r.attention or "",
        )
    console.print(table)


@cases_app.command("timeline")
def timeline(
    receivable_id: Annotated[str, typer.Argument()],
    creditor: Creditor,
    as_json: Json = False,
    endpoint: Endpoint = None,
) -> None:
    """Every reminder and answer for one receivable, oldest first (応対履歴)."""
    entries = _run(lambda: _service(endpoint).history(creditor, receivable_id=receivable_id))
    if as_json:
        print(json.dumps(entries, ensure_ascii=False, default=str))
        return
    table = Table("at (JST)", "kind", "channel", "who", "reason / note", title=receivable_id)
    for e in entries:
        table.add_row(
            f"{e['at']:%Y-%m-%d %H:%M}" if hasattr(e["at"], "strftime") else str(e["at"]),
            e["kind"],
            e.get("channel") or "",
            e.get("actor") or "",
            " ".join(x for x in (e.get("reason"), e.get("note")) if x),
        )
    console.print(table)


@cases_app.command("promise")
def promise(
    receivable_id: Annotated[str, typer.Argument()],
    promised_date: Annotated[str, typer.Argument(help="YYYY-MM-DD")],
    creditor: Creditor,
    by: By = "cli",
    amount: Annotated[int | None, typer.Option(help="yen (default: the balance)")] = None,
    note: str | None = None,
    as_json: Json = False,
    endpoint: Endpoint = None,
) -> None:
    """Record a promise to pay: reminders pause until the date (+ grace)."""
    on = _date(promised_date)
    service = _service(endpoint)
    _show(
        _run(lambda: service.promise(creditor, receivable_id, on, amount, actor=f"operator:{by}", note=note)), as_json
    )


def _hold(
    status: ReceivableStatus,
    receivable_id: str,
    creditor: str,
    reason: str,
    until: str | None,
    by: str,
    note: str | None,
    as_json: bool,
    endpoint: str | None,
) -> None:
    day = _date(until) if until else None
    service = _service(endpoint)
    r = _run(lambda: service.hold(creditor, receivable_id, status, reason, day, actor=f"operator:{by}", note=note))
    _show(r, as_json)


@cases_app.command("dispute")
def dispute(
    receivable_id: Annotated[str, typer.Argument()],
    creditor: Creditor,
    reason: Annotated[str, typer.Option(help="a reason code, e.g. amount_disputed")],
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD: dunning resumes after this day")] = None,
    by: By = "cli",
    note: str | None = None,
    as_json: Json = False,
    endpoint: Endpoint = None,
) -> None:
    """The debtor disputes it (異議): dunning and escalation stop now."""
    _hold(ReceivableStatus.DISPUTED, receivable_id, creditor, reason, until, by, note, as_json, endpoint)


@cases_app.command("hold")
def hold(
    receivable_id: Annotated[str, typer.Argument()],
    creditor: Creditor,
    reason: Annotated[str, typer.Option(help="a reason code, e.g. payment_plan")],
    until: Annotated[str | None, typer.Option(help="YYYY-MM-DD: dunning resumes after this day")] = None,
    by: By = "cli",
    note: str | None = None,
    as_json: Json = False,
    endpoint: Endpoint = None,
) -> None:
    """Hold dunning: stops now, until released or the day passes."""
    _hold(ReceivableStatus.ON_HOLD, receivable_id, creditor, reason, until, by, note, as_json, endpoint)


@cases_app.command("release")
def release(
    receivable_id: Annotated[str, typer.Argument()],
    creditor: Creditor,
    by: By = "cli",
    note: str | None = None,
    as_json: Json = False,
    endpoint: Endpoint = None,
) -> None:
    """End a dispute or hold: dunning resumes at the next step."""
    service = _service(endpoint)
    _show(_run(lambda: service.release(creditor, receivable_id, actor=f"operator:{by}", note=note)), as_json)


@cases_app.command("note")
def note(
    receivable_id: Annotated[str, typer.Argument()],
    text: Annotated[str, typer.Argument()],
    creditor: Creditor,
    by: By = "cli",
    outcome: Annotated[str | None, typer.Option(help="contacted / no_answer / callback / wrong_number / done")] = None,
    endpoint: Endpoint = None,
) -> None:
    """Log an operator's note or call outcome (the worklist updates)."""
    allowed = ("contacted", "no_answer", "callback", "wrong_number", "done")
    if outcome is not None and outcome not in allowed:
        err.print(f"[red]--outcome must be one of {', '.join(allowed)}[/red]")
        raise typer.Exit(2)
    service = _service(endpoint)
    event = _run(lambda: service.note(creditor, receivable_id, text, actor=f"operator:{by}", outcome=outcome))
    console.print(f"noted on {receivable_id} at {event.at:%Y-%m-%d %H:%M}" + (f" ({outcome})" if outcome else ""))


def _date(text: str) -> date:
    from saiken.intake.normalize import parse_date

    try:
        return parse_date(text)
    except ValueError as exc:
        err.print(f"[red]not a date: {text!r} ({exc})[/red]")
        raise typer.Exit(2) from exc
