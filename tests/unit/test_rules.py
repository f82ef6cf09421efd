"""Rules files: the brochure's groups exactly, and clear errors for bad files."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from saiken.adapters.objects import default_rules
from saiken.domain.models import Receivable
from saiken.domain.rules import Channel, RuleSet, grid

BROCHURE = {
    "A": {
        "email": list(range(-5, 11)),
        "sms": [-5, -2, 1, 4, 7, 10],
        "ivr": [1, 7],
    },
    "B": {
        "email": list(range(1, 11)),
        "sms": [1, 4, 7, 10],
        "ivr": [10],
    },
}


@pytest.mark.parametrize("group", ["A", "B"])
def test_default_rules_are_the_brochure_grid(group: str) -> None:
    segment = default_rules().segment(group)
    assert segment is not None
    assert {ch.value: offsets for ch, offsets in grid(segment).items()} == BROCHURE[group]


def test_cadences_run_to_plus_30_then_stop() -> None:
    a = default_rules().segment("A")
    assert a is not None
    ivr = a.cadence(Channel.IVR)
    assert ivr is not None and list(ivr.offsets()) == [1, 7, 13, 19, 25]
    b = default_rules().segment("B")
    assert b is not None
    assert max(grid(b, -5, 60)[Channel.IVR]) == 30


def receivable(**kw: object) -> Receivable:
    base: dict[str, object] = {
        "creditor_id": "c",
        "receivable_id": "r",
        "debtor_id": "d",
        "amount": 10000,
        "balance": 10000,
        "due_date": date(2026, 12, 10),
    }
    return Receivable.model_validate(base | kw)


RULES = """
version: 3
default_segment: soft
segments:
  - name: soft
    cadences: [{channel: email, start: 1, every: 2, until: 9}]
  - name: big
    when: {amount_min: 100000, products: [loan]}
    cadences: [{channel: ivr, start: 1, every: 1, until: 5}]
  - name: risky
    when: {score_max: 0.3}
    cadences: [{channel: sms, start: 0, every: 1, until: 3}]
"""


def test_segments_are_chosen_by_name_then_conditions_then_default() -> None:
    rules = RuleSet.from_yaml(RULES)
    assert rules.select(receivable(segment="risky", balance=500000, product="loan")).name == "risky"
    assert rules.select(receivable(balance=500000, amount=500000, product="loan")).name == "big"
    assert rules.select(receivable(balance=500000, amount=500000, product="card")).name == "soft"
    assert rules.select(receivable(score=0.2)).name == "risky"
    assert rules.select(receivable(score=None)).name == "soft"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("version: 1\ndefault_segment: x\nsegments: []", "at least 1"),
        (
            "version: 1\ndefault_segment: nope\nsegments: "
            "[{name: a, cadences: [{channel: email, start: 1, until: 2}]}]",
            "default_segment 'nope'",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: fax, start: 1, until: 2}]}]",
            "channel",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 5, until: 2}]}]",
            "until (2) is before start (5)",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, send_time: '22:00', cadences: "
            "[{channel: sms, start: 1, until: 2}]}]",
            "outside the contact window",
        ),
        (
            "version: 1\ndefault_segment: a\nguardrails: {window_end: '22:00'}\nsegments: [{name: a, cadences: "
            "[{channel: sms, start: 1, until: 2}]}]",
            "08:00-21:00",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 1, until: 2}, "
            "{channel: sms, start: 3, until: 4}]}]",
            "more than one cadence for sms",
        ),
        ("- just a list", "YAML mapping"),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 1, until: 2}]}]\n"
            "escalation: {stages: [{name: hard, after: 60}, {name: final, after: 30}]}",
            "stages must come in order of 'after'",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 1, until: 2}]}]\n"
            "escalation: {stages: [{name: hard, after: 30, segment: nope}]}",
            "escalation stage hard: segment 'nope' is not one of the segments",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 1, until: 2}]}]\n"
            "escalation: {stages: [{name: hard, after: 30}, {name: hard, after: 60}]}",
            "stage names must be unique: hard",
        ),
        (
            "version: 1\ndefault_segment: a\nsegments: [{name: a, cadences: [{channel: sms, start: 1, until: 2}]}]\n"
            "escalation: {on_broken_promise: forget}",
            "on_broken_promise",
        ),
    ],
)
def test_bad_rules_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises((ValidationError, ValueError)) as err:
        RuleSet.from_yaml(text)
    assert message in str(err.value)


def test_json_schema_is_exported() -> None:
    schema = RuleSet.model_json_schema()
    assert {"version", "segments", "default_segment"} <= set(schema["properties"])
