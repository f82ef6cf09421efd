"""S3: stream objects in chunks (never whole), write reports, read per-creditor config."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from botocore.exceptions import ClientError

from saiken.domain.rules import CreditorConfig, RuleSet
from saiken.intake.decode import CHUNK_SIZE
from saiken.intake.mapping import ColumnMapping
from saiken.intake.reader import FileError


def mapping_key(creditor_id: str) -> str:
    return f"config/{creditor_id}/mapping.yaml"


@dataclass
class ObjectStore:
    client: Any  # boto3 S3 client
    bucket: str

    def stream(self, key: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        try:
            yield from body.iter_chunks(chunk_size)
        finally:
            body.close()

    def put_report(self, key: str, body: IO[bytes]) -> None:
        """Streams the report (multipart above 8 MB); encryption at rest is the bucket's default."""
        self.client.upload_fileobj(body, self.bucket, key, ExtraArgs={"ContentType": "text/csv; charset=utf-8"})

    def presigned_get(self, key: str, expires_in: int) -> str:
        return str(
            self.client.generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in
            )
        )

    def read(self, key: str) -> bytes | None:
        try:
            return bytes(self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise

    def creditors(self) -> list[str]:
        """Creditors known to the bucket: those with configuration or with files handed over."""
        found: set[str] = set()
        for prefix in ("config/", "incoming/"):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            ):
                found.update(p["Prefix"][len(prefix) :].rstrip("/") for p in page.get("CommonPrefixes", []))
        return sorted(c for c in found if c)

    def mapping_for(self, creditor_id: str) -> ColumnMapping | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=mapping_key(creditor_id))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        import yaml

        try:
            return ColumnMapping.from_yaml(body.decode("utf-8-sig"))
        except (ValueError, yaml.YAMLError) as exc:  # encoding, YAML syntax or the schema (pydantic)
            raise FileError("invalid_mapping", f"{mapping_key(creditor_id)}: {exc}") from exc


def rules_key(creditor_id: str) -> str:
    return f"config/{creditor_id}/rules.yaml"


def templates_prefix(creditor_id: str) -> str:
    return f"config/{creditor_id}/templates/"


def default_rules() -> RuleSet:
    from importlib.resources import files

    return RuleSet.from_yaml((files("saiken") / "rules" / "default.yaml").read_text(encoding="utf-8"))


class InvalidRules(ValueError):
    pass


@dataclass
class ConfigStore:
    """A creditor's dunning rules (config/{creditor}/rules.yaml, else the default rule set) and
    own templates (config/{creditor}/templates/{name}.j2), cached for ``ttl`` seconds."""

    objects: ObjectStore
    ttl: float = 300.0
    _cache: dict[str, tuple[float, CreditorConfig]] = field(default_factory=dict)

    def __call__(self, creditor_id: str) -> CreditorConfig:
        now = time.monotonic()
        hit = self._cache.get(creditor_id)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        config = CreditorConfig(rules=self._rules(creditor_id), templates=self._templates(creditor_id))
        self._cache[creditor_id] = (now, config)
        return config

    def _rules(self, creditor_id: str) -> RuleSet:
        body = self.objects.read(rules_key(creditor_id))
        if body is None:
            return default_rules()
        try:
            return RuleSet.from_yaml(body.decode("utf-8-sig"))
        except ValueError as exc:
            raise InvalidRules(f"{rules_key(creditor_id)}: {exc}") from exc

    def _templates(self, creditor_id: str) -> dict[str, str]:
        prefix = templates_prefix(creditor_id)
        out: dict[str, str] = {}
        client, bucket = self.objects.client, self.objects.bucket
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix) :]
                if name.endswith(".j2") and "/" not in name:
                    body = self.objects.read(obj["Key"])
                    if body is not None:
                        out[name[:-3]] = body.decode("utf-8-sig")
        return out
