"""Changing an account's email address: the new address is confirmed by a link mailed to it before it counts.

Terms: a *change request* is an account token of purpose `change_email` naming the new address (services.account_tokens
has the token rules); it lives a day. Until its link is opened the account keeps its address, and opening it makes the
new address the account's, verified, if no other account has taken it meanwhile (then nothing changes and the link
stays unused). An account with a password confirms the request with it; one that signs in only with a provider has
none to give.

Asking for an address another account has gets the same answer as a free one, so a signed-in user cannot learn
which addresses have accounts; no link is made, and that account is mailed a notice (no link, nothing to do) that
someone tried. Either way the request counts against the same throttle.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.mail import MailKind
from models import AccountTokenPurpose, User
from services.access import require_signed_in
from services.account_tokens import INVALID_TOKEN, account_link, issue_account_token, spend_account_token
from services.auth import AccountSecurity, Viewer, normalise_email
from services.errors import InvalidInputError
from services.mail import queue_mail
from services.throttle import Attempt

WRONG_PASSWORD = "The password is wrong"
SAME_ADDRESS = "This is the account's address already"
TAKEN = "An account with this email already exists"


async def request_email_change(viewer: Viewer, new_email: str, password: str | None, security: AccountSecurity,
                               client: str) -> None:
    """Mail the new address a link that makes it the viewer's (throttled per client address and per account: a wrong
    password counts, and so does every mail sent)."""
    user_id = require_signed_in(viewer)
    async with security.throttle.attempt(Attempt("request_email_change", client, account=str(user_id))):
        address = normalise_email(new_email, ["input", "newEmail"])
        user = await User.get(id=user_id)
        if user.has_password and not await security.passwords.verify(user.password_hash, password or ""):
            raise InvalidInputError(["input", "password"], WRONG_PASSWORD)
        if address == user.email:
            raise InvalidInputError(["input", "newEmail"], SAME_ADDRESS)
        await security.throttle.spend(Attempt("email_change_mail", client, account=str(user_id)))
        now = datetime.now(UTC)
        holder = await User.get_or_none(email=address)
        if holder is not None:
            # The same answer as for a free address (see the module's terms), and nothing that would let the asker
            # take the address: only a notice to the account that has it (none to a deleted one: it has no mail).
            if holder.deleted_at is None:
                await queue_mail(MailKind.EMAIL_IN_USE, {"recipient": holder.name}, now, user_id=holder.id)
            return
        async with in_transaction() as db:
            token = await issue_account_token(user.id, AccountTokenPurpose.CHANGE_EMAIL, now, db, new_email=address)
            await queue_mail(MailKind.EMAIL_CHANGE, {"recipient": user.name, "link": account_link(security, token)},
                             now, address=address, db=db)


async def confirm_email_change(token: str, security: AccountSecurity, client: str) -> User:
    """Spend a change request's token: its address becomes the account's, verified; the account as it is now."""
    async with security.throttle.attempt(Attempt("confirm_email_change", client)):
        now = datetime.now(UTC)
        try:
            async with in_transaction() as db:
                stored = await spend_account_token(token, AccountTokenPurpose.CHANGE_EMAIL, now, db)
                user = await User.get(id=stored.user_id, using_db=db)
                if user.deleted_at is not None:
                    raise InvalidInputError(["input", "token"], INVALID_TOKEN)
                if await User.filter(email=stored.new_email).exclude(id=user.id).using_db(db).exists():
                    raise InvalidInputError(["input", "token"], TAKEN)
                user.email = stored.new_email
                user.email_verified_at = now
                await user.save(update_fields=["email", "email_verified_at"], using_db=db)
                return user
        except IntegrityError as exc:  # taken by a sign-up in the same moment
            raise InvalidInputError(["input", "token"], TAKEN) from exc
