"""The dispatch worker, rate limits, delivery receipts and outgoing webhooks."""
