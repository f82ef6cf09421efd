"""saiken: the command line for creditors' operators and developers."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from saiken.cli.cases import cases_app
from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import FileError

app = typer.Typer(help="Saiken: receivables management and automated dunning.", no_args_is_help=True)
local_app = typer.Typer(help="The local stack: all of the AWS side on loopback (moto).", no_args_is_help=True)
receivables_app = typer.Typer(help="Receivables on the local stack.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys (stored hashed) on the local stack.", no_args_is_help=True)
app.add_typer(local_app, name="local")
app.add_typer(receivables_app, name="receivables")
rules_app = typer.Typer(help="Dunning rules (督促ルール): preview, validate, JSON Schema.", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")
app.add_typer(rules_app, name="rules")
payments_app = typer.Typer(
    help="Payments (入金) on the local stack: the unmatched queue, manual matches.", no_args_is_help=True
)
app.add_typer(payments_app, name="payments")
app.add_typer(cases_app, name="cases")

console = Console()
err = Console(stderr=True)

MappingOption = Annotated[
    Path | None, typer.Option("--mapping", help="YAML: source header -> canonical field, constant defaults")
]


def _load_mapping(path: Path | None) -> ColumnMapping | None:
    """A mapping file that cannot be used is a file-level error, reported like the others."""
    if path is None:
        return None
    import yaml

    try:
        return ColumnMapping.load(path)
    except OSError as exc:
        raise FileError("unreadable", f"mapping file {path}: {exc.strerror or exc}") from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise FileError("invalid_mapping", f"mapping file {path}: {exc}") from exc


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="CSV or TSV file (UTF-8, UTF-8 with BOM, CP932)")],
    mapping: MappingOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object (the contract in the README)")] = False,
) -> None:
    """Check a receivables file without loading it anywhere. Exit 0 if it could be read, 2 if not."""
    from saiken.cli.validate import validate_file

    try:
        if not file.is_file():
            raise FileError("unreadable", f"{file}: no such file")
        result = validate_file(file, _load_mapping(mapping), show_progress=not as_json)
    except FileError as exc:
        if as_json:
            print(json.dumps(exc.as_dict(), ensure_ascii=False))
        else:
            err.print(f"[red]{file}: {exc.code}: {exc.message}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    console.print(
        f"[bold]{file}[/bold] ({result['encoding']}): {result['rows']} rows, "
        f"[green]{result['accepted']} accepted[/green], [red]{result['rejected']} rejected[/red]"
    )
    if result["errors"]:
        table = Table("row", "line", "field", "code", "message", title="Rejected rows")
        for e in result["errors"][:200]:
            table.add_row(str(e["row"]), str(e["line"]), e["field"] or "-", e["code"], e["message"])
        console.print(table)
        if len(result["errors"]) > 200:
            console.print(f"... and {len(result['errors']) - 200} more (use --json for all)")


@local_app.command("up")
def local_up(
    port: Annotated[int, typer.Option(help="AWS endpoint port (moto server; 0 = any free port)")] = 4566,
    api_port: Annotated[int, typer.Option(help="REST API port (0 = any free port)")] = 8080,
    creditor: Annotated[list[str] | None, typer.Option(help="create an API key for this creditor (repeatable)")] = None,
) -> None:
    """Serve the AWS side on 127.0.0.1 and wire S3 -> ingest and HTTP -> API, until Ctrl-C."""
    from saiken import wiring
    from saiken.local.stack import STATE_FILE, IngestEvent, LocalStack, PortInUse

    def report(event: IngestEvent) -> None:
        if event.error:
            console.print(f"[red]ingest {event.key}: {event.error}[/red]")
        elif event.result:
            r = event.result
            console.print(
                f"ingested {event.key}: {r['state']}, rows {r['rows']} = accepted {r['accepted']} + rejected "
                f"{r['rejected']} (created {r['created']}, updated {r['updated']}, unchanged {r['unchanged']})"
            )

    try:
        stack = LocalStack(port=port, api_port=api_port, on_ingest=report).start()
    except PortInUse as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    console.print(f"AWS endpoint  {stack.endpoint}   (export AWS_ENDPOINT_URL={stack.endpoint})")
    console.print(f"REST API      {stack.api_url}   (Authorization: Bearer <key>; docs at /swagger)")
    console.print(f"bucket        s3://{wiring.settings().bucket}/incoming/<creditor>/receivables/")
    for name in creditor or []:
        console.print(f"API key for {name}: {wiring.api_keys().issue(name, name='local up')}")
    stack.write_state()  # last: other commands take the file as the sign the stack is ready
    console.print(f"state written to {STATE_FILE}; Ctrl-C to stop")
    try:
        stack.run_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
        STATE_FILE.unlink(missing_ok=True)


def _connect(endpoint: str | None) -> dict[str, Any]:
    from saiken.local.stack import read_state, use_endpoint

    try:
        state = {"endpoint": endpoint} if endpoint else read_state()
    except FileNotFoundError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    use_endpoint(state["endpoint"])
    return state


EndpointOption = Annotated[str | None, typer.Option(help="AWS endpoint (default: the running `saiken local up`)")]


@apikey_app.command("create")
def apikey_create(
    creditor: Annotated[str, typer.Option(help="the creditor the key acts for")],
    name: Annotated[str | None, typer.Option(help="a label for the key")] = None,
    endpoint: EndpointOption = None,
) -> None:
    """Create an API key; it is printed once and stored only as a SHA-256 hash."""
    from saiken import wiring

    _connect(endpoint)
    print(wiring.api_keys().issue(creditor, name=name))


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[str, typer.Argument(help="the key to disable (sk.{creditor}.{secret})")],
    endpoint: EndpointOption = None,
) -> None:
    """Disable an API key; requests with it are refused once the authorizer's 5-minute cache expires."""
    from saiken import wiring

    _connect(endpoint)
    if not wiring.api_keys().revoke(key):
        err.print("[red]no such key[/red]")
        raise typer.Exit(2)
    console.print("revoked")


