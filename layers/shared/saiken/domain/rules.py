"""Dunning rules (督促ルール): segments, per-channel cadences keyed to the due date, guardrail settings.

A rule set is a versioned YAML document per creditor, validated here; its JSON Schema is
exported for users (``saiken rules schema``). The brochure's Group A / Group B tables ship as
the default rule set (saiken/rules/default.yaml).
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from saiken.domain.models import Receivable


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    IVR = "ivr"


CHANNEL_ORDER: dict[Channel, int] = {Channel.EMAIL: 0, Channel.SMS: 1, Channel.IVR: 2}

_NAME = r"^[A-Za-z0-9_-]{1,32}$"
_TEMPLATE = r"^[a-z0-9_/-]{1,80}$"


class Cadence(BaseModel):
    """One channel's rhythm inside a segment: every ``every`` days from ``start`` to ``until``
    (days relative to the due date; negative = before it)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    channel: Channel
    start: int = Field(ge=-90, le=365, description="first day, relative to the due date")
    every: int = Field(default=1, ge=1, le=365, description="days between steps")
    until: int = Field(ge=-90, le=365, description="last possible day, relative to the due date")
    at: time | None = Field(default=None, description="send time (JST); default: the segment's send_time")
    template: str | None = Field(default=None, pattern=_TEMPLATE, description="default: '{channel}_reminder'")
    step_templates: dict[int, str] = Field(
        default_factory=dict, description="day offset -> template, for steps that need their own wording"
    )

    @model_validator(mode="after")
    def _span(self) -> Self:
        if self.until < self.start:
            raise ValueError(f"{self.channel.value}: until ({self.until}) is before start ({self.start})")
        stray = sorted(o for o in self.step_templates if o not in self.offsets())
        if stray:
            raise ValueError(f"{self.channel.value}: step_templates name days that are not steps: {stray}")
        return self

    def offsets(self) -> range:
        return range(self.start, self.until + 1, self.every)

    def template_for(self, offset: int) -> str:
        return self.step_templates.get(offset) or self.template or f"{self.channel.value}_reminder"


class Conditions(BaseModel):
    """When a segment applies. Every condition given must hold; an empty block never matches
    (such a segment is reached by its name in the receivable's ``segment`` column or as the default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    segments: list[str] = Field(default_factory=list, description="values of the receivable's segment column")
    products: list[str] = Field(default_factory=list)
    amount_min: int | None = Field(default=None, ge=0, description="yen, inclusive (on the balance)")
    amount_max: int | None = Field(default=None, ge=0, description="yen, inclusive (on the balance)")
    score_min: float | None = Field(default=None, ge=0, le=1)
    score_max: float | None = Field(default=None, ge=0, le=1)
    stages: list[str] = Field(default_factory=list, description="escalation stages")

    def is_empty(self) -> bool:
        return self == Conditions()

    def matches(self, r: Receivable) -> bool:
        if self.is_empty():
            return False
        checks = (
            not self.segments or r.segment in self.segments,
            not self.products or r.product in self.products,
            self.amount_min is None or r.balance >= self.amount_min,
            self.amount_max is None or r.balance <= self.amount_max,
            self.score_min is None or (r.score is not None and r.score >= self.score_min),
            self.score_max is None or (r.score is not None and r.score <= self.score_max),
            not self.stages or r.stage in self.stages,
        )
        return all(checks)


class Segment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    label: str = ""
    when: Conditions = Field(default_factory=Conditions)
    send_time: time = Field(default=time(9, 0), description="JST, for every cadence without its own 'at'")
    cadences: list[Cadence] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_cadence_per_channel(self) -> Self:
        channels = [c.channel for c in self.cadences]
        duplicates = sorted({c.value for c in channels if channels.count(c) > 1})
        if duplicates:
            raise ValueError(f"segment {self.name}: more than one cadence for {', '.join(duplicates)}")
        return self

    def send_time_for(self, cadence: Cadence) -> time:
        return cadence.at or self.send_time

    def cadence(self, channel: Channel) -> Cadence | None:
        return next((c for c in self.cadences if c.channel == channel), None)


class GuardrailSettings(BaseModel):
    """Japanese contact rules, applied when planning and again at the moment of sending."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_start: time = Field(default=time(8, 0), description="earliest contact (JST), inclusive")
    window_end: time = Field(default=time(21, 0), description="contact must happen before this (JST)")
    email_in_window: bool = Field(default=True, description="hold email to the same window as SMS and calls")
    daily_cap: int = Field(default=3, ge=1, le=10, description="contacts per debtor per day, all channels")
    public_holidays: bool = True
    year_end_closure: bool = Field(default=True, description="no contact from 12/29 to 1/3")
    weekends: bool = Field(default=True, description="false = no contact on Saturdays and Sundays")
    promise_grace_days: int = Field(default=0, ge=0, le=30, description="days after a promised date before resuming")

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.window_start < time(8, 0) or self.window_end > time(21, 0):
            raise ValueError("the contact window must stay within 08:00-21:00 (貸金業法21条1項1号)")
        return self


