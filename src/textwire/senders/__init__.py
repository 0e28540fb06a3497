"""Senders (originators), messaging services, sender pools and their selection policy."""
