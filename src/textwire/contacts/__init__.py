"""Contacts' own data (F-CONTACT): typed fields, time zones, languages, CSV import/export,
lists and segments. Identifiers and consent stay in :mod:`textwire.consent`."""
