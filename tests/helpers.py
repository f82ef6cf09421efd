"""Shared test helpers: put a file like a creditor and deliver the S3 event like S3 would."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote_plus

import boto3

from tests.conftest import load_event


def s3() -> Any:
    return boto3.client("s3", region_name="ap-northeast-1")


def put_and_event(key: str, body: bytes) -> dict[str, Any]:
    bucket = os.environ["SAIKEN_BUCKET"]
    etag = s3().put_object(Bucket=bucket, Key=key, Body=body)["ETag"].strip('"')
    return load_event("s3_object_created.json", BUCKET=bucket, KEY=quote_plus(key, safe="/"), ETAG=etag)


def read_report(key: str) -> str:
    body = s3().get_object(Bucket=os.environ["SAIKEN_BUCKET"], Key=key)["Body"].read()
    return body.decode("utf-8-sig")


CSV_HEADER = "債務者ID,氏名,電話番号,メールアドレス,債権番号,請求金額,支払期日\r\n"


def csv_bytes(*rows: str, encoding: str = "cp932") -> bytes:
    return (CSV_HEADER + "".join(r + "\r\n" for r in rows)).encode(encoding)
