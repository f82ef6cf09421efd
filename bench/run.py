"""`make bench`: intake throughput against a bare csv.reader on the same file, and handler import times.

Figures are printed, never asserted: timing belongs in benchmarks, not in tests.
"""

from __future__ import annotations

import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from saiken.intake import fields, normalize
from saiken.intake.decode import iter_chunks
from saiken.intake.reader import ReceivableFileReader
from saiken.samples import write_file

ROOT = Path(__file__).resolve().parents[1]
ROWS = int(os.environ.get("BENCH_ROWS", "100000"))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))


def best_of(fn: Callable[[], int]) -> tuple[float, int]:
    """The fastest of REPEAT runs (the least disturbed by the machine), and the row count."""
    times, count = [], 0
    for _ in range(REPEAT):
        start = time.perf_counter()
        count = fn()
        times.append(time.perf_counter() - start)
    return min(times), count


def bare_csv(path: Path) -> int:
    with path.open(encoding="cp932", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def intake_core(path: Path) -> int:
    # Cold caches each run: no credit for phone numbers or emails seen in an earlier run.
    normalize.normalize_phone.cache_clear()
    normalize.normalize_email.cache_clear()
    normalize._valid_jp_shape.cache_clear()
    normalize._amount_text.cache_clear()
    normalize._date_text.cache_clear()
    normalize._kana_text.cache_clear()
    fields._repeating_text.cache_clear()
    fields._postal_text.cache_clear()
    with path.open("rb") as handle:
        reader = ReceivableFileReader(iter_chunks(handle), filename=path.name)
        for _ in reader:
            pass
    assert reader.rows == reader.accepted + reader.rejected
    return reader.rows


def import_time(function: str) -> float:
    code = (
        "import time, sys; sys.path.insert(0, 'layers/shared'); t = time.perf_counter();"
        f"from saiken.local.handlers import load_module; load_module({function!r});"
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "POWERTOOLS_TRACE_DISABLED": "true", "AWS_DEFAULT_REGION": "ap-northeast-1"}
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT, env=env
            ).stdout
        )
        for _ in range(5)
    ]
    return statistics.median(runs)


def planning_throughput(count: int) -> None:
    """Next-slot planning over generated receivables (both groups, due dates spread over a year)."""
    import random
    from datetime import date, datetime, timedelta

    from saiken.adapters.objects import default_rules
    from saiken.domain.models import Receivable
    from saiken.domain.planner import JST, Planner

    planner = Planner(default_rules())
    now = datetime(2026, 12, 4, 10, 30, tzinfo=JST)
    print(f"next-slot planning over {count:,} generated receivables (groups A and B), best of {REPEAT}:")
    for label, spread in (("due dates over a year", (-200, 165)), ("all in their cadence (due -5..+25)", (-25, 5))):
        rng = random.Random(2026)
        receivables = [
            Receivable(
                creditor_id="acme",
                receivable_id=f"R{i:07d}",
                debtor_id=f"D{i % (count // 2 or 1):07d}",
                amount=12000,
                balance=12000,
                due_date=date(2026, 12, 4) - timedelta(days=rng.randint(*spread)),
                segment="AB"[i % 2],
            )
            for i in range(count)
        ]
        seconds, planned = best_of(lambda rs=receivables: sum(1 for r in rs if planner.next_slot(r, now) is not None))
        print(f"  {label:36s} {count / seconds:>10,.0f} receivables/s on one core ({planned:,} with a next slot)")
    print("  (target >= 100,000 receivables/s)")


