"""Mailing a staff invitation.

Terms: a *staff invitation* is the one-time code with which a staff member who has not joined yet creates their
sign-in (acceptStaffInvite, services.auth); only its digest is stored (Staff.invite_code_hash). Every new code
(createStaff, resendStaffInvite) is mailed to the address the owner gave for the staff member, in the transaction
that stores its digest, as a link to the web app's account page with `?invite=`
(services.account_tokens.staff_invite_link). The mail is account mail (domain.mail): it is always sent, in the
business's name, and its row keeps the link only until it is sent or given up on (services.mail_delivery). A new code
makes an invitation still waiting to be sent useless (its code no longer works), so that one is dropped.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.mail import MailKind
from models import Business, MailOutbox, MailState, Staff, User
from services.account_tokens import staff_invite_link
from services.auth import AccountSecurity
from services.mail import queue_mail


async def _drop_unsent_invitations(staff: Staff, db: Any) -> None:
    waiting = await MailOutbox.filter(kind=MailKind.STAFF_INVITE.value, address=staff.email,
                                      state=MailState.PENDING).using_db(db)
    for row in waiting:
        # The same address may be invited by another business too; only this staff member's invitations go.
        if row.data.get("staffId") == staff.id:
            kept = {key: value for key, value in row.data.items() if key != "link"}
            await MailOutbox.filter(id=row.id, state=MailState.PENDING).using_db(db).update(
                state=MailState.DROPPED, data=kept)


async def mail_staff_invite(staff: Staff, code: str, security: AccountSecurity, now: datetime, db: Any) -> None:
    """Owe the staff member the mail that carries `code`'s link (inside the transaction `db` that stores its digest),
    instead of any earlier invitation of theirs not sent yet."""
    business = await Business.get(id=staff.business_id, using_db=db)
    owner = await User.get(id=business.owner_id, using_db=db)
    await _drop_unsent_invitations(staff, db)
    await queue_mail(MailKind.STAFF_INVITE, {"recipient": staff.name, "inviter": owner.name,
                                             "business": business.name, "staffId": staff.id,
                                             "link": staff_invite_link(security, code)},
                     now, address=staff.email, db=db)