@app.command()
def upload(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    creditor: Annotated[str, typer.Option(help="the creditor whose receivables these are")],
    endpoint: EndpointOption = None,
    wait: Annotated[float, typer.Option(help="seconds to wait for the ingestion result (0: don't)")] = 60.0,
    kind: Annotated[str, typer.Option(help="receivables, or payments (Zengin .txt/.dat or CSV)")] = "receivables",
) -> None:
    """Put a file into incoming/{creditor}/{kind}/ like a creditor would, then show the result."""
    from saiken.cli.upload import upload_file

    if kind not in ("receivables", "payments"):
        err.print(f"[red]--kind must be receivables or payments, not {kind!r}[/red]")
        raise typer.Exit(2)
    _connect(endpoint)
    run = upload_file(file, creditor, wait_seconds=wait, console=console, kind=kind)
    if run is None:
        if wait:
            err.print("[yellow]uploaded; no ingestion result yet (is `saiken local up` running?)[/yellow]")
            raise typer.Exit(1)
        return
    colour = "green" if run.state == "completed" else "red"
    console.print(
        f"[{colour}]{run.state}[/{colour}] {run.file_key}: rows {run.rows} = accepted {run.accepted} + rejected "
        f"{run.rejected}; report s3://.../{run.report_key}"
        + (f"; payments: {', '.join(f'{k} {v}' for k, v in run.outcomes.items())}" if run.outcomes else "")
    )
    if run.error_code:
        err.print(f"[red]{run.error_code}: {run.error_message}[/red]")
        raise typer.Exit(2)


