"""The moment the dunning integration tests start at."""

from datetime import datetime

from saiken.domain.planner import JST

START = datetime(2026, 12, 4, 7, 0, tzinfo=JST)
