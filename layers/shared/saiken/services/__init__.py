"""Use cases: orchestrate the pure core through ports (repositories, object store, clock)."""
