"""HTTP on loopback -> TOKEN authorizer -> API Gateway REST proxy event -> the API handler."""

from __future__ import annotations

import base64
from http.server import BaseHTTPRequestHandler, HTTPServer
from threading import Thread
from typing import Any
from urllib.parse import urlsplit

from saiken.local.apigw import proxy_event, token_event
from saiken.local.handlers import LocalContext, handler


def _respond(request: BaseHTTPRequestHandler, status: int, body: bytes, headers: dict[str, str]) -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


class ApiGatewayHandler(BaseHTTPRequestHandler):
    server_version = "saiken-local-apigw"

    def _handle(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        token = self.headers.get("Authorization") or ""
        try:
            policy = handler("authorizer")(
                token_event(token, self.command, url.path), LocalContext("saiken-authorizer")
            )
        except Exception:
            _respond(self, 401, b'{"message":"Unauthorized"}', {"Content-Type": "application/json"})
            return
        if policy["policyDocument"]["Statement"][0]["Effect"] != "Allow":
            _respond(
                self,
                403,
                b'{"message":"User is not authorized to access this resource"}',
                {"Content-Type": "application/json"},
            )
            return
        authorizer: dict[str, Any] = {**(policy.get("context") or {}), "principalId": policy["principalId"]}
        headers = {k: v for k, v in self.headers.items()}
        event = proxy_event(
            self.command,
            url.path,
            query=url.query,
            headers=headers,
            body=raw.decode("utf-8") if raw else None,
            authorizer=authorizer,
        )
        response = handler("api")(event, LocalContext("saiken-api"))
        body = response.get("body") or ""
        payload = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode("utf-8")
        out_headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        _respond(self, int(response["statusCode"]), payload, out_headers)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: request lines may carry ids; the handlers log what matters


def serve_api(port: int = 0) -> HTTPServer:
    server = HTTPServer(("127.0.0.1", port), ApiGatewayHandler)  # one request at a time, like one Lambda
    Thread(target=server.serve_forever, name="saiken-local-api", daemon=True).start()
    return server
