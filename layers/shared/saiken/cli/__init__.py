"""The `saiken` command (typer + rich). Never shipped to Lambda."""
