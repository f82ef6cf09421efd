"""Load the Lambda entry points from functions/<name>/handler.py, as Lambda would."""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import time
from collections import Counter
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO

REPO_ROOT = Path(__file__).resolve().parents[4]
FUNCTIONS_DIR = REPO_ROOT / "functions"


@cache
def load_module(name: str) -> ModuleType:
    path = FUNCTIONS_DIR / name / "handler.py"
    if not path.exists():
        raise FileNotFoundError(f"no Lambda function {name!r} at {path}")
    module_name = f"saiken_function_{name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def handler(name: str) -> Callable[[dict[str, Any], Any], Any]:
    return load_module(name).handler  # type: ignore[no-any-return]


_stdout_sink: TextIO | None = None


def send_function_stdout_to(sink: TextIO | None) -> None:
    """What a function prints (EMF metrics) goes to ``sink``, as Lambda sends it to CloudWatch Logs."""
    global _stdout_sink
    _stdout_sink = sink


# Wall time spent inside each function (seconds) and invocations: what `make bench` reports.
busy: dict[str, float] = {}
invocations: Counter[str] = Counter()


def invoke(name: str, event: dict[str, Any], context: Any, entry: str = "handler") -> Any:
    """Call functions/<name>/handler.py (its ``entry`` function) the way Lambda does."""
    fn = getattr(load_module(name), entry)
    started = time.perf_counter()
    try:
        if _stdout_sink is None:
            return fn(event, context)
        with contextlib.redirect_stdout(_stdout_sink):
            return fn(event, context)
    finally:
        busy[name] = busy.get(name, 0.0) + time.perf_counter() - started
        invocations[name] += 1


class LocalContext:
    """The LambdaContext fields powertools reads."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:ap-northeast-1:123456789012:function:{function_name}"
        self.memory_limit_in_mb = 512
        self.aws_request_id = "local"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000
