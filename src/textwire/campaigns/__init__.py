"""Campaigns: templates, prices, schedules and the fan-out that sends to an audience (F-CAMP)."""