@receivables_app.command("list")
def receivables_list(
    creditor: Annotated[str, typer.Option(help="whose receivables")],
    status: Annotated[str | None, typer.Option(help="only this status")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: EndpointOption = None,
) -> None:
    """A creditor's receivables (first page)."""
    from saiken import wiring
    from saiken.domain.status import ReceivableStatus

    _connect(endpoint)
    wanted = ReceivableStatus(status) if status else None
    items, _ = wiring.receivable_service().page(creditor, limit=limit, status=wanted)
    if as_json:
        print(json.dumps([r.model_dump(mode="json", exclude={"row_hash"}) for r in items], ensure_ascii=False))
        return
    table = Table("receivable", "debtor", "amount", "balance", "due", "status", "segment", title=f"{creditor}")
    for r in items:
        table.add_row(
            r.receivable_id,
            r.debtor_id,
            f"¥{r.amount:,}",
            f"¥{r.balance:,}",
            r.due_date.isoformat(),
            r.status.value,
            r.segment or "",
        )
    console.print(table)


RulesOption = Annotated[Path | None, typer.Option("--rules", help="a rules YAML file (default: the shipped rules)")]


@rules_app.command("preview")
def rules_preview(
    group: Annotated[str, typer.Option("--group", help="the segment to show (A, B, ...)")],
    rules: RulesOption = None,
    first: Annotated[int, typer.Option("--from", help="first day offset")] = -5,
    last: Annotated[int, typer.Option("--to", help="last day offset")] = 10,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The brochure's ○ grid for a segment: channels x days from the due date."""
    from saiken.cli.rules import RulesError, load_rules, preview

    try:
        result = preview(load_rules(rules), group, first, last)
    except RulesError as exc:
        _rules_failed(exc, as_json)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    from rich import box

    days = list(range(first, last + 1))
    table = Table(title=f"group {group}: days from the due date", box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False)
    table.add_column("channel", no_wrap=True, min_width=8)
    for d in days:
        table.add_column(f"{d:+d}" if d else "0", justify="center", no_wrap=True, min_width=3)
    for channel, offsets in result["offsets"].items():
        table.add_row(channel, *("○" if d in offsets else "" for d in days))
    console.print(table)


@rules_app.command("validate")
def rules_validate(
    file: Annotated[Path, typer.Argument(help="rules YAML")],
    templates: Annotated[
        Path | None, typer.Option(help="folder of the creditor's own templates (name.j2)", file_okay=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Check a rules file and render every step with sample data. Exit 0 if usable, 2 if not."""
    from saiken.cli.rules import RulesError, load_rules, load_templates, validate

    try:
        result = validate(load_rules(file), load_templates(templates))
    except RulesError as exc:
        _rules_failed(exc, as_json)
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        colour = "green" if result["valid"] else "red"
        console.print(
            f"[{colour}]{file}: {'valid' if result['valid'] else 'invalid'}[/{colour}] (version {result['version']}, "
            f"segments {', '.join(result['segments'])}, {result['steps']} steps)"
        )
        for name, parts in result["sms_parts"].items():
            console.print(f"  SMS {name}: {parts} part(s) (70 UCS-2 characters, 67 a part when split)")
        for problem in result["problems"]:
            err.print(f"[red]  {problem}[/red]")
    if not result["valid"]:
        raise typer.Exit(2)


@rules_app.command("schema")
def rules_schema() -> None:
    """Print the JSON Schema of a rules file (for editors and CI)."""
    from saiken.domain.rules import RuleSet

    print(json.dumps(RuleSet.model_json_schema(), ensure_ascii=False, indent=2))


def _rules_failed(exc: Exception, as_json: bool) -> None:
    problems = getattr(exc, "problems", [str(exc)])
    if as_json:
        print(json.dumps({"valid": False, "problems": problems}, ensure_ascii=False))
    else:
        for problem in problems:
            err.print(f"[red]{problem}[/red]")
    raise typer.Exit(2)


@app.command()
def plan(
    receivable_id: Annotated[str, typer.Argument(help="the receivable")],
    creditor: Annotated[str, typer.Option(help="whose receivable", envvar="SAIKEN_CREDITOR")],
    all_steps: Annotated[bool, typer.Option("--all", help="the whole calendar, not only what is ahead")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: EndpointOption = None,
) -> None:
    """A receivable's remaining reminder calendar, with the reason for every deferred or skipped step."""
    from saiken import wiring
    from saiken.domain.errors import NotFound

    _connect(endpoint)
    try:
        result = wiring.dunning_service().plan(creditor, receivable_id, whole=all_steps)
    except NotFound:
        err.print(f"[red]receivable {receivable_id!r} not found for creditor {creditor!r}[/red]")
        raise typer.Exit(2) from None
    pending = wiring.schedules().get(creditor, receivable_id)
    result["pending_schedule"] = pending["ScheduleExpression"] if pending else None
    rows = result["steps"]
    if as_json:
        print(json.dumps(result, ensure_ascii=False))
        return
    console.print(
        f"[bold]{receivable_id}[/bold] {result['status']}, due {result['due_date']}, segment {result['segment']}, "
        f"pending schedule: {result['pending_schedule'] or 'none'}"
    )
    table = Table("when (JST)", "channel", "day", "step", "template", "state", "reason")
    for row in rows:
        table.add_row(
            row["at"][:16].replace("T", " "),
            row["channel"],
            f"{row['offset']:+d}",
            str(row["step"]),
            row["template"],
            row["state"],
            row["reason"] or "",
        )
    console.print(table)


@app.command("match")
def match_offline(
    receivables: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="receivables file (intake CSV/TSV)")],
    payments: Annotated[
        Path, typer.Option(exists=True, dir_okay=False, help="payments: Zengin 01/03 (.txt/.dat) or CSV")
    ],
    threshold: Annotated[float, typer.Option(min=50, max=100, help="kana name similarity needed (0-100)")] = 85.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Match payments to receivables offline (no AWS): the same matcher the reconcile function runs."""
    from saiken.cli.payments import match_files

    try:
        result, receivable_errors, payment_errors = match_files(receivables, payments, threshold=threshold)
    except FileError as exc:
        err.print(f"[red]{exc.code}: {exc.message}[/red]")
        raise typer.Exit(2) from exc
    for name, errors in (("receivables", receivable_errors), ("payments", payment_errors)):
        for e in errors:
            err.print(f"[yellow]{name} row {e.row} (line {e.line}) {e.field or ''}: {e.code}: {e.message}[/yellow]")
    if as_json:
        rejected = [
            {"file": name, "row": e.row, "field": e.field, "code": e.code, "message": e.message}
            for name, errors in (("receivables", receivable_errors), ("payments", payment_errors))
            for e in errors
        ]
        print(json.dumps({**result, "rejected": rejected}, ensure_ascii=False))
        return
    table = Table("", "payments", "yen", title="入金消込")
    for key in ("matched", "partial", "unmatched", "reversed", "credits"):
        rows = result[key]
        table.add_row(key, str(len({r["payment_id"] for r in rows})), f"¥{sum(r['amount'] for r in rows):,}")
    console.print(table)
    by_method: dict[str, int] = {}
    for r in result["matched"] + result["partial"]:
        by_method[r["method"]] = by_method.get(r["method"], 0) + 1
    console.print("by method: " + ", ".join(f"{k} {v}" for k, v in sorted(by_method.items())))


@payments_app.command("unmatched")
def payments_unmatched(
    creditor: Annotated[str, typer.Option(help="whose payments", envvar="SAIKEN_CREDITOR")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: EndpointOption = None,
) -> None:
    """The unmatched queue: payments no rule could place, oldest first."""
    from saiken import wiring

    _connect(endpoint)
    queue = wiring.reconcile_service().unmatched(creditor, limit=500)
    if as_json:
        print(json.dumps([p.model_dump(mode="json", exclude={"version"}) for p in queue], ensure_ascii=False))
        return
    table = Table("payment", "paid on", "amount", "payer (kana)", "account", "reference", "reason", title=creditor)
    for p in queue:
        table.add_row(
            p.payment_id,
            p.paid_on.isoformat(),
            f"¥{p.amount:,}",
            p.payer_name_kana or "",
            p.virtual_account or "",
            p.reference or "",
            p.reason or "",
        )
    console.print(table)


@payments_app.command("match")
def payments_match(
    payment_id: Annotated[str, typer.Argument(help="an unmatched payment")],
    receivable_id: Annotated[str, typer.Argument(help="the receivable it pays")],
    creditor: Annotated[str, typer.Option(help="whose payment", envvar="SAIKEN_CREDITOR")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
    endpoint: EndpointOption = None,
) -> None:
    """Apply an unmatched payment to a receivable (then the debtor's older ones, then credit)."""
    from saiken import wiring
    from saiken.domain.errors import NotFound, NotMatchable

    _connect(endpoint)
    try:
        outcome = wiring.reconcile_service().match_manually(creditor, payment_id, receivable_id)
    except (NotFound, NotMatchable) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(outcome.as_dict(), ensure_ascii=False))
        return
    spread = ", ".join(
        f"{a['receivable_id']} ¥{a['amount']:,} (left ¥{a['balance_after']:,})" for a in outcome.allocations
    )
    console.print(
        f"[green]{outcome.state}[/green] {payment_id} ¥{outcome.amount:,}: {spread}"
        + (f"; credit ¥{outcome.credit:,}" if outcome.credit else "")
    )


@app.command()
def generate(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="file to write (.csv or .tsv)")],
    rows: Annotated[int, typer.Option(min=1, help="number of receivables")] = 100_000,
    encoding: Annotated[str, typer.Option(help="cp932, utf-8 or utf-8-sig")] = "cp932",
    seed: Annotated[int, typer.Option(help="same seed, same file")] = 7,
    bad_every: Annotated[int, typer.Option(help="make every Nth row invalid (0: none)")] = 0,
    prefix: Annotated[str, typer.Option(help="prefix for debtor and receivable ids")] = "",
) -> None:
    """Write a realistic (seeded) Japanese receivables file of any size, for load and bench runs."""
    from saiken.samples import write_file

    if encoding not in ("cp932", "utf-8", "utf-8-sig"):
        err.print(f"[red]--encoding must be cp932, utf-8 or utf-8-sig, not {encoding!r}[/red]")
        raise typer.Exit(2)
    delimiter = "\t" if out.suffix.lower() == ".tsv" else ","
    write_file(out, rows, encoding=encoding, seed=seed, bad_every=bad_every, prefix=prefix, delimiter=delimiter)
    console.print(f"wrote {rows:,} rows to {out} ({out.stat().st_size / 1e6:.1f} MB, {encoding})")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="where to write outbox.jsonl, events.jsonl, summary.json")] = Path(
        "demo-output"
    ),
    days: Annotated[int, typer.Option(min=1, max=120, help="days to simulate")] = 45,
    receivables: Annotated[int, typer.Option(min=10, max=20000, help="receivables in the portfolio")] = 1000,
    seed: Annotated[int, typer.Option(help="same seed, same portfolio, same payments")] = 7,
) -> None:
    """The main job on the embedded local AWS: intake, then N days of automated dunning, then the figures."""
    from saiken.cli.demo import run_demo

    summary = run_demo(out, console, days=days, receivables=receivables, seed=seed)
    if any(ok is not True for ok in summary["checks"].values()):
        raise typer.Exit(1)


def main() -> None:
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the CLI prints its own summary
    try:
        app()
    except BrokenPipeError:
        sys.exit(0)
