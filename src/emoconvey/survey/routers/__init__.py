"""Routers of the survey app: ``participant`` (consent to completion), ``audio`` (a
session's clips) and ``admin`` (progress, releasing platform IDs)."""
