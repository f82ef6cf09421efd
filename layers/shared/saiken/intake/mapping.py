"""Per-creditor column mapping (YAML): source header -> canonical field, constant defaults."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from saiken.intake.fields import CANONICAL_FIELDS


class ColumnMapping(BaseModel):
    """Example::

    columns:
      お客様コード: debtor_id
      ご請求額(税込): amount
    defaults:
      product: subscription
    encoding: cp932
    """

    model_config = ConfigDict(extra="forbid")

    columns: dict[str, str] = Field(default_factory=dict, description="source header -> canonical field")
    defaults: dict[str, str] = Field(default_factory=dict, description="canonical field -> constant value")
    encoding: Literal["utf-8", "utf-8-sig", "cp932"] | None = Field(
        default=None, description="skip detection and read the file in this encoding"
    )

    @field_validator("columns")
    @classmethod
    def _known_targets(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value.values()) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical fields {unknown}; known: {list(CANONICAL_FIELDS)}")
        return value

    @field_validator("defaults")
    @classmethod
    def _known_defaults(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical fields {unknown}; known: {list(CANONICAL_FIELDS)}")
        return {k: str(v) for k, v in value.items()}

    def fingerprint(self) -> str:
        """Changes whenever the mapping would read a file differently."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]

    @classmethod
    def from_yaml(cls, text: str) -> ColumnMapping:
        import yaml  # only creditors with their own headers need it: keep it off the cold start

        data = yaml.safe_load(text) or {}
        return cls.model_validate(data)

    @classmethod
    def load(cls, path: Path) -> ColumnMapping:
        return cls.from_yaml(path.read_text(encoding="utf-8"))