class Sender(BaseModel):
    """Who the debtor sees: always the creditor, never the platform (弁護士法72条 / サービサー法)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=80)
    email: str | None = None
    phone: str | None = Field(default=None, description="callback number shown in messages")
    sms_origin: str | None = Field(default=None, description="SMS origination identity (sender id or number)")


class WriteOffPolicy(BaseModel):
    """When an unpaid receivable is written off (償却), checked by the daily job.

    Written off when it is at least ``days_past_due`` days past due, or has reached one of
    ``stages``; and its balance is at least ``min_balance`` (smaller remainders are left for
    the creditor to settle as they see fit). With neither trigger set, nothing is written off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    days_past_due: int | None = Field(default=None, ge=1, description="write off this many days after the due date")
    stages: list[str] = Field(default_factory=list, description="write off on reaching one of these stages")
    min_balance: int = Field(default=1, ge=1, description="only balances of at least this many yen")

    def applies(self, r: Receivable, today: date) -> bool:
        if r.status.is_closed or r.balance < self.min_balance:
            return False
        overdue = self.days_past_due is not None and (today - r.due_date).days >= self.days_past_due
        return overdue or (r.stage is not None and r.stage in self.stages)


class Stage(BaseModel):
    """One escalation stage: reached ``after`` days past the due date (at the policy's time), if the
    receivable is still unpaid and not held; its dunning then follows ``segment``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=_NAME)
    after: int = Field(ge=1, le=3650, description="days after the due date")
    segment: str | None = Field(default=None, description="the cadence from this stage on (None: keep the current)")
    worklist: bool = Field(default=False, description="put the receivable on the collector worklist")
    handoff: bool = Field(default=False, description="hand it to the agency / legal queue")


class BrokenPromise(StrEnum):
    RESUME = "resume"  # dunning resumes at the next step of the cadence
    ESCALATE = "escalate"  # and the next stage starts at once


class EscalationPolicy(BaseModel):
    """soft -> hard -> final notice -> collector worklist -> agency/legal hand-off (write-off: the
    write-off policy). Stages only move forward."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    stages: list[Stage] = Field(default_factory=list)
    at: time = Field(default=time(10, 0), description="JST time of day a stage boundary fires")
    on_broken_promise: BrokenPromise = BrokenPromise.RESUME
    broken_promise_worklist: bool = Field(default=True, description="a broken promise puts it on the worklist")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        names = [st.name for st in self.stages]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"stage names must be unique: {', '.join(duplicates)}")
        days = [st.after for st in self.stages]
        if days != sorted(set(days)):
            raise ValueError(f"stages must come in order of 'after', each later than the one before: {days}")
        return self

    def rank(self, name: str | None) -> int:
        """1-based position of a stage (0: none yet or unknown)."""
        for index, st in enumerate(self.stages, start=1):
            if st.name == name:
                return index
        return 0

    def stage(self, name: str | None) -> Stage | None:
        return next((st for st in self.stages if st.name == name), None)

    def after(self, rank: int) -> tuple[int, Stage] | None:
        """The stage that follows ``rank`` (and its rank), if any."""
        return (rank + 1, self.stages[rank]) if rank < len(self.stages) else None


class RuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(ge=1, description="bump on every change; recorded with each contact")
    name: str = ""
    sender: Sender | None = None
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    default_segment: str
    segments: list[Segment] = Field(min_length=1)
    writeoff: WriteOffPolicy | None = Field(default=None, description="償却 policy (none: never automatic)")
    escalation: EscalationPolicy = Field(default_factory=EscalationPolicy)
    limitation_warning_days: int = Field(default=90, ge=1, le=730, description="report limitation dates this close")

    @field_validator("segments")
    @classmethod
    def _unique(cls, segments: list[Segment]) -> list[Segment]:
        names = [s.name for s in segments]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"segment names must be unique: {', '.join(duplicates)}")
        return segments

    @model_validator(mode="after")
    def _default_exists(self) -> Self:
        if self.segment(self.default_segment) is None:
            raise ValueError(f"default_segment {self.default_segment!r} is not one of the segments")
        for seg in self.segments:
            for cadence in seg.cadences:
                at = seg.send_time_for(cadence)
                windowed = cadence.channel != Channel.EMAIL or self.guardrails.email_in_window
                if windowed and not (self.guardrails.window_start <= at < self.guardrails.window_end):
                    raise ValueError(
                        f"segment {seg.name} {cadence.channel.value}: send time {at:%H:%M} is outside "
                        f"the contact window {self.guardrails.window_start:%H:%M}-"
                        f"{self.guardrails.window_end:%H:%M}"
                    )
        return self

    @model_validator(mode="after")
    def _stage_segments(self) -> Self:
        for st in self.escalation.stages:
            if st.segment is not None and self.segment(st.segment) is None:
                raise ValueError(f"escalation stage {st.name}: segment {st.segment!r} is not one of the segments")
        return self

    def segment(self, name: str) -> Segment | None:
        return next((s for s in self.segments if s.name == name), None)

    def select(self, r: Receivable) -> Segment:
        """An escalation stage with its own segment wins; then the receivable's segment column naming a
        segment; then the first segment whose conditions hold; then the default."""
        stage = self.escalation.stage(r.stage) if r.stage else None
        if stage is not None and stage.segment:
            staged = self.segment(stage.segment)
            if staged is not None:
                return staged
        if r.segment:
            named = self.segment(r.segment)
            if named is not None:
                return named
        for seg in self.segments:
            if seg.when.matches(r):
                return seg
        default = self.segment(self.default_segment)
        assert default is not None  # checked by _default_exists
        return default

    def templates(self) -> set[str]:
        names: set[str] = set()
        for seg in self.segments:
            for cadence in seg.cadences:
                names.update(cadence.template_for(o) for o in cadence.offsets())
        return names

    @classmethod
    def from_yaml(cls, text: str) -> RuleSet:
        import yaml

        data: Any = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError("a rules file is a YAML mapping (version, default_segment, segments, ...)")
        return cls.model_validate(data)


class CreditorConfig(BaseModel):
    """What the dunning path needs of a creditor: its rules and its own templates (name -> source)."""

    model_config = ConfigDict(frozen=True)

    rules: RuleSet
    templates: dict[str, str] = Field(default_factory=dict)


def grid(segment: Segment, first: int = -5, last: int = 10) -> dict[Channel, list[int]]:
    """The brochure's ○ grid: for each channel of the segment, the day offsets in [first, last] with a step."""
    out: dict[Channel, list[int]] = {ch: [] for ch in Channel}
    for cadence in segment.cadences:
        out[cadence.channel] = [o for o in cadence.offsets() if first <= o <= last]
    return out
