"""Guardrails (Japan first): when a reminder may reach a debtor, and when it must not.

Pure functions over the rules' GuardrailSettings, the receivable and the debtor. The planner
applies them to predict the calendar; the send path applies them again at the moment of
sending (DESIGN.md 3.7): planning is a prediction, sending is the decision.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from functools import lru_cache

from saiken.domain.models import Debtor, Receivable
from saiken.domain.rules import Channel, GuardrailSettings
from saiken.domain.status import ReceivableStatus


class Reason(StrEnum):
    """Why a step was deferred or skipped (recorded with every suppressed contact)."""

    QUIET_HOURS = "quiet_hours"  # 21:00-08:00 JST (貸金業法21条1項1号)
    HOLIDAY = "holiday"  # Japanese public holiday
    YEAR_END_CLOSURE = "year_end_closure"  # 12/29-1/3
    WEEKEND = "weekend"  # only when the rules turn weekends off
    DAILY_CAP = "daily_cap"  # the debtor already had the day's contacts
    OPTED_OUT = "opted_out"
    BOUNCED = "bounced"  # the channel cannot reach the debtor (hard bounce, invalid number)
    DO_NOT_CONTACT = "do_not_contact"
    LAWYER_RETAINED = "lawyer_retained"  # 受任通知: no direct contact at all
    NO_EMAIL = "no_email"
    NO_PHONE = "no_phone"
    NOT_MOBILE = "not_mobile"  # SMS needs a mobile number
    PROMISED = "promised"  # promise to pay: nothing before the promised date
    PAID = "paid"
    PARTIALLY_PAID = "partially_paid"
    CANCELLED = "cancelled"
    DISPUTED = "disputed"
    ON_HOLD = "on_hold"
    WRITTEN_OFF = "written_off"
    NOT_FOUND = "not_found"  # the receivable or debtor no longer exists

    @property
    def stops_dunning(self) -> bool:
        """True when no later step can go out either: the receivable's schedule is removed."""
        return self in _HARD_STOPS


_HARD_STOPS = frozenset(
    {
        Reason.DO_NOT_CONTACT,
        Reason.LAWYER_RETAINED,
        Reason.PAID,
        Reason.CANCELLED,
        Reason.DISPUTED,
        Reason.ON_HOLD,
        Reason.WRITTEN_OFF,
        Reason.NOT_FOUND,
    }
)

_STATUS_REASON = {
    ReceivableStatus.PAID: Reason.PAID,
    ReceivableStatus.CANCELLED: Reason.CANCELLED,
    ReceivableStatus.DISPUTED: Reason.DISPUTED,
    ReceivableStatus.ON_HOLD: Reason.ON_HOLD,
    ReceivableStatus.WRITTEN_OFF: Reason.WRITTEN_OFF,
    ReceivableStatus.PROMISED: Reason.PROMISED,
}

MINUTES_PER_DAY = 24 * 60


def minutes(t: time) -> int:
    return t.hour * 60 + t.minute


class ContactCalendar:
    """Which days and hours are open for contact. Day answers are cached per date ordinal,
    so planning millions of steps costs a dict lookup each."""

    def __init__(self, settings: GuardrailSettings) -> None:
        self.settings = settings
        self._window = (minutes(settings.window_start), minutes(settings.window_end))
        self._always = (0, MINUTES_PER_DAY)
        self._days: dict[int, Reason | None] = {}
        self._holiday_years: set[int] = set()
        self._holidays: set[date] = set()

    def window(self, channel: Channel) -> tuple[int, int]:
        """[start, end) in minutes after midnight JST."""
        if channel is Channel.EMAIL and not self.settings.email_in_window:
            return self._always
        return self._window

    def day_reason(self, ordinal: int) -> Reason | None:
        try:
            return self._days[ordinal]
        except KeyError:
            reason = self._days[ordinal] = self._compute(date.fromordinal(ordinal))
            return reason

    def _compute(self, day: date) -> Reason | None:
        s = self.settings
        if s.year_end_closure and ((day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)):
            return Reason.YEAR_END_CLOSURE
        if s.public_holidays:
            if day.year not in self._holiday_years:
                self._holidays.update(_jp_holidays(day.year))
                self._holiday_years.add(day.year)
            if day in self._holidays:
                return Reason.HOLIDAY
        if not s.weekends and day.weekday() >= 5:
            return Reason.WEEKEND
        return None

    def check(self, channel: Channel, ordinal: int, minute: int) -> Reason | None:
        """Why this channel may not be used at this moment (None = open)."""
        reason = self.day_reason(ordinal)
        if reason is not None:
            return reason
        start, end = self.window(channel)
        return None if start <= minute < end else Reason.QUIET_HOURS

    def defer(
        self, channel: Channel, ordinal: int, minute: int, window: tuple[int, int] | None = None
    ) -> tuple[int, int, Reason | None]:
        """The first open moment at or after (ordinal, minute), and why it moved (None = it did not).
        A step keeps its time of day when only the day is closed; outside the window it moves to
        the window's next opening."""
        start, end = window or self.window(channel)
        reason: Reason | None = None
        if minute < start:
            minute, reason = start, Reason.QUIET_HOURS
        elif minute >= end:
            ordinal, minute, reason = ordinal + 1, start, Reason.QUIET_HOURS
        day = self.day_reason(ordinal)
        while day is not None:
            if reason is None or reason is Reason.QUIET_HOURS:
                reason = day
            ordinal += 1
            day = self.day_reason(ordinal)
        return ordinal, minute, reason


@lru_cache(maxsize=16)
def _jp_holidays(year: int) -> frozenset[date]:
    import holidays

    return frozenset(holidays.country_holidays("JP", years=year))


def receivable_reason(r: Receivable, day: date | None = None, grace_days: int = 0) -> Reason | None:
    """Why this receivable may not be reminded (on ``day``, for a promise to pay)."""
    status = r.status
    if status.is_dunnable:
        return None
    if status is ReceivableStatus.PROMISED:
        if r.promised_until is None:
            return Reason.PROMISED
        if day is None or day.toordinal() <= r.promised_until.toordinal() + grace_days:
            return Reason.PROMISED
        return None
    return _STATUS_REASON.get(status, Reason.CANCELLED)


def debtor_reason(d: Debtor, channel: Channel) -> Reason | None:
    """Why this debtor may not be contacted on this channel."""
    if d.lawyer_retained:
        return Reason.LAWYER_RETAINED
    if d.do_not_contact:
        return Reason.DO_NOT_CONTACT
    if channel.value in d.opt_outs:
        return Reason.OPTED_OUT
    if channel.value in d.bounced:
        return Reason.BOUNCED
    if channel is Channel.EMAIL:
        return None if d.email else Reason.NO_EMAIL
    if not d.phone:
        return Reason.NO_PHONE
    if channel is Channel.SMS and not is_mobile(d.phone):
        return Reason.NOT_MOBILE
    return None


@lru_cache(maxsize=65536)
def is_mobile(e164: str) -> bool:
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return False
    kind = phonenumbers.number_type(number)
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
