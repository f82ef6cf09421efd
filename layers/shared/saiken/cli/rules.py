"""`saiken rules ...` and `saiken plan`: look at dunning rules and a receivable's calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from pydantic import ValidationError

from saiken.domain.messages import Renderer, TemplateNotFound
from saiken.domain.models import Debtor, Receivable
from saiken.domain.planner import Planner
from saiken.domain.rules import RuleSet, Sender, grid


class RulesError(Exception):
    """A rules file that cannot be used, with every problem in it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def load_rules(path: Path | None) -> RuleSet:
    import yaml

    from saiken.adapters.objects import default_rules

    if path is None:
        return default_rules()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RulesError([f"{path}: {exc.strerror or exc}"]) from exc
    try:
        return RuleSet.from_yaml(text)
    except ValidationError as exc:
        raise RulesError(
            [f"{'.'.join(str(p) for p in e['loc']) or '(file)'}: {e['msg']}" for e in exc.errors()]
        ) from exc
    except (ValueError, yaml.YAMLError) as exc:
        raise RulesError([str(exc)]) from exc


def preview(rules: RuleSet, group: str, first: int, last: int) -> dict[str, Any]:
    segment = rules.segment(group)
    if segment is None:
        names = ", ".join(s.name for s in rules.segments)
        raise RulesError([f"no group {group!r} in these rules (groups: {names})"])
    return {"group": group, "offsets": {ch.value: offs for ch, offs in grid(segment, first, last).items()}}


def sample(rules: RuleSet, segment: str) -> tuple[Receivable, Debtor, Sender]:
    r = Receivable(
        creditor_id="sample",
        receivable_id="INV-0001",
        debtor_id="D-0001",
        amount=29800,
        balance=29800,
        due_date=date(2026, 12, 25),
        segment=segment,
        virtual_account="1234567",
    )
    d = Debtor(
        creditor_id="sample",
        debtor_id="D-0001",
        name="山田 太郎",
        phone="+819012345678",
        email="taro@example.jp",
    )
    sender = rules.sender or Sender(name="株式会社サンプル", phone="0120-000-000")
    return r, d, sender


def validate(rules: RuleSet, templates: dict[str, str]) -> dict[str, Any]:
    """Render every step of every segment with sample data: a missing template, an unknown
    variable or an SMS too long for a handset is an error; the SMS segment counts are reported."""
    problems: list[str] = []
    sms_parts: dict[str, int] = {}
    steps = 0
    renderer = Renderer({"sample": templates})
    for seg in rules.segments:
        r, d, sender = sample(rules, seg.name)
        planner = Planner(rules)
        for step in planner.calendar_for(r):
            steps += 1
            try:
                message = renderer.render(step, r, d, sender)
            except (TemplateNotFound, jinja2.TemplateError) as exc:
                problems.append(f"segment {seg.name} {step.channel.value} day {step.offset:+d}: {exc}")
                continue
            if message.sms is not None:
                sms_parts[step.template] = max(sms_parts.get(step.template, 0), message.sms.parts)
                if message.sms.units > 670:
                    problems.append(
                        f"segment {seg.name} sms day {step.offset:+d}: {message.sms.units} characters, "
                        "more than the 670 a Japanese handset takes"
                    )
    return {
        "valid": not problems,
        "version": rules.version,
        "segments": [s.name for s in rules.segments],
        "steps": steps,
        "sms_parts": sms_parts,
        "problems": sorted(set(problems)),
    }


def load_templates(folder: Path | None) -> dict[str, str]:
    if folder is None:
        return {}
    return {p.stem: p.read_text(encoding="utf-8-sig") for p in sorted(folder.glob("*.j2"))}
