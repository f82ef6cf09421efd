"""The REST API handler and the authorizer against moto, with real API Gateway event shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from saiken import wiring
from saiken.local.handlers import handler
from tests.conftest import load_event

pytestmark = pytest.mark.usefixtures("aws")

ITEM = {
    "debtor_id": "C1",
    "debtor_name": "山田　太郎",
    "phone": "０９０－１２３４－５６７８",
    "receivable_id": "INV-1",
    "amount": "¥12,000",
    "due_date": "令和8年12月10日",
}


def call(
    method: str,
    path: str,
    body: Any = None,
    creditor: str | None = "acme",
    query: dict[str, str] | None = None,
    context: Any = None,
) -> tuple[int, Any]:
    event = load_event("apigw_rest_proxy.json")
    event.update(httpMethod=method, path=path, body=None if body is None else json.dumps(body, ensure_ascii=False))
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()} if query else None
    event["requestContext"]["authorizer"] = {"creditor_id": creditor} if creditor else {}
    response = handler("api")(event, context)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def test_create_then_read_a_receivable(lambda_context: Any) -> None:
    status, body = call("POST", "/receivables", ITEM, context=lambda_context)

    assert status == 201, body
    assert body["outcome"] == "created"
    assert body["receivable"]["amount"] == 12000
    assert body["receivable"]["due_date"] == "2026-12-10"
    status, body = call("GET", "/receivables/INV-1", context=lambda_context)
    assert status == 200 and body["status"] == "open" and body["balance"] == 12000


def test_sending_the_same_receivable_again_is_unchanged(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, context=lambda_context)
    status, body = call("POST", "/receivables", ITEM, context=lambda_context)
    assert (status, body["outcome"], body["receivable"]["version"]) == (200, "unchanged", 1)


def test_an_invalid_receivable_gets_every_error_by_field(lambda_context: Any) -> None:
    status, body = call(
        "POST",
        "/receivables",
        {**ITEM, "amount": "12.5", "due_date": "12/10/2026", "phone": None},
        context=lambda_context,
    )
    assert status == 422
    codes = {(e["field"], e["code"]) for e in body["error"]["errors"]}
    assert codes == {("amount", "invalid_amount"), ("due_date", "invalid_date"), (None, "no_contact")}
    assert call("GET", "/receivables/INV-1", context=lambda_context)[0] == 404  # nothing half-written


def test_batch_accepts_the_good_items_and_reports_the_bad(lambda_context: Any) -> None:
    items = [
        {**ITEM, "receivable_id": "B1"},
        {**ITEM, "receivable_id": "B2", "amount": 0},
        {**ITEM, "receivable_id": "B1"},
        {**ITEM, "receivable_id": "B3", "debtor_id": "C2", "phone": None, "email": "x@example.jp"},
    ]
    status, body = call("POST", "/receivables/batch", {"items": items}, context=lambda_context)

    assert status == 200
    assert (body["accepted"], body["rejected"]) == (2, 2)
    by_index = {r["index"]: r for r in body["results"]}
    assert by_index[0]["outcome"] == "created" and by_index[3]["outcome"] == "created"
    assert by_index[1]["errors"][0]["code"] == "invalid_amount"
    assert by_index[2]["errors"][0]["code"] == "duplicate_receivable"
    status, listed = call("GET", "/debtors/C1/receivables", context=lambda_context)
    assert [r["receivable_id"] for r in listed] == ["B1"]


def test_batch_larger_than_500_is_refused(lambda_context: Any) -> None:
    items = [{**ITEM, "receivable_id": f"X{i}"} for i in range(501)]
    status, body = call("POST", "/receivables/batch", {"items": items}, context=lambda_context)
    assert status == 422 and body["error"]["code"] == "invalid_request"


def test_status_change_and_invalid_transition(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, context=lambda_context)

    status, body = call(
        "PUT",
        "/receivables/INV-1/status",
        {"status": "on_hold", "reason": "本人申出"},
        context=lambda_context,
    )
    assert (status, body["status"], body["status_reason"]) == (200, "on_hold", "本人申出")
    status, body = call("PUT", "/receivables/INV-1/status", {"status": "cancelled"}, context=lambda_context)
    assert (status, body["status"]) == (200, "cancelled")
    status, body = call("PUT", "/receivables/INV-1/status", {"status": "open"}, context=lambda_context)
    assert status == 409 and body["error"]["code"] == "invalid_transition"
    status, body = call("PUT", "/receivables/INV-1/status", {"status": "paid"}, context=lambda_context)
    assert status == 422


def test_list_pages_through_the_creditors_receivables(lambda_context: Any) -> None:
    call(
        "POST",
        "/receivables/batch",
        {"items": [{**ITEM, "receivable_id": f"P{i:02d}"} for i in range(5)]},
        context=lambda_context,
    )
    status, page = call("GET", "/receivables", query={"limit": "3"}, context=lambda_context)
    assert status == 200 and len(page["items"]) == 3 and page["next_after"] == "P02"
    status, page = call("GET", "/receivables", query={"limit": "3", "after": "P02"}, context=lambda_context)
    assert [r["receivable_id"] for r in page["items"]] == ["P03", "P04"]


def test_creditor_b_can_never_read_or_change_creditor_a(lambda_context: Any) -> None:
    call("POST", "/receivables", ITEM, creditor="acme", context=lambda_context)

    assert call("GET", "/receivables/INV-1", creditor="globex", context=lambda_context)[0] == 404
    assert call("GET", "/debtors/C1/receivables", creditor="globex", context=lambda_context)[1] == []
    assert call("GET", "/receivables", creditor="globex", context=lambda_context)[1]["items"] == []
    status, _ = call(
        "PUT", "/receivables/INV-1/status", {"status": "cancelled"}, creditor="globex", context=lambda_context
    )
    assert status == 404
    # Posting the same id as globex creates globex's own receivable; acme's is untouched.
    status, body = call("POST", "/receivables", {**ITEM, "amount": 1}, creditor="globex", context=lambda_context)
    assert status == 201
    assert body["receivable"]["amount"] == 1
    assert call("GET", "/receivables/INV-1", creditor="acme", context=lambda_context)[1]["amount"] == 12000
    assert call("GET", "/receivables/INV-1", creditor="acme", context=lambda_context)[1]["status"] == "open"


def test_a_request_without_an_authorizer_context_is_refused(lambda_context: Any) -> None:
    status, _ = call("GET", "/receivables", creditor=None, context=lambda_context)
    assert status == 401


def test_a_creditor_in_the_request_body_or_query_is_ignored(lambda_context: Any) -> None:
    status, body = call(
        "POST", "/receivables", {**ITEM, "creditor_id": "globex"}, creditor="acme", context=lambda_context
    )
    assert status == 422
    assert body["error"]["errors"] == [
        {
            "field": "creditor_id",
            "code": "unknown_field",
            "message": "'creditor_id' is not a receivable field",
        }
    ]
    assert call("GET", "/receivables/INV-1", creditor="globex", context=lambda_context)[0] == 404


# --- authorizer -------------------------------------------------------------------------


def authorize(token: str, context: Any) -> dict[str, Any]:
    return handler("authorizer")(load_event("apigw_token_authorizer.json", TOKEN=token), context)  # type: ignore[no-any-return]


def test_authorizer_maps_a_key_to_its_creditor(lambda_context: Any) -> None:
    key = wiring.api_keys().issue("acme")

    result = authorize(f"Bearer {key}", lambda_context)

    key_id = result["context"].pop("key_id")
    assert result["context"] == {"creditor_id": "acme"}
    assert len(key_id) == 12 and key_id not in key  # a short id of the key for the audit trail, not the key
    statement = result["policyDocument"]["Statement"][0]
    assert statement["Effect"] == "Allow"
    assert statement["Resource"] == ["arn:aws:execute-api:ap-northeast-1:123456789012:abc123/prod/*/*"]


@pytest.mark.parametrize("token", ["Bearer sk_wrong", "Bearer sk.acme.wrong", "Bearer sk..x", "Bearer sk.acme."])
def test_authorizer_denies_unknown_keys(token: str, lambda_context: Any) -> None:
    wiring.api_keys().issue("acme")
    result = authorize(token, lambda_context)
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert not result.get("context")


def test_a_key_relabelled_with_another_creditor_is_denied(lambda_context: Any) -> None:
    key = wiring.api_keys().issue("acme")
    forged = key.replace("sk.acme.", "sk.globex.")
    assert authorize(f"Bearer {forged}", lambda_context)["policyDocument"]["Statement"][0]["Effect"] == "Deny"


@pytest.mark.parametrize("token", ["", "Bearer ", "Basic abc"])
def test_authorizer_answers_401_without_a_bearer_token(token: str, lambda_context: Any) -> None:
    with pytest.raises(Exception, match="Unauthorized"):
        authorize(token, lambda_context)


def test_a_revoked_key_is_denied(lambda_context: Any) -> None:
    key = wiring.api_keys().issue("acme")
    assert wiring.api_keys().revoke(key) is True
    assert authorize(f"Bearer {key}", lambda_context)["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert wiring.api_keys().revoke("sk.acme.unknown") is False


def test_api_keys_are_stored_hashed(lambda_context: Any) -> None:
    from saiken.adapters.tables import ApiKeyItem

    key = wiring.api_keys().issue("acme")
    stored = [item.attribute_values for item in ApiKeyItem.scan()]
    assert len(stored) == 1
    assert stored[0]["creditor_id"] == "acme"
    assert key.split(".")[-1] not in json.dumps(stored, default=str)


def test_a_debtor_with_their_receivables_and_open_balance(lambda_context: Any) -> None:
    call(
        "POST",
        "/receivables/batch",
        {
            "items": [
                {**ITEM, "receivable_id": "D-1", "amount": 1000},
                {**ITEM, "receivable_id": "D-2", "amount": 2500, "email": "taro@example.jp"},
            ]
        },
        context=lambda_context,
    )
    call("PUT", "/receivables/D-1/status", {"status": "cancelled"}, context=lambda_context)

    status, debtor = call("GET", "/debtors/C1", context=lambda_context)

    assert status == 200
    assert (debtor["name"], debtor["phone"], debtor["email"]) == ("山田 太郎", "+819012345678", "taro@example.jp")
    assert [r["receivable_id"] for r in debtor["receivables"]] == ["D-1", "D-2"]
    assert debtor["open_balance"] == 2500
    assert call("GET", "/debtors/C1", creditor="globex", context=lambda_context)[0] == 404
    assert call("GET", "/debtors/nobody", context=lambda_context)[0] == 404
