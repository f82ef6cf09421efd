"""`saiken rules preview|validate|schema` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from saiken.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        ("A", {"email": list(range(-5, 11)), "sms": [-5, -2, 1, 4, 7, 10], "ivr": [1, 7]}),
        ("B", {"email": list(range(1, 11)), "sms": [1, 4, 7, 10], "ivr": [10]}),
    ],
)
def test_preview_json_is_the_brochure_table(group: str, expected: dict[str, list[int]]) -> None:
    result = runner.invoke(app, ["rules", "preview", "--group", group, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"group": group, "offsets": expected}


def test_preview_further_out_shows_the_rest_of_the_cadence() -> None:
    result = runner.invoke(app, ["rules", "preview", "--group", "A", "--to", "30", "--json"])
    assert json.loads(result.output)["offsets"]["ivr"] == [1, 7, 13, 19, 25]


def test_preview_grid_has_a_circle_per_step() -> None:
    result = runner.invoke(app, ["rules", "preview", "--group", "B"])
    assert result.exit_code == 0
    rows = {
        line.split()[0]: line.count("○")
        for line in result.output.splitlines()
        if line.strip()[:3] in ("ema", "sms", "ivr")
    }
    assert rows == {"email": 10, "sms": 4, "ivr": 1}


def test_unknown_group_names_the_groups() -> None:
    result = runner.invoke(app, ["rules", "preview", "--group", "Z", "--json"])
    assert result.exit_code == 2
    assert "groups: A, B" in json.loads(result.output)["problems"][0]


def test_validate_good_rules_and_report_sms_parts(tmp_path: Path) -> None:
    from importlib.resources import files

    rules = tmp_path / "rules.yaml"
    rules.write_text((files("saiken") / "rules" / "default.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    result = runner.invoke(app, ["rules", "validate", str(rules), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert (
        body["valid"] and body["segments"] == ["A", "B", "hard", "final"] and body["sms_parts"] == {"sms_reminder": 1}
    )


def test_validate_names_each_problem(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 0\ndefault_segment: A\nsegments:\n  - name: A\n    cadences:\n"
        "      - {channel: sms, start: 3, until: 1}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["rules", "validate", str(rules), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    assert any(p.startswith("version:") for p in problems)
    assert any("segments.0.cadences.0" in p and "until (1) is before start (3)" in p for p in problems)


def test_validate_renders_templates_and_catches_a_long_sms(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "version: 2\ndefault_segment: A\nsegments:\n  - name: A\n    cadences:\n"
        "      - {channel: sms, start: 1, until: 1, template: long_sms}\n"
        "      - {channel: email, start: 1, until: 1, template: missing}\n",
        encoding="utf-8",
    )
    own = tmp_path / "templates"
    own.mkdir()
    (own / "long_sms.j2").write_text("【{{ sender.name }}】" + "お支払いのお願い" * 100, encoding="utf-8")
    result = runner.invoke(app, ["rules", "validate", str(rules), "--templates", str(own), "--json"])
    assert result.exit_code == 2
    problems = json.loads(result.output)["problems"]
    assert any("more than the 670" in p for p in problems)
    assert any("no template 'missing'" in p for p in problems)


def test_schema_is_json_schema() -> None:
    result = runner.invoke(app, ["rules", "schema"])
    schema = json.loads(result.output)
    assert schema["title"] == "RuleSet" and "segments" in schema["properties"]
