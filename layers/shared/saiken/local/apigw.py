"""HTTP request -> the API Gateway REST proxy event (and TOKEN authorizer event) Lambda receives."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import parse_qs

API_ID = "local"
STAGE = "prod"
ACCOUNT = "123456789012"
REGION = "ap-northeast-1"


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method}{path}"


def token_event(token: str, method: str, path: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn(method, path)}


def proxy_event(
    method: str,
    path: str,
    *,
    query: str = "",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    authorizer: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = dict(headers or {})
    multi_query = parse_qs(query, keep_blank_values=True) if query else None
    request_id = str(uuid.uuid4())
    return {
        "resource": "/{proxy+}",
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": {"proxy": path.lstrip("/")},
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "authorizer": authorizer or {},
            "resourcePath": "/{proxy+}",
            "httpMethod": method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "path": f"/{STAGE}{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": STAGE,
            "domainPrefix": API_ID,
            "requestTimeEpoch": int(time.time() * 1000),
            "requestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": headers.get("User-Agent", "")},
            "domainName": "127.0.0.1",
            "apiId": API_ID,
        },
        "body": body,
        "isBase64Encoded": False,
    }
