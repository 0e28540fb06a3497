"""Campaigns: templates, audiences, schedules, the ledger and reports."""
