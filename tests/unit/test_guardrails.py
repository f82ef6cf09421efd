"""Guardrails: the contact window, holidays, the year-end closure, status and debtor flags."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saiken.domain.guardrails import ContactCalendar, Reason, debtor_reason, receivable_reason
from saiken.domain.models import Debtor, Receivable
from saiken.domain.rules import Channel, GuardrailSettings
from saiken.domain.status import ReceivableStatus

CAL = ContactCalendar(GuardrailSettings())


def o(y: int, m: int, d: int) -> int:
    return date(y, m, d).toordinal()


@pytest.mark.parametrize(
    ("day", "reason"),
    [
        (date(2026, 12, 28), None),
        (date(2026, 12, 29), Reason.YEAR_END_CLOSURE),
        (date(2027, 1, 1), Reason.YEAR_END_CLOSURE),
        (date(2027, 1, 3), Reason.YEAR_END_CLOSURE),
        (date(2027, 1, 4), None),
        (date(2027, 1, 11), Reason.HOLIDAY),  # 成人の日
        (date(2026, 11, 23), Reason.HOLIDAY),  # 勤労感謝の日
        (date(2026, 12, 5), None),  # a Saturday: weekends are open by default
    ],
)
def test_closed_days(day: date, reason: Reason | None) -> None:
    assert CAL.day_reason(day.toordinal()) == reason


def test_weekends_can_be_closed() -> None:
    cal = ContactCalendar(GuardrailSettings(weekends=False))
    assert cal.day_reason(o(2026, 12, 5)) == Reason.WEEKEND


@pytest.mark.parametrize(
    ("minute", "expected"),
    [(7 * 60 + 59, Reason.QUIET_HOURS), (8 * 60, None), (20 * 60 + 59, None), (21 * 60, Reason.QUIET_HOURS)],
)
def test_window_is_08_to_21(minute: int, expected: Reason | None) -> None:
    assert CAL.check(Channel.SMS, o(2026, 12, 7), minute) == expected


def test_email_window_is_configurable() -> None:
    cal = ContactCalendar(GuardrailSettings(email_in_window=False))
    assert cal.check(Channel.EMAIL, o(2026, 12, 7), 23 * 60) is None
    assert cal.check(Channel.SMS, o(2026, 12, 7), 23 * 60) == Reason.QUIET_HOURS


def test_deferral_skips_the_closure_and_keeps_the_time() -> None:
    assert CAL.defer(Channel.EMAIL, o(2026, 12, 30), 9 * 60) == (o(2027, 1, 4), 9 * 60, Reason.YEAR_END_CLOSURE)
    assert CAL.defer(Channel.SMS, o(2026, 12, 28), 22 * 60)[:2] == (o(2027, 1, 4), 8 * 60)
    assert CAL.defer(Channel.SMS, o(2026, 12, 7), 6 * 60) == (o(2026, 12, 7), 8 * 60, Reason.QUIET_HOURS)


@given(st.integers(o(2026, 1, 1), o(2028, 12, 31)), st.integers(0, 24 * 60 - 1), st.sampled_from(list(Channel)))
def test_deferral_always_lands_on_an_open_moment_not_earlier(ordinal: int, minute: int, channel: Channel) -> None:
    day, at, _ = CAL.defer(channel, ordinal, minute)
    assert CAL.check(channel, day, at) is None
    assert (day, at) >= (ordinal, minute)
    assert day - ordinal <= 14


def debtor(**kw: object) -> Debtor:
    base: dict[str, object] = {"creditor_id": "c", "debtor_id": "d", "name": "山田", "phone": "+819012345678"}
    return Debtor.model_validate(base | {"email": "a@example.jp"} | kw)


@pytest.mark.parametrize(
    ("kw", "channel", "reason"),
    [
        ({}, Channel.SMS, None),
        ({"lawyer_retained": True}, Channel.EMAIL, Reason.LAWYER_RETAINED),
        ({"do_not_contact": True}, Channel.IVR, Reason.DO_NOT_CONTACT),
        ({"opt_outs": ["sms"]}, Channel.SMS, Reason.OPTED_OUT),
        ({"opt_outs": ["sms"]}, Channel.EMAIL, None),
        ({"email": None}, Channel.EMAIL, Reason.NO_EMAIL),
        ({"phone": None}, Channel.IVR, Reason.NO_PHONE),
        ({"phone": "+81312345678"}, Channel.SMS, Reason.NOT_MOBILE),  # 03: a landline takes calls, not SMS
        ({"phone": "+81312345678"}, Channel.IVR, None),
    ],
)
def test_debtor_reasons(kw: dict[str, object], channel: Channel, reason: Reason | None) -> None:
    assert debtor_reason(debtor(**kw), channel) == reason


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ReceivableStatus.OPEN, None),
        (ReceivableStatus.PARTIALLY_PAID, None),
        (ReceivableStatus.PAID, Reason.PAID),
        (ReceivableStatus.CANCELLED, Reason.CANCELLED),
        (ReceivableStatus.DISPUTED, Reason.DISPUTED),
        (ReceivableStatus.ON_HOLD, Reason.ON_HOLD),
        (ReceivableStatus.WRITTEN_OFF, Reason.WRITTEN_OFF),
        (ReceivableStatus.PROMISED, Reason.PROMISED),
    ],
)
def test_status_reasons(status: ReceivableStatus, reason: Reason | None) -> None:
    r = Receivable(
        creditor_id="c",
        receivable_id="r",
        debtor_id="d",
        amount=1,
        balance=1,
        due_date=date(2026, 12, 1),
        status=status,
    )
    assert receivable_reason(r, date(2026, 12, 5)) == reason


def test_a_promise_holds_until_its_date_plus_grace() -> None:
    r = Receivable(
        creditor_id="c",
        receivable_id="r",
        debtor_id="d",
        amount=1,
        balance=1,
        due_date=date(2026, 12, 1),
        status=ReceivableStatus.PROMISED,
        promised_until=date(2026, 12, 10),
    )
    assert receivable_reason(r, date(2026, 12, 10)) == Reason.PROMISED
    assert receivable_reason(r, date(2026, 12, 11)) is None
    assert receivable_reason(r, date(2026, 12, 11), grace_days=2) == Reason.PROMISED
