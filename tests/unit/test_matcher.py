"""The matcher (入金消込): methods in order of confidence, allocation, credits, and the
properties that must hold for any book and any stream of payments."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from saiken.domain.payments import (
    Book,
    Entry,
    IncomingPayment,
    Matcher,
    Method,
    Reconciliation,
    Reversal,
    normalize_kana_name,
)

DAY = date(2026, 11, 13)


def _book() -> Book:
    return Book.of(
        [
            Entry("R1", "D1", 10000, date(2026, 10, 1), virtual_account="7654321"),
            Entry("R2", "D1", 5000, date(2026, 11, 1)),
            Entry("R3", "D2", 7000, date(2026, 10, 5)),
            Entry("R4", "D3", 7000, date(2026, 10, 6)),
            Entry("R5", "D4", 30000, date(2026, 10, 7)),
        ],
        {
            "D1": "ヤマダ タロウ",
            "D2": "スズキ ハナコ",
            "D3": "タナカ イチロウ",
            "D4": "カブシキガイシャ ヤマダショウジ",
        },
    )


def _pay(amount: int, **hints: str) -> IncomingPayment:
    return IncomingPayment("P1", DAY, amount, **hints)


def test_corporate_marks_small_kana_and_width_all_fold_to_one_spelling() -> None:
    spellings = ["ｶ)ﾔﾏﾀﾞｼﾖｳｼﾞ", "ヤマダショウジ（カ", "ヤマダ ショウジ", "カブシキガイシャ　ヤマダショウジ", "ﾔﾏﾀﾞｼﾖｳｼﾞ(ｶ)"]
    assert {normalize_kana_name(s) for s in spellings} == {"ヤマダシヨウジ"}
    assert normalize_kana_name("ﾊﾂﾄﾘ ﾘｮｳ") == normalize_kana_name("はっとり りょう")


def test_reference_wins_and_the_rest_goes_to_older_debts_then_credit() -> None:
    m = Matcher(_book()).match(_pay(20000, reference="r2", payer_name_kana="ｽｽﾞｷ ﾊﾅｺ"))
    assert m.method is Method.REFERENCE and m.confidence == 1.0
    assert [(a.receivable_id, a.amount, a.balance_after) for a in m.allocations] == [("R2", 5000, 0), ("R1", 10000, 0)]
    assert m.credit == 5000


def test_virtual_account_pays_oldest_first_and_partially() -> None:
    m = Matcher(_book()).match(_pay(12000, virtual_account="0007654321"))  # zero-padded by the bank
    assert m.method is Method.VIRTUAL_ACCOUNT
    assert [(a.receivable_id, a.balance_after) for a in m.allocations] == [("R1", 0), ("R2", 3000)]
    assert m.partial and m.credit == 0


def test_known_debtor_with_exact_balance() -> None:
    m = Matcher(_book()).match(_pay(7000, payer_name_kana="ｽｽﾞｷ ﾊﾅｺ"))
    assert (m.method, m.debtor_id, m.allocations[0].receivable_id) == (Method.AMOUNT_DEBTOR, "D2", "R3")
    whole = Matcher(_book()).match(_pay(15000, payer_name_kana="ﾔﾏﾀﾞ ﾀﾛｳ"))  # the debtor's total
    assert whole.method is Method.AMOUNT_DEBTOR and whole.applied == 15000 and not whole.partial


def test_a_mistyped_corporate_name_matches_by_similarity_and_amount() -> None:
    m = Matcher(_book()).match(_pay(30000, payer_name_kana="ｶ)ﾔﾏﾀﾞｼﾖｳｼ"))  # last dakuten lost
    assert m.method is Method.NAME_AMOUNT and m.debtor_id == "D4"
    assert 0.6 < m.confidence < 0.8


def test_below_the_threshold_or_no_hint_goes_to_the_unmatched_queue() -> None:
    far = Matcher(_book()).match(_pay(7000, payer_name_kana="ｽｽﾞｷ ｲﾁﾛｳ"))  # half of two names, neither close
    assert not far.matched and far.reason == "below_threshold" and far.allocations == ()
    stranger = Matcher(_book()).match(_pay(7000, payer_name_kana="ﾜﾀﾅﾍﾞ ｹﾝ"))
    assert stranger.reason == "no_candidate" and stranger.allocations == ()
    nothing = Matcher(_book()).match(_pay(7000))
    assert nothing.reason == "no_candidate"
    wrong_amount = Matcher(_book()).match(_pay(6999, payer_name_kana="ｽｽﾞｷ ﾊﾅｺ"))
    assert wrong_amount.reason == "amount_mismatch"


def test_two_equally_good_debtors_are_ambiguous() -> None:
    book = Book.of([Entry("X1", "A", 5000, DAY), Entry("X2", "B", 5000, DAY)], {"A": "サトウ ケン", "B": "サトウ ケン"})
    assert Matcher(book).match(_pay(5000, payer_name_kana="ｻﾄｳ ｹﾝ")).reason == "ambiguous"


def test_manual_match_puts_the_named_receivable_first() -> None:
    m = Matcher(_book()).manual(_pay(6000), "R2")
    assert m.method is Method.MANUAL
    assert [(a.receivable_id, a.amount) for a in m.allocations] == [("R2", 5000), ("R1", 1000)]


def test_cancellation_reverses_once() -> None:
    run = Reconciliation(Matcher(_book()))
    run.take(IncomingPayment("P1", DAY, 12000, virtual_account="7654321"))
    first = run.take(IncomingPayment("C1", DAY, 12000, cancels="P1"))
    again = run.take(IncomingPayment("C2", DAY, 12000, cancels="P1"))
    assert isinstance(first, Reversal) and first.done
    assert isinstance(again, Reversal) and again.reason == "already_reversed"
    assert run.matcher.book.entries["R1"].balance == 10000 and run.matcher.book.entries["R2"].balance == 5000


# --- properties --------------------------------------------------------------------------

NAMES = ["ヤマダ タロウ", "スズキ ハナコ", "タナカ イチロウ", "サトウ ケン", "カ)イトウシヨウジ", "ワタナベ ユウ"]


@st.composite
def books_and_payments(draw: st.DrawFn) -> tuple[list[Entry], dict[str, str], list[IncomingPayment]]:
    debtors = [f"D{i}" for i in range(draw(st.integers(1, 6)))]
    names = {d: draw(st.sampled_from(NAMES)) for d in debtors}
    entries = []
    for i in range(draw(st.integers(1, 15))):
        debtor = draw(st.sampled_from(debtors))
        entries.append(
            Entry(
                f"R{i}",
                debtor,
                draw(st.integers(0, 50_000)),
                DAY + timedelta(days=draw(st.integers(-60, 30))),
                virtual_account=draw(st.none() | st.just(f"9{debtors.index(debtor):06d}")),
            )
        )
    payments: list[IncomingPayment] = []
    for j in range(draw(st.integers(0, 20))):
        if payments and draw(st.integers(0, 9)) == 0:
            target = draw(st.sampled_from(payments))
            if target.cancels is None:
                payments.append(IncomingPayment(f"C{j}", DAY, target.amount, cancels=target.payment_id))
                continue
        known = draw(st.sampled_from(entries))
        payments.append(
            IncomingPayment(
                f"P{j}",
                DAY,
                draw(st.sampled_from([known.balance or 1, draw(st.integers(1, 80_000))])),
                payer_name_kana=draw(st.none() | st.sampled_from([*NAMES, "ﾔﾏﾀﾞ ﾀﾛ", "ｽｽﾞｷ ﾊﾅｺ"])),
                virtual_account=draw(st.none() | st.just(known.virtual_account or "0000000")),
                reference=draw(st.none() | st.just(known.receivable_id) | st.just("NOPE")),
            )
        )
    if payments and draw(st.booleans()):
        payments.append(draw(st.sampled_from(payments)))  # delivered twice
    return entries, names, payments


def _run(entries: list[Entry], names: dict[str, str], payments: list[IncomingPayment]) -> Reconciliation:
    book = Book.of(
        [Entry(e.receivable_id, e.debtor_id, e.balance, e.due_date, e.virtual_account) for e in entries], names
    )
    run = Reconciliation(Matcher(book))
    for p in payments:
        run.take(p)
    return run


@given(books_and_payments())
def test_money_is_conserved_and_no_balance_goes_negative(
    case: tuple[list[Entry], dict[str, str], list[IncomingPayment]],
) -> None:
    entries, names, payments = case
    run = _run(entries, names, payments)
    book = run.matcher.book
    effective = [m for pid, m in run.results.items() if pid not in run.reversals]
    money_in = sum(m.amount for m in effective)
    applied = sum(m.applied for m in effective)
    credits = sum(m.credit for m in effective)
    unmatched = sum(m.amount for m in effective if not m.matched)
    assert applied + credits + unmatched == money_in
    for m in run.results.values():
        assert (m.applied + m.credit == m.amount) if m.matched else (m.allocations == () and m.credit == 0)
    for e in entries:
        after = book.entries[e.receivable_id].balance
        assert 0 <= after <= e.balance
    # what left the balances is exactly what was applied and not reversed
    assert sum(e.balance for e in entries) - sum(b.balance for b in book.entries.values()) == applied


@given(books_and_payments())
def test_matching_is_deterministic(case: tuple[list[Entry], dict[str, str], list[IncomingPayment]]) -> None:
    entries, names, payments = case
    first, second = _run(entries, names, payments), _run(entries, names, payments)
    assert first.results == second.results
    assert {k: e.balance for k, e in first.matcher.book.entries.items()} == {
        k: e.balance for k, e in second.matcher.book.entries.items()
    }


@given(books_and_payments())
def test_cancelling_every_payment_restores_every_balance(
    case: tuple[list[Entry], dict[str, str], list[IncomingPayment]],
) -> None:
    entries, names, payments = case
    run = _run(entries, names, [p for p in payments if p.cancels is None])
    for pid, match in list(run.results.items()):
        assert isinstance(run.take(IncomingPayment(f"X-{pid}", DAY, match.amount, cancels=pid)), Reversal)
        again = run.take(IncomingPayment(f"Y-{pid}", DAY, match.amount, cancels=pid))
        assert isinstance(again, Reversal) and not again.done  # a second cancellation changes nothing
    assert {e.receivable_id: e.balance for e in entries} == {k: e.balance for k, e in run.matcher.book.entries.items()}


@given(books_and_payments())
def test_a_payment_seen_twice_is_matched_once(case: tuple[list[Entry], dict[str, str], list[IncomingPayment]]) -> None:
    entries, names, payments = case
    plain = [p for p in payments if p.cancels is None]
    once = _run(entries, names, plain)
    twice = _run(entries, names, plain + plain)
    assert {k: e.balance for k, e in once.matcher.book.entries.items()} == {
        k: e.balance for k, e in twice.matcher.book.entries.items()
    }


def test_a_lost_dakuten_still_finds_the_payer() -> None:
    book = Book.of([Entry("X1", "A", 7000, DAY), Entry("X2", "B", 9000, DAY)], {"A": "スズキ", "B": "サトウ"})
    m = Matcher(book).match(_pay(7000, payer_name_kana="ｽｽｷ"))  # ｽｽﾞｷ without its ﾞ
    assert m.method is Method.NAME_AMOUNT and m.debtor_id == "A"


def test_two_close_names_are_ambiguous_not_a_guess() -> None:
    book = Book.of(
        [Entry("X1", "A", 5000, DAY), Entry("X2", "B", 5000, DAY)], {"A": "サトウ ケンタ", "B": "サトウ ケンタロウ"}
    )
    m = Matcher(book).match(_pay(5000, payer_name_kana="ｻﾄｳ ｹﾝﾀﾛ"))  # 92 against one, 93 against the other
    assert not m.matched and m.reason == "ambiguous"


def test_namesakes_never_let_the_amount_decide() -> None:
    """Two debtors named コバヤシ ダイスケ: one owes 14,900 (after paying half), the other 29,800 and
    pays half of it by name. The amount fits only the first, who is not the payer: an operator decides."""
    book = Book.of(
        [Entry("X1", "A", 14_900, DAY), Entry("X2", "B", 29_800, DAY)],
        {"A": "コバヤシ ダイスケ", "B": "コバヤシ ダイスケ"},
    )
    for kana in ("ｺﾊﾞﾔｼ ﾀﾞｲｽｹ", "ｺﾊﾞﾔﾔｼ ﾀﾞｲｽｹ"):  # exact, and with a slip
        m = Matcher(book).match(_pay(14_900, payer_name_kana=kana))
        assert not m.matched and m.reason == "ambiguous", kana
    # a namesake with nothing left open is not a candidate payer
    book.set_balance("X2", 0)
    assert Matcher(book).match(_pay(14_900, payer_name_kana="ｺﾊﾞﾔｼ ﾀﾞｲｽｹ")).method is Method.AMOUNT_DEBTOR