def send_path_cost(receivables: int, days: int) -> None:
    """Per-reminder cost of the whole send path against moto (in-process): Scheduler firing, SQS,
    the send function (batch reads, guardrails, idempotency, cap, channel, contact record, next schedule)."""
    import collections
    from datetime import date

    import moto.core.botocore_stubber as stubber
    from rich.console import Console

    from saiken.cli.demo import run_demo
    from saiken.local import handlers

    calls: collections.Counter[str] = collections.Counter()
    original = stubber.BotocoreStubber.process_request

    def counting(self, request):  # type: ignore[no-untyped-def]
        calls["all"] += 1
        return original(self, request)

    stubber.BotocoreStubber.process_request = counting  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            summary = run_demo(
                Path(tmp), Console(quiet=True), days=days, receivables=receivables, seed=3, start=date(2026, 12, 4)
            )
            elapsed = time.perf_counter() - start
    finally:
        stubber.BotocoreStubber.process_request = original  # type: ignore[method-assign]
    fired = summary["schedules_fired"]
    sent = summary["reminders_sent"]
    send_s = handlers.busy.get("send", 0.0)
    print(f"send path against moto ({receivables} receivables, {days} days simulated, {elapsed:.1f} s in all):")
    print(f"  {fired:,} schedules fired, {sent:,} reminders delivered, {calls['all']:,} AWS calls in all")
    print(
        f"  send function: {send_s * 1000 / fired:5.1f} ms per fired slot, {send_s * 1000 / max(sent, 1):.1f} ms per "
        f"delivered reminder ({handlers.invocations['send']} invocations of up to 10 slots)"
    )
    print(f"  whole demo: {elapsed / fired * 1000:5.1f} ms and {calls['all'] / fired:.1f} AWS calls per fired slot")
    cases = summary["cases"]
    events, events_s = handlers.invocations["events"], handlers.busy.get("events", 0.0)
    runs, runs_s = cases["escalation_executions"], cases["escalation_seconds"]
    print(f"  events function: {events:,} channel events, {events_s * 1000 / max(events, 1):5.1f} ms each")
    print(f"  escalation: {runs:,} state machine executions in moto, {runs_s * 1000 / max(runs, 1):5.1f} ms each")


