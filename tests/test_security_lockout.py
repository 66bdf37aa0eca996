"""The log-in throttle cannot be turned into a lockout: limits by account and address together, a growing
delay (not a refusal) on the account alone, a high ceiling only an attack reaches, known addresses exempt."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta

import pytest

from admin_site.app import create_app
from admin_site.auth import throttle
from models import Role
from tests.helpers import browser_client, login

HOME, ATTACKER, ELSEWHERE, ALSO_ATTACKER = "198.51.100.7", "203.0.113.66", "192.0.2.10", "203.0.113.99"


def from_address(app, address: str):
    """A browser of its own whose requests come from `address`."""
    return browser_client(app, client=(address, 50000))


def fail(client, email: str, times: int) -> list[int]:
    return [login(client, email, f"wrong-guess-{i}").status_code for i in range(times)]


def test_ten_wrong_passwords_from_elsewhere_do_not_stop_the_person_at_their_address(app, make_staff, db):
    staff = make_staff(Role.admin)
    with from_address(app, HOME) as home, from_address(app, ATTACKER) as attacker:
        assert login(home, staff.email).status_code == 302  # the address they work from is now known
        home.post("/admin/logout")
        assert fail(attacker, staff.email, 10) == [400] * 10
        assert login(attacker, staff.email).status_code == 429  # that address is done with that account
        assert login(home, staff.email).status_code == 302  # the person is not


def test_a_new_address_is_slowed_down_not_refused(settings, engine, make_staff, db):
    app = create_app(dataclasses.replace(settings, login_first_delay=0.05, login_max_delay=0.3), engine)
    staff = make_staff(Role.admin)
    with from_address(app, ATTACKER) as attacker, from_address(app, ELSEWHERE) as elsewhere:
        assert fail(attacker, staff.email, 10) == [400] * 10
        started = time.monotonic()
        assert login(elsewhere, staff.email).status_code == 302  # heard, after a wait
        assert time.monotonic() - started >= 0.3  # ten failures: 0.05 s doubled five times, capped at 0.3 s


def test_the_ceiling_refuses_unknown_addresses_only(settings, engine, make_staff, db):
    app = create_app(dataclasses.replace(settings, login_account_ceiling=6), engine)
    staff = make_staff(Role.support)
    with (
        from_address(app, HOME) as home,
        from_address(app, ATTACKER) as one,
        from_address(app, ALSO_ATTACKER) as two,
        from_address(app, ELSEWHERE) as elsewhere,
    ):
        assert login(home, staff.email).status_code == 302
        home.post("/admin/logout")
        assert fail(one, staff.email, 3) + fail(two, staff.email, 3) == [400] * 6
        refused = login(elsewhere, staff.email)
        assert refused.status_code == 429
        assert "for this account" in refused.text and "from an address you have logged in from before" in refused.text
        assert login(home, staff.email).status_code == 302


def test_a_known_address_is_still_held_to_its_own_limit(app, make_staff, db):
    """Known does not mean unlimited: guesses from the person's own address stop at the pair's limit."""
    staff = make_staff(Role.viewer)
    with from_address(app, HOME) as home:
        assert login(home, staff.email).status_code == 302
        home.post("/admin/logout")
        assert fail(home, staff.email, 10) == [400] * 10
        assert login(home, staff.email).status_code == 429


def test_an_address_spraying_accounts_is_refused_but_not_for_an_account_it_knows(settings, engine, make_staff, db):
    app = create_app(dataclasses.replace(settings, login_max_failures_per_address=4), engine)
    staff, other = make_staff(Role.viewer), make_staff(Role.viewer)
    with from_address(app, HOME) as home:
        assert login(home, staff.email).status_code == 302
        home.post("/admin/logout")
        for i in range(4):  # four accounts guessed from the shared office address
            assert login(home, f"guess{i}@shop.example", "wrong-guess-1").status_code == 400
        assert login(home, other.email).status_code == 429  # never logged in from here
        assert login(home, staff.email).status_code == 302  # has


NOW = datetime(2030, 1, 1, tzinfo=UTC)


def counts(account: int = 0, pair: int = 0, address: int = 0, known: bool = False) -> throttle.Counts:
    oldest = NOW - timedelta(minutes=5)
    return throttle.Counts((account, oldest), (pair, oldest), (address, oldest), known, NOW)


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0.0), (4, 0.0), (5, 1.0), (6, 2.0), (7, 4.0), (9, 16.0), (10, 30.0), (99, 30.0)]
)
def test_the_delay_on_the_account_doubles_up_to_its_maximum(settings, failures, delay):
    production = dataclasses.replace(settings, login_first_delay=1.0, login_max_delay=30.0)
    assert throttle.decide(counts(account=failures), production) == (0, "", delay)
    assert throttle.decide(counts(account=failures, known=True), production) == (0, "", 0.0)  # never at home


def test_what_is_refused_and_for_how_long(settings):
    assert throttle.decide(counts(pair=10), settings)[:2] == (600, "for this account from this address")
    assert throttle.decide(counts(pair=10, known=True), settings)[1] == "for this account from this address"
    assert throttle.decide(counts(address=50), settings)[1] == "from this address"
    assert throttle.decide(counts(address=50, known=True), settings)[0] == 0
    assert throttle.decide(counts(account=100), settings)[1] == "for this account"
    assert throttle.decide(counts(account=100, known=True), settings)[0] == 0
