"""Upstream SMS providers, each behind the one ``Provider`` protocol."""