def matching_throughput(count: int) -> None:
    """The matcher (入金消込) against a bare dict-join of the same payments onto the same receivables."""
    import random
    from datetime import date, timedelta

    from saiken.domain.payments import Book, Entry, IncomingPayment, Matcher, normalize_kana_name
    from saiken.samples import GIVEN

    rng = random.Random(2026)
    today = date(2026, 12, 4)
    # mostly distinct names, as in a real book: three-syllable surnames x given names
    syllables = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
    given = [g[1] for g in GIVEN]
    debtors = count // 2
    entries, kana = [], {}
    for i in range(count):
        d = i % debtors
        n = len(syllables)
        surname = syllables[d % n] + syllables[(d // n) % n] + syllables[(d // n // n) % n]
        kana[f"D{d}"] = f"{surname} {given[d % len(given)]}"
        entries.append(
            Entry(
                f"R{i}",
                f"D{d}",
                rng.choice([3300, 5500, 12000, 29800, 48000]) + d % 97,
                today + timedelta(days=rng.randint(-30, 30)),
                f"{9000000 + d}",
            )
        )
    payments = []
    for j in range(count):
        e = entries[rng.randrange(count)]
        how = rng.random()
        name = kana[e.debtor_id]
        if how < 0.40:
            payments.append(IncomingPayment(f"P{j}", today, e.balance, virtual_account=e.virtual_account))
        elif how < 0.55:
            payments.append(IncomingPayment(f"P{j}", today, e.balance, reference=e.receivable_id))
        elif how < 0.85:
            payments.append(IncomingPayment(f"P{j}", today, e.balance, payer_name_kana=name))
        elif how < 0.95:
            payments.append(IncomingPayment(f"P{j}", today, e.balance, payer_name_kana=name[:-1]))  # a typo
        else:
            payments.append(IncomingPayment(f"P{j}", today, e.balance, payer_name_kana="ﾀﾞﾚｶ ｼﾗﾅｲ"))

    def baseline() -> int:
        """The simplest join there is: id, else account, else exact name; take what is owed."""
        balance = {e.receivable_id: e.balance for e in entries}
        by_account: dict[str, str] = {}
        by_name: dict[str, str] = {}
        for e in entries:
            by_account.setdefault(e.virtual_account or "", e.receivable_id)
            by_name.setdefault(kana[e.debtor_id], e.receivable_id)
        matched = 0
        for p in payments:
            rid = (
                (p.reference if p.reference in balance else None)
                or by_account.get(p.virtual_account or "")
                or by_name.get(p.payer_name_kana or "")
            )
            if rid is not None:
                balance[rid] = max(0, balance[rid] - p.amount)
                matched += 1
        return matched

    def matcher() -> int:
        normalize_kana_name.cache_clear()
        book = Book.of(
            [Entry(e.receivable_id, e.debtor_id, e.balance, e.due_date, e.virtual_account) for e in entries], kana
        )
        m = Matcher(book)
        matched = 0
        for p in payments:
            result = m.match(p)
            if result.matched:
                book.commit(result)
                matched += 1
        return matched

    def matching_only() -> tuple[float, int]:
        """The match-and-book loop alone, on a book built beforehand (what a file's payments cost
        once the creditor's book is loaded)."""
        book = Book.of(
            [Entry(e.receivable_id, e.debtor_id, e.balance, e.due_date, e.virtual_account) for e in entries], kana
        )
        m = Matcher(book)
        started, matched = time.perf_counter(), 0
        for p in payments:
            result = m.match(p)
            if result.matched:
                book.commit(result)
                matched += 1
        return time.perf_counter() - started, matched

    base_s, base_n = best_of(baseline)
    core_s, core_n = best_of(matcher)
    loop_s = min(matching_only()[0] for _ in range(REPEAT))
    print(
        f"matching {count:,} payments against {count:,} receivables of {debtors:,} debtors "
        f"(40% virtual account, 15% reference, 30% name, 10% mistyped name, 5% unknown payer; "
        f"best of {REPEAT}, indexes built inside both):"
    )
    rate = count / base_s
    print(f"  bare dict-join (id / account / name)  {rate:>10,.0f} payments/s ({base_s:.2f} s, {base_n:,} joined)")
    rate = count / core_s
    print(f"  matcher (4 methods, fuzzy, allocate)  {rate:>10,.0f} payments/s ({core_s:.2f} s, {core_n:,} matched)")
    print(f"  matcher / baseline time               {core_s / base_s:>10.1f}x  (target <= 5x)")
    print(f"  matcher loop alone (book prebuilt)    {count / loop_s:>10,.0f} payments/s ({loop_s:.2f} s)")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = write_file(Path(tmp) / "bench.csv", ROWS, encoding="cp932", seed=2026, bad_every=50)
        size = path.stat().st_size
        print(f"file: {ROWS:,} rows, {size / 1e6:.1f} MB, CP932, 13 columns, 2% bad rows (best of {REPEAT})")
        bare_s, bare_rows = best_of(lambda: bare_csv(path))
        core_s, core_rows = best_of(lambda: intake_core(path))
    print(f"  bare csv.reader (decode + split)        {bare_rows / bare_s:>10,.0f} rows/s  ({bare_s:.2f} s)")
    print(f"  intake core (decode+parse+validate+norm) {core_rows / core_s:>10,.0f} rows/s  ({core_s:.2f} s)")
    print(f"  ratio core / bare                        {bare_s / core_s:>10.3f}  (target >= 0.100)")
    planning_throughput(int(os.environ.get("BENCH_RECEIVABLES", "100000")))
    matching_throughput(int(os.environ.get("BENCH_PAYMENTS", "100000")))
    send_path_cost(int(os.environ.get("BENCH_SEND_RECEIVABLES", "200")), int(os.environ.get("BENCH_SEND_DAYS", "20")))
    print("handler import time (fresh interpreter, median of 5; cold-start proxy):")
    for function in ("ingest", "api", "authorizer", "scheduler", "send", "reconcile", "events"):
        print(f"  functions/{function}/handler.py  {import_time(function) * 1000:>7.0f} ms")


if __name__ == "__main__":
    main()
