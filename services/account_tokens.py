"""Mailed account tokens: verifying an account's address, and resetting a forgotten password (changing the address is
services.email_change).

Terms: an *account token* (models.AccountToken) is a random string mailed as a link to the web app's account page
(`AccountSecurity.account_link_url` with `?token=`; a staff invitation links to the same page with `?invite=`,
services.staff_invites); only its SHA-256 is stored. It is *spent* by the one use that claims it (a conditional
update, so two uses at once cannot both succeed), and is void after its lifetime: a day to verify an address or
confirm a new one, an hour to reset a password. A token that is unknown, spent or void is refused with one message,
and nothing changes.

Asking for a password reset answers the same whether or not an account has that address, and does the same work
either way (a token is drawn and digested, the account looked up, one row written); only the mail tells.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from tortoise.transactions import in_transaction

from domain.mail import MailKind
from models import AccountToken, AccountTokenPurpose, MailOutbox, RefreshToken, User, UserRole
from services.access import require_signed_in
from services.auth import AccountSecurity, TokenPair, Viewer, normalise_email, sign_up
from services.errors import InvalidInputError
from services.mail import queue_mail
from services.passwords import check_new_password
from services.throttle import Attempt

LIFETIME = {
    AccountTokenPurpose.VERIFY_EMAIL: timedelta(hours=24),
    AccountTokenPurpose.RESET_PASSWORD: timedelta(hours=1),
    AccountTokenPurpose.CHANGE_EMAIL: timedelta(hours=24),
}
INVALID_TOKEN = "This link is not valid any more: it was used already, has expired, or was never issued"
ALREADY_VERIFIED = "This email address is verified already"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _account_page(security: AccountSecurity, parameter: str, value: str) -> str:
    joiner = "&" if "?" in security.account_link_url else "?"
    return f"{security.account_link_url}{joiner}{urlencode({parameter: value})}"


def account_link(security: AccountSecurity, token: str) -> str:
    """The web app's account page with the token, as account mail links to it."""
    return _account_page(security, "token", token)


def staff_invite_link(security: AccountSecurity, code: str) -> str:
    """The same page with a staff invitation code as `?invite=` instead: the web app tells the two apart by the
    parameter, and hands an invitation code to acceptStaffInvite (with the password the staff member chooses)."""
    return _account_page(security, "invite", code)


async def issue_account_token(user_id: int, purpose: AccountTokenPurpose, now: datetime, db: Any,
                              new_email: str = "") -> str:
    """A new token of the account for `purpose`, stored as its digest in the transaction `db`; the token itself."""
    token = secrets.token_urlsafe(32)
    await AccountToken.create(user_id=user_id, purpose=purpose, token_hash=token_digest(token), new_email=new_email,
                              expires_at=now + LIFETIME[purpose], using_db=db)
    return token


async def spend_account_token(token: str, purpose: AccountTokenPurpose, now: datetime, db: Any) -> AccountToken:
    """Claim the token for `purpose` in the transaction `db`; InvalidInputError when it is unknown, spent or void."""
    stored = await AccountToken.filter(token_hash=token_digest(token), purpose=purpose).using_db(db).first()
    if stored is None or stored.used_at is not None or stored.expires_at <= now:
        raise InvalidInputError(["input", "token"], INVALID_TOKEN)
    claimed = await AccountToken.filter(id=stored.id, used_at=None).using_db(db).update(used_at=now)
    if claimed != 1:
        raise InvalidInputError(["input", "token"], INVALID_TOKEN)
    return stored


async def owe_verification(user: User, security: AccountSecurity, now: datetime, db: Any) -> None:
    """A verification token for the account's address, and the mail that carries its link (inside `db`)."""
    token = await issue_account_token(user.id, AccountTokenPurpose.VERIFY_EMAIL, now, db)
    await queue_mail(MailKind.ACCOUNT_VERIFY, {"recipient": user.name, "link": account_link(security, token)}, now,
                     user_id=user.id, db=db)


