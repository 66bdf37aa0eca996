"""Staff management rules, the append-only audit log, and everyone's own password page."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_site.app import create_app
from admin_site.audit import log as audit
from admin_site.auth.permissions import EDIT, MATRIX, VIEW
from admin_site.auth.staff_rules import StaffChangeRefused, check_staff_change
from models import AuditLog, Role, StaffUser
from tests.helpers import PASSWORD, fetch, login, staff_form


def stored(db, staff_id: int) -> StaffUser:
    return fetch(db, StaffUser, staff_id)


# -- who manages staff -----------------------------------------------------------------------------


def test_managers_see_staff_but_cannot_change_them(client, login_as, make_staff, db):
    login_as(Role.manager)
    agent = make_staff(Role.support)
    assert client.get("/admin/staff-user/list").status_code == 200
    assert client.get(f"/admin/staff-user/details/{agent.id}").status_code == 200
    assert client.post(f"/admin/staff-user/edit/{agent.id}", data=staff_form(agent, role="admin")).status_code == 403
    assert client.post("/admin/staff-user/create", data=staff_form(agent, email="x@shop.example")).status_code == 403
    assert stored(db, agent.id).role == Role.support


@pytest.mark.parametrize("role", [Role.viewer, Role.support])
def test_other_roles_do_not_see_staff(client, login_as, role):
    login_as(role)
    assert client.get("/admin/staff-user/list").status_code == 403


def test_admin_sets_role_password_and_active_flag_of_others(client, login_as, make_staff, db):
    login_as(Role.admin)
    agent = make_staff(Role.support)
    form = staff_form(agent, role="manager", new_password="another-pass-77")
    assert client.post(f"/admin/staff-user/edit/{agent.id}", data=form).status_code == 302
    agent = stored(db, agent.id)  # the edit page, opened again
    assert agent.role == Role.manager
    form = staff_form(agent, is_active=None)
    assert client.post(f"/admin/staff-user/edit/{agent.id}", data=form).status_code == 302
    assert stored(db, agent.id).is_active is False
    client.get("/admin/logout")
    assert login(client, agent.email, "another-pass-77").status_code == 400  # deactivated


def test_staff_users_are_never_deleted(client, login_as, make_staff, db):
    login_as(Role.admin)
    agent = make_staff(Role.viewer)
    assert client.delete(f"/admin/staff-user/delete?pks={agent.id}").status_code == 403
    assert stored(db, agent.id) is not None
    assert "/admin/staff-user/delete" not in client.get("/admin/staff-user/list").text


# -- nobody demotes or deactivates themselves; the last admin stays ------------------------------


def test_nobody_changes_their_own_role(client, login_as, make_staff, db):
    make_staff(Role.admin)  # another admin exists: the refusal is about oneself, not the last admin
    me = login_as(Role.admin)
    response = client.post(f"/admin/staff-user/edit/{me.id}", data=staff_form(me, role="viewer"))
    assert response.status_code == 400
    assert "cannot change your own role" in response.text
    assert stored(db, me.id).role == Role.admin


def test_nobody_deactivates_themselves(client, login_as, make_staff, db):
    make_staff(Role.admin)
    me = login_as(Role.admin)
    response = client.post(f"/admin/staff-user/edit/{me.id}", data=staff_form(me, is_active=None))
    assert response.status_code == 400
    assert "cannot deactivate yourself" in response.text
    assert stored(db, me.id).is_active is True


def test_editing_oneself_otherwise_is_fine(client, login_as, db):
    me = login_as(Role.admin)
    response = client.post(f"/admin/staff-user/edit/{me.id}", data=staff_form(me, full_name="Me, renamed"))
    assert response.status_code == 302, response.text[-1000:]
    assert stored(db, me.id).full_name == "Me, renamed"


@pytest.fixture
def managers_may_edit_staff(monkeypatch):
    """The only way another role can reach the last admin is a wider matrix: the rule must hold then too."""
    # With "deactivate": without it, the active flag is not theirs to change at all (forms/action_fields.py).
    monkeypatch.setitem(MATRIX, "staff-user", {**MATRIX["staff-user"], Role.manager: {VIEW, EDIT, "deactivate"}})


@pytest.mark.usefixtures("managers_may_edit_staff")
def test_the_last_active_admin_is_never_demoted_or_deactivated(client, login_as, make_staff, db):
    admin = make_staff(Role.admin)
    make_staff(Role.admin, is_active=False)  # an inactive admin does not count
    login_as(Role.manager)
    for change in ({"role": "manager"}, {"is_active": None}):
        response = client.post(f"/admin/staff-user/edit/{admin.id}", data=staff_form(admin, **change))
        assert response.status_code == 400, change
        assert "last active admin" in response.text
    saved = stored(db, admin.id)
    assert saved.role == Role.admin and saved.is_active

    make_staff(Role.admin)  # with a second active admin, the first may be demoted
    response = client.post(f"/admin/staff-user/edit/{admin.id}", data=staff_form(admin, role="manager"))
    assert response.status_code == 302
    assert stored(db, admin.id).role == Role.manager


def test_two_admins_demoting_each_other_at_once_leave_one_admin(db, make_staff):
    """The check locks the active admins: the second demotion waits for the first, then is refused."""
    x, y = make_staff(Role.admin), make_staff(Role.admin)
    outcome: dict[str, object] = {}

    def second_request() -> None:
        with Session(db) as session:
            target = session.get(StaffUser, x.id)
            try:
                check_staff_change(session, y.id, target, Role.viewer, True)
                outcome["result"] = "allowed"
            except StaffChangeRefused as refused:
                outcome["result"] = str(refused)

    with Session(db) as first:
        target = first.get(StaffUser, y.id)
        check_staff_change(first, x.id, target, Role.viewer, True)
        target.role = Role.viewer
        first.flush()
        waiting = threading.Thread(target=second_request)
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive(), "the second check should wait for the first transaction"
        first.commit()
    waiting.join(timeout=10)
    assert "last active admin" in str(outcome.get("result"))


# -- the audit log is append-only for everyone ----------------------------------------------------


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_audit_log_is_append_only_for_every_role(client, login_as, db, role):
    login_as(role)
    with Session(db) as session:
        entry = AuditLog(action="update", entity="order", entity_pk="1")
        session.add(entry)
        session.commit()
        pk = entry.id
    forged = {"action": "forged", "entity": "order"}
    assert client.get("/admin/audit-log/create").status_code == 403
    assert client.post("/admin/audit-log/create", data=forged).status_code == 403
    assert client.get(f"/admin/audit-log/edit/{pk}").status_code == 403
    assert client.post(f"/admin/audit-log/edit/{pk}", data=forged).status_code == 403
    assert client.delete(f"/admin/audit-log/delete?pks={pk}").status_code == 403
    with Session(db) as session:
        assert session.get(AuditLog, pk).action == "update"
        added = set(session.scalars(select(AuditLog.action).where(AuditLog.id != pk)))
    assert added <= {audit.LOGIN, audit.DENIED}  # the log-in and the refusals themselves, nothing forged


# -- everyone's own password ------------------------------------------------------------------------

PAGE = "/admin/account/password"


def change(client, current: str, new: str, repeat: str | None = None):
    data = {"current_password": current, "new_password": new, "repeat_password": new if repeat is None else repeat}
    return client.post(PAGE, data=data)


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_role_reaches_its_password_page_from_the_layout(client, login_as, role):
    login_as(role)
    assert f'href="http://testserver{PAGE}"' in client.get("/admin/").text
    page = client.get(PAGE)
    assert page.status_code == 200 and 'name="current_password"' in page.text


def test_password_page_needs_a_login(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_wrong_current_password_is_refused(client, login_as, db):
    me = login_as(Role.support)
    before = stored(db, me.id).password_hash
    response = change(client, "not-my-password-1", "a-brand-new-pass-9")
    assert response.status_code == 400 and "current password is not right" in response.text
    assert stored(db, me.id).password_hash == before


@pytest.mark.parametrize(
    "new, repeat, message",
    [
        ("short-1", None, "at least 10 characters"),
        ("onlyletterslong", None, "Mix letters with digits"),
        ("a-brand-new-pass-9", "a-brand-new-pass-8", "two new passwords differ"),
        (PASSWORD, None, "different from the current"),
    ],
)
def test_a_new_password_that_breaks_the_policy_is_refused(client, login_as, db, new, repeat, message):
    me = login_as(Role.viewer)
    before = stored(db, me.id).password_hash
    response = change(client, PASSWORD, new, repeat)
    assert response.status_code == 400 and message in response.text
    assert stored(db, me.id).password_hash == before


def test_wrong_current_passwords_count_as_failed_log_ins(app, client, login_as, db, monkeypatch):
    """A stolen session cannot be used to guess the password: the page shares the login throttle."""
    from dataclasses import replace

    from starlette.testclient import TestClient

    backend = app.state.admin.authentication_backend
    monkeypatch.setattr(backend, "settings", replace(backend.settings, login_max_failures_per_account_and_address=3))
    create_app(app.state.settings, app.state.engine)  # another app in this process keeps its own limits
    me = login_as(Role.support)
    before = stored(db, me.id).password_hash
    assert [change(client, f"guess-number-{n}", "a-brand-new-pass-9").status_code for n in range(3)] == [400] * 3
    refused = change(client, PASSWORD, "a-brand-new-pass-9")  # even the right one, now
    assert refused.status_code == 400 and "Too many wrong passwords" in refused.text and "15 minutes" in refused.text
    assert stored(db, me.id).password_hash == before
    with TestClient(app, follow_redirects=False) as elsewhere:
        assert login(elsewhere, me.email).status_code == 429  # and the log-in page says the same


def test_the_right_current_password_resets_the_count(app, client, login_as, db, monkeypatch):
    from dataclasses import replace

    backend = app.state.admin.authentication_backend
    monkeypatch.setattr(backend, "settings", replace(backend.settings, login_max_failures_per_account_and_address=3))
    login_as(Role.viewer)
    assert [change(client, f"guess-number-{n}", "a-brand-new-pass-9").status_code for n in range(2)] == [400] * 2
    assert "two new passwords differ" in change(client, PASSWORD, "a-brand-new-pass-9", "other-pass-99").text
    assert [change(client, f"guess-number-{n}", "a-brand-new-pass-9").status_code for n in range(2)] == [400] * 2
    assert change(client, PASSWORD, "a-brand-new-pass-9").status_code == 302


def test_changed_password_is_the_one_that_logs_in(app, client, login_as, db):
    from starlette.testclient import TestClient

    me = login_as(Role.viewer)
    with TestClient(app, follow_redirects=False) as elsewhere:  # the same person, another browser
        assert login(elsewhere, me.email).status_code == 302
        response = change(client, PASSWORD, "a-brand-new-pass-9")
        assert response.status_code == 302
        assert "password has been changed" in client.get(response.headers["location"]).text  # still signed in here
        assert elsewhere.get("/admin/").status_code == 302  # signed out there
    client.get("/admin/logout")
    assert login(client, me.email, PASSWORD).status_code == 400
    assert login(client, me.email, "a-brand-new-pass-9").status_code == 302
    assert stored(db, me.id).password_hash.startswith("$argon2id$")
