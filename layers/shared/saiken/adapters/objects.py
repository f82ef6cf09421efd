"""S3: stream objects in chunks (never whole), write reports, read per-creditor config."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from botocore.exceptions import ClientError

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
