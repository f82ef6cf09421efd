"""Runtime configuration, validated once at cold start (never os.environ below a handler)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SAIKEN_", extra="ignore")

    stage: str = "local"
    debtors_table: str = "saiken-debtors"
    receivables_table: str = "saiken-receivables"
    ingestion_runs_table: str = "saiken-ingestion-runs"
    api_keys_table: str = "saiken-api-keys"
    bucket: str = "saiken-intake"
    region: str = Field(default="ap-northeast-1", validation_alias="AWS_REGION")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
