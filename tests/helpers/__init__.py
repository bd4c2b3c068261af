"""Helpers for the failure-injection tests: raw database inspection and a subprocess worker."""