async def sign_up_with_password(email: str, password: str, name: str, role: UserRole, security: AccountSecurity,
                                client: str) -> TokenPair:
    """services.auth.sign_up, and the account's address is sent a link to verify it."""

    async def welcome(user: User, db: Any) -> None:
        await owe_verification(user, security, datetime.now(UTC), db)

    return await sign_up(email, password, name, role, security, client, welcome)


async def resend_verification(viewer: Viewer, security: AccountSecurity, client: str) -> User:
    """Another verification link for the signed-in viewer's unverified address (throttled per address and account);
    earlier links keep working until they expire."""
    user_id = require_signed_in(viewer)
    await security.throttle.spend(Attempt("resend_verification", client, account=str(user_id)))
    async with in_transaction() as db:
        user = await User.get(id=user_id, using_db=db)
        if user.email_verified_at is not None:
            raise InvalidInputError([], ALREADY_VERIFIED)
        await owe_verification(user, security, datetime.now(UTC), db)
    return user


async def verify_email(token: str, security: AccountSecurity, client: str) -> User:
    """Spend a verification token: the account's address is verified from now on."""
    async with security.throttle.attempt(Attempt("verify_email", client)):
        now = datetime.now(UTC)
        async with in_transaction() as db:
            stored = await spend_account_token(token, AccountTokenPurpose.VERIFY_EMAIL, now, db)
            user = await User.get(id=stored.user_id, using_db=db)
            if user.deleted_at is not None:
                raise InvalidInputError(["input", "token"], INVALID_TOKEN)
            if user.email_verified_at is None:
                user.email_verified_at = now
                await user.save(update_fields=["email_verified_at"], using_db=db)
            return user


async def request_password_reset(email: str, security: AccountSecurity, client: str) -> None:
    """Mail a password-reset link to the account with this address, if there is one; the caller learns nothing
    either way (throttled per client address and per address asked for, counted whatever the outcome)."""
    address = normalise_email(email, ["input", "email"])
    await security.throttle.spend(Attempt("request_password_reset", client, account=address))
    now = datetime.now(UTC)
    async with in_transaction() as db:
        user = await User.filter(email=address, deleted_at=None).using_db(db).first()
        if user is None:
            # The same work as for an account: a token drawn and digested, and a statement in the transaction.
            token_digest(secrets.token_urlsafe(32))
            await MailOutbox.filter(id=-1).using_db(db).update(attempts=0)
            return
        token = await issue_account_token(user.id, AccountTokenPurpose.RESET_PASSWORD, now, db)
        await queue_mail(MailKind.PASSWORD_RESET, {"recipient": user.name, "link": account_link(security, token)},
                         now, user_id=user.id, db=db)


async def reset_password(token: str, new_password: str, security: AccountSecurity, client: str) -> None:
    """Spend a reset token: the account's password is `new_password` (as strong as sign-up asks), and every
    refresh token of the account is revoked, so whoever knew the old password is signed out everywhere."""
    async with security.throttle.attempt(Attempt("reset_password", client)):
        now = datetime.now(UTC)
        stored = await AccountToken.get_or_none(token_hash=token_digest(token),
                                                purpose=AccountTokenPurpose.RESET_PASSWORD)
        if stored is None or stored.used_at is not None or stored.expires_at <= now:
            raise InvalidInputError(["input", "token"], INVALID_TOKEN)
        owner = await User.get(id=stored.user_id)
        password_hash = await check_new_password(security.passwords, new_password, owner.email, owner.name,
                                                 ["input", "newPassword"])
        async with in_transaction() as db:
            await spend_account_token(token, AccountTokenPurpose.RESET_PASSWORD, now, db)
            await User.filter(id=owner.id).using_db(db).update(password_hash=password_hash)
            await RefreshToken.filter(user_id=owner.id, revoked_at=None).using_db(db).update(revoked_at=now)
