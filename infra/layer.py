"""The shared Lambda layer: the saiken package (without the CLI and local stack) and its
third-party dependencies for arm64, built with pip --platform: no Docker (DESIGN.md 3.10)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling, RemovalPolicy
from aws_cdk import aws_lambda as _lambda
from constructs import Construct

from infra.constants import LAMBDA_PYTHON

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "layers" / "shared" / "saiken"
# In the Lambda runtime already: shipping them again only adds 30 MB.
PROVIDED_BY_RUNTIME = ("boto3", "botocore", "s3transfer", "jmespath")
NOT_SHIPPED = ("local", "cli", "samples.py")


def runtime_requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [req for req in project["dependencies"] if not req.startswith(PROVIDED_BY_RUNTIME)]


def build_layer(output: Path, python_version: str = LAMBDA_PYTHON) -> None:
    target = output / "python"
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--platform",
            "manylinux2014_aarch64",
            # the python3.14 runtime is Amazon Linux 2023 (glibc 2.34): wheels built for glibc 2.28
            # are fine there, and some packages (rapidfuzz for cp314) publish only those
            "--platform",
            "manylinux_2_28_aarch64",
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "--target",
            str(target),
            *runtime_requirements(),
        ],
        check=True,
    )
    for name in target.iterdir():
        if name.name.split("-")[0].split(".")[0] in PROVIDED_BY_RUNTIME:
            shutil.rmtree(name, ignore_errors=True)
    copy_package(target)


def copy_package(target: Path) -> None:
    """The saiken package as Lambda imports it: without the CLI, the local stack and the samples."""
    shutil.copytree(
        PACKAGE,
        target / "saiken",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", *NOT_SHIPPED),
        dirs_exist_ok=True,
    )


@jsii.implements(ILocalBundling)
class _PipBundling:
    def try_bundle(self, output_dir: str, *args: Any, **kwargs: Any) -> bool:
        build_layer(Path(output_dir))
        return True


class SharedLayer(Construct):
    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = _lambda.LayerVersion(
            self,
            "Layer",
            code=_lambda.Code.from_asset(
                str(PACKAGE.parent),
                bundling=BundlingOptions(
                    image=DockerImage.from_registry("local-bundling-only"),  # never pulled: local bundling wins
                    local=_PipBundling(),
                ),
            ),
            compatible_runtimes=[_lambda.Runtime.PYTHON_3_14],
            compatible_architectures=[_lambda.Architecture.ARM_64],
            description="saiken shared package and its dependencies",
            removal_policy=RemovalPolicy.RETAIN,
        )
