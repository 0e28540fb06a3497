"""Contacts and consent (F-CONSENT): identifiers, inbound keywords, subscriber CSV sync.

The pure parts (no database, web or network imports; checked by import-linter):

- ``identifiers``: normalising email / phoneNumber / custom identifiers.
- ``keywords``: STOP / START / HELP / custom keyword matching on inbound bodies and its config.
- ``csvsync``: the streaming parser for the subscriber CSV.
"""
