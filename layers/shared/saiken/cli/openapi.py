"""The OpenAPI 3 document, generated from the API's routes and pydantic models."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer, Server

from saiken.local.handlers import load_module


def openapi_document() -> dict[str, Any]:
    api = load_module("api")
    text = api.app.get_openapi_json_schema(
        title=api.TITLE,
        version=api.VERSION,
        description=(
            "Push receivables and read them back. Authenticate with `Authorization: Bearer <API key>`; the key "
            "decides the creditor (tenant), never the request. Values are normalised like CSV cells: "
            "'¥12,000', '令和8年12月10日' and full-width digits are accepted."
        ),
        servers=[Server(url="https://{api_id}.execute-api.ap-northeast-1.amazonaws.com/prod")],
        security_schemes={"apiKey": HTTPBearer(description="a Saiken API key: sk.{creditor}.{secret}")},
        security=[{"apiKey": []}],
    )
    return json.loads(text)  # type: ignore[no-any-return]


def render() -> str:
    return json.dumps(openapi_document(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
