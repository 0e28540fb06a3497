"""Campaigns: templates, prices, schedules, quiet hours, caps and (to come) the fan-out to an
audience, its ledger and reports (F-CAMP)."""
