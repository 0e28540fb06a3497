"""The consent state rules (F-CONSENT-2, F-CONSENT-6): events against the active synced set,
and which scopes require opt-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from textwire.consent.state import AccountConsent, ActiveSet, Event, effective, scopes_for

SYNC_AT = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE, AFTER = SYNC_AT - timedelta(seconds=1), SYNC_AT + timedelta(seconds=1)
ACTIVE = ActiveSet("SY1", SYNC_AT)


@pytest.mark.parametrize(
    ("event", "active", "in_set", "expected"),
    [
        (None, None, False, "unknown"),
        (None, ACTIVE, False, "unknown"),
        (None, ACTIVE, True, "subscribed"),
        (Event("unsubscribed", "api", BEFORE), ACTIVE, True, "subscribed"),
        (Event("unsubscribed", "api", AFTER), ACTIVE, True, "unsubscribed"),
        (Event("unsubscribed", "keyword", BEFORE), ACTIVE, True, "unsubscribed"),
        (Event("subscribed", "keyword", BEFORE), ACTIVE, True, "subscribed"),
        (Event("subscribed", "api", BEFORE), ACTIVE, False, "subscribed"),
        (Event("unsubscribed", "sync", SYNC_AT), ACTIVE, False, "unsubscribed"),
        (Event("subscribed", "api", AFTER), None, False, "subscribed"),
        (Event("unsubscribed", "identify", AFTER), None, False, "unsubscribed"),
    ],
)
def test_effective_state(
    event: Event | None, active: ActiveSet | None, in_set: bool, expected: str
) -> None:
    assert effective(event, active, in_set) == expected


def test_opt_in_required_by_the_most_specific_setting_else_by_a_synced_list() -> None:
    account, service = scopes_for(None), scopes_for("MG1")
    assert account == [""] and service == ["", "MG1"]
    snap = AccountConsent()
    assert not snap.requires_opt_in(account) and not snap.requires_opt_in(service)
    snap.active["MG1"] = ACTIVE
    assert not snap.requires_opt_in(account) and snap.requires_opt_in(service)
    snap.require_opt_in[""] = True
    assert snap.requires_opt_in(account)
    snap.require_opt_in["MG1"] = False
    assert not snap.requires_opt_in(service) and snap.requires_opt_in(account)
