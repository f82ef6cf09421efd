"""Cold-start factories: clients, repositories and services built once per process.

Nothing here runs at import time, so tests can set the environment first and call
``reset()`` between cases. Each factory imports what it builds, so a function only pays for
the modules its own path needs (the authorizer never imports S3 or the intake core).
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from saiken.settings import Settings, get_settings

if TYPE_CHECKING:
    from saiken.adapters.objects import ObjectStore
    from saiken.adapters.repository import ApiKeyRepository
    from saiken.services.ingest import IngestService
    from saiken.services.receivables import ReceivableService
    from saiken.services.runs import RunService
    from saiken.services.upsert import Upserter


@lru_cache(maxsize=1)
def settings() -> Settings:
    from saiken.adapters.tables import bind_tables

    current = get_settings()
    bind_tables(current)
    return current


@lru_cache(maxsize=1)
def s3_client() -> Any:
    import boto3

    return boto3.client("s3", region_name=settings().region)


@lru_cache(maxsize=1)
def object_store() -> ObjectStore:
    from saiken.adapters.objects import ObjectStore

    return ObjectStore(s3_client(), settings().bucket)


@lru_cache(maxsize=1)
def upserter() -> Upserter:
    from saiken.adapters.repository import DebtorRepository, ReceivableRepository
    from saiken.services.upsert import Upserter

    settings()
    return Upserter(ReceivableRepository(), DebtorRepository())


@lru_cache(maxsize=1)
def ingest_service() -> IngestService:
    from saiken.adapters.repository import IngestionRunRepository
    from saiken.services.ingest import IngestService

    return IngestService(upserter(), IngestionRunRepository(), object_store())


@lru_cache(maxsize=1)
def receivable_service() -> ReceivableService:
    from saiken.adapters.repository import ReceivableRepository
    from saiken.services.receivables import ReceivableService

    settings()
    return ReceivableService(ReceivableRepository(), upserter())


@lru_cache(maxsize=1)
def run_service() -> RunService:
    from saiken.adapters.repository import IngestionRunRepository
    from saiken.services.runs import RunService

    return RunService(IngestionRunRepository(), object_store())


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyRepository:
    from saiken.adapters.repository import ApiKeyRepository

    settings()
    return ApiKeyRepository()


def reset() -> None:
    """Forget every cached object (tests and the local stack switch endpoints)."""
    for factory in (
        settings,
        s3_client,
        object_store,
        upserter,
        ingest_service,
        receivable_service,
        run_service,
        api_keys,
    ):
        factory.cache_clear()
    get_settings.cache_clear()
