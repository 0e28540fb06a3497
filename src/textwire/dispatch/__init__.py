"""The dispatch worker and its sender leases."""
