"""Messages: Japanese templates in the creditor's name; SMS measured in UCS-2 segments."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saiken.adapters.objects import default_rules
from saiken.domain.messages import Renderer, sms_size, wareki
from saiken.domain.models import Debtor, Receivable
from saiken.domain.planner import JST, Planner
from saiken.domain.rules import Channel, Sender


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("あ" * 70, "UCS-2", 1),
        ("あ" * 71, "UCS-2", 2),
        ("あ" * 134, "UCS-2", 2),
        ("あ" * 135, "UCS-2", 3),
        ("Pay 1000 yen" + "円", "UCS-2", 1),
        ("😀" * 35, "UCS-2", 1),  # outside the BMP: two units each
        ("😀" * 36, "UCS-2", 2),
    ],
)
def test_sms_segments(text: str, encoding: str, parts: int) -> None:
    size = sms_size(text)
    assert (size.encoding, size.parts) == (encoding, parts)


@given(st.text(min_size=1, max_size=700))
def test_segments_cover_the_text(text: str) -> None:
    size = sms_size(text)
    per_part = (160 if size.parts == 1 else 153) if size.encoding == "GSM-7" else (70 if size.parts == 1 else 67)
    assert (size.parts - 1) * per_part < size.units <= size.parts * per_part


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2026, 12, 4), "令和8年12月4日"),
        (date(2019, 4, 30), "平成31年4月30日"),
    ],
)
def test_wareki(d: date, text: str) -> None:
    assert wareki(d) == text


def test_every_channel_speaks_japanese_in_the_creditors_name() -> None:
    planner = Planner(default_rules())
    r = Receivable(
        creditor_id="acme",
        receivable_id="R1",
        debtor_id="D1",
        amount=12345,
        balance=12345,
        due_date=date(2026, 12, 25),
        segment="A",
    )
    d = Debtor(creditor_id="acme", debtor_id="D1", name="山田 太郎", phone="+819012345678", email="t@example.jp")
    sender = Sender(name="アクメカード株式会社", phone="0120-000-000")
    seen = set()
    for step in planner.calendar_for(r):
        message = Renderer().render(step, r, d, sender)
        seen.add(step.channel)
        assert "アクメカード株式会社" in (message.subject or "") + message.body
        if step.channel is Channel.EMAIL:
            assert "山田 太郎 様" in message.body and "12,345円" in message.body
        if step.channel is Channel.SMS:
            assert message.sms is not None and message.sms.parts == 1
            assert "12,345" not in message.body  # an SMS can be read by anyone holding the phone
    assert seen == set(Channel)


def test_a_creditors_own_template_wins() -> None:
    planner = Planner(default_rules())
    r = Receivable(
        creditor_id="acme",
        receivable_id="R1",
        debtor_id="D1",
        amount=500,
        balance=500,
        due_date=date(2026, 12, 25),
        segment="B",
    )
    d = Debtor(creditor_id="acme", debtor_id="D1", name="山田", phone="+819012345678", email="t@example.jp")
    step = next(s for s in planner.calendar_for(r) if s.channel is Channel.SMS)
    own = Renderer({"acme": {"sms_reminder": "【{{ sender.name }}】{{ balance | yen }}のお支払いをお願いします"}})
    assert own.render(step, r, d, Sender(name="ACME")).body == "【ACME】500円のお支払いをお願いします"
    assert step.at == datetime(2026, 12, 26, 12, 0, tzinfo=JST)
