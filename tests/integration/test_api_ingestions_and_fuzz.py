"""Ingestion results over the API, and the API under arbitrary input (never a 5xx)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saiken.local.handlers import handler
from tests.helpers import csv_bytes, put_and_event
from tests.integration.test_api import call

pytestmark = pytest.mark.usefixtures("aws")


def test_a_creditor_sees_its_own_ingestion_results_only(lambda_context: Any) -> None:
    handler("ingest")(
        put_and_event(
            "incoming/acme/receivables/a.csv",
            csv_bytes("D1,山田,090-1234-5678,,R1,100,2026-12-10", "D2,鈴木,,,R2,100,2026-12-10"),
        ),
        lambda_context,
    )

    status, runs = call("GET", "/ingestions", context=lambda_context)

    assert status == 200
    assert len(runs) == 1
    run = runs[0]
    assert (run["file_key"], run["state"], run["rows"], run["accepted"], run["rejected"]) == (
        "incoming/acme/receivables/a.csv",
        "completed",
        2,
        1,
        1,
    )
    assert run["error_counts"] == {"no_contact": 1}
    assert run["report_key"] == "reports/acme/a.csv.errors.csv"
    assert call("GET", f"/ingestions/{run['run_id']}", context=lambda_context)[1]["run_id"] == run["run_id"]
    assert call("GET", "/ingestions", creditor="globex", context=lambda_context)[1] == []
    assert call("GET", f"/ingestions/{run['run_id']}", creditor="globex", context=lambda_context)[0] == 404

    status, link = call("GET", f"/ingestions/{run['run_id']}/report", context=lambda_context)
    assert status == 200 and link["expires_in"] == 900
    assert "reports/acme/a.csv.errors.csv" in link["url"] and "Signature" in link["url"]
    assert call("GET", f"/ingestions/{run['run_id']}/report", creditor="globex", context=lambda_context)[0] == 404
    assert call("GET", "/ingestions/not-a-run/report", context=lambda_context)[0] == 404


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
FIELDS = ["debtor_id", "debtor_name", "phone", "email", "receivable_id", "amount", "due_date", "segment", "other"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=9) | JSON_VALUES)
def test_arbitrary_bodies_get_an_answer_never_a_server_error(body: Any, lambda_context: Any) -> None:
    for path in ("/receivables", "/receivables/batch"):
        status, answer = call("POST", path, body, context=lambda_context)
        assert status in (200, 201, 422), (path, status, answer)
        if status == 422:
            assert answer["error"]["errors"] or answer["error"]["message"]


def test_a_body_that_is_not_json_is_a_clear_422(lambda_context: Any) -> None:
    from tests.conftest import load_event

    event = load_event("apigw_rest_proxy.json")
    event.update(httpMethod="POST", path="/receivables", body="債務者ID,氏名\nD1,山田")
    response = handler("api")(event, lambda_context)
    assert response["statusCode"] == 422
    assert json.loads(response["body"])["error"]["code"] == "invalid_request"
