"""A small reference implementation of the central case-store contract (casestore/openapi.yaml) on SQLite."""
