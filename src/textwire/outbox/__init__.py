"""Outgoing webhooks: their rows, signatures, form bodies and the deliverer."""
