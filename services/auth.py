"""Accounts, password hashing, access tokens (JWT) and rotating refresh tokens.

Terms: an *access token* is a short-lived HS256 JWT naming the user and role; a *refresh token* is an opaque random
string, stored only as its SHA-256, that can be exchanged once for a new pair. Reusing a refresh token that was
already exchanged revokes its whole family (it has leaked), except within the *reuse grace*: a second use from the
same client address moments after the first is a client retrying a refresh whose answer it lost; it is refused
without signing anyone out.

Every attempt to sign in, sign up, refresh or accept an invitation goes through the attempt throttle
(`services.throttle`), and passwords are hashed off the event loop (`services.passwords`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jwt import JWTClaimsRegistry
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import RefreshToken, Staff, User, UserRole
from services.errors import AuthenticationError, InvalidInputError
from services.passwords import PasswordHashing, check_new_password, refuse_weak_password
from services.throttle import Attempt, AttemptThrottle
from services.validation import FieldChecks, text


@dataclass(frozen=True)
class TokenConfig:
    secret: str
    access_seconds: int
    refresh_days: int


@dataclass(frozen=True)
class AccountSecurity:
    """What the account use cases need besides the database."""

    tokens: TokenConfig
    passwords: PasswordHashing
    throttle: AttemptThrottle
    refresh_reuse_grace: timedelta = timedelta(seconds=10)
    # The web app's page that account mail links to, with `?token=` (services.account_tokens), or with `?invite=`
    # for a staff invitation (services.staff_invites).
    account_link_url: str = "http://127.0.0.1:8000/account"


@dataclass(frozen=True)
class Viewer:
    """Who is asking: a signed-in user (from a valid access token) or nobody. A Viewer read from a token alone is a
    claim; `current_viewer` turns it into the user and role the database has."""

    user_id: int | None
    role: UserRole | None
    auth_problem: str = ""

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None


ANONYMOUS = Viewer(user_id=None, role=None)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    access_expires_at: datetime
    refresh_token: str
    refresh_expires_at: datetime
    user: User


def normalise_email(email: str, path: list[str | int]) -> str:
    value = email.strip().lower()
    local, _, domain = value.partition("@")
    if not local or "." not in domain or len(value) > 254 or " " in value:
        raise InvalidInputError(path, "Enter a valid email address")
    return value


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _key(config: TokenConfig) -> OctKey:
    return OctKey.import_key(config.secret)


async def issue_tokens(user: User, config: TokenConfig, family: str | None = None) -> TokenPair:
    now = datetime.now(UTC)
    access_expires = now + timedelta(seconds=config.access_seconds)
    claims = {"sub": str(user.id), "role": str(user.role), "iat": int(now.timestamp()),
              "exp": int(access_expires.timestamp())}
    access = jwt.encode({"alg": "HS256"}, claims, _key(config))
    refresh = secrets.token_urlsafe(32)
    refresh_expires = now + timedelta(days=config.refresh_days)
    await RefreshToken.create(user=user, token_hash=_digest(refresh), family=family or secrets.token_hex(16),
                              expires_at=refresh_expires)
    return TokenPair(access, access_expires, refresh, refresh_expires, user)


def viewer_from_access_token(token: str, config: TokenConfig) -> Viewer:
    """The viewer an access token names; an invalid or expired token yields an anonymous viewer that says why."""
    try:
        decoded = jwt.decode(token, _key(config), algorithms=["HS256"])
        JWTClaimsRegistry(exp={"essential": True}, sub={"essential": True}).validate(decoded.claims)
        return Viewer(user_id=int(decoded.claims["sub"]), role=UserRole(decoded.claims["role"]))
    except JoseError as exc:
        problem = "access token expired" if "expired" in str(exc).lower() else "access token invalid"
        return Viewer(user_id=None, role=None, auth_problem=problem)
    except (ValueError, KeyError):
        return Viewer(user_id=None, role=None, auth_problem="access token invalid")


NO_LONGER_EXISTS = "This account no longer exists"


async def current_viewer(claimed: Viewer) -> Viewer:
    """The viewer as the database says now. A token names a user and the role they had when it was issued; the user
    may since have been deleted, or a customer may have deleted their account (then nobody is signed in), or been
    given another role (then the new one counts)."""
    if claimed.user_id is None:
        return claimed
    user = await User.get_or_none(id=claimed.user_id)
    if user is None or user.deleted_at is not None:
        return Viewer(user_id=None, role=None, auth_problem=NO_LONGER_EXISTS)
    return Viewer(user_id=user.id, role=UserRole(user.role))


async def sign_up(email: str, password: str, name: str, role: UserRole, security: AccountSecurity,
                  client: str, welcome: Callable[[User, Any], Awaitable[object]] | None = None) -> TokenPair:
    """A new account with a password, signed in. `welcome(user, db)` runs in the transaction that creates it (the
    mail that asks to verify the address is owed exactly when the account exists)."""
    async with security.throttle.attempt(Attempt("sign_up", client)):
        checks = FieldChecks()
        address = checks.check(normalise_email, email, ["input", "email"])
        clean_name = checks.check(text, name, ["input", "name"])
        with checks.field():
            # Judged against what was typed when the address or name is itself refused.
            await refuse_weak_password(security.passwords, password, address or email, clean_name or name,
                                       ["input", "password"])
        checks.done()
        password_hash = await security.passwords.hash(password)
        try:
            async with in_transaction() as db:
                user = await User.create(email=address, name=clean_name, password_hash=password_hash, role=role,
                                         using_db=db)
                if welcome is not None:
                    await welcome(user, db)
                return await issue_tokens(user, security.tokens)
        except IntegrityError as exc:
            raise InvalidInputError(["input", "email"], "An account with this email already exists") from exc


async def sign_in(email: str, password: str, security: AccountSecurity, client: str) -> TokenPair:
    address = email.strip().lower()
    async with security.throttle.attempt(Attempt("sign_in", client, account=address)):
        user = await User.get_or_none(email=address)
        if not await security.passwords.verify(user.password_hash if user else None, password) or user is None:
            raise AuthenticationError("Email or password is wrong")
        if security.passwords.needs_rehash(user.password_hash):
            user.password_hash = await security.passwords.hash(password)
            await user.save(update_fields=["password_hash"])
        return await issue_tokens(user, security.tokens)


async def refresh(refresh_token: str, security: AccountSecurity, client: str) -> TokenPair:
    async with security.throttle.attempt(Attempt("refresh_token", client)):
        return await _rotate(refresh_token, security, _digest(client))


async def _rotate(refresh_token: str, security: AccountSecurity, client_digest: str) -> TokenPair:
    now = datetime.now(UTC)
    async with in_transaction():
        stored = await RefreshToken.get_or_none(token_hash=_digest(refresh_token)).select_related("user")
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise AuthenticationError("Refresh token is invalid or expired")
        # Only one of two concurrent refreshes with the same token may win, and never after a sign-out.
        claimed = await RefreshToken.filter(id=stored.id, replaced_at=None, revoked_at=None,
                                            expires_at__gt=now).update(replaced_at=now, replaced_from=client_digest)
        if claimed == 1:
            return await issue_tokens(stored.user, security.tokens, family=stored.family)
        winner = await RefreshToken.get(id=stored.id)
        if (winner.replaced_at is not None and now - winner.replaced_at <= security.refresh_reuse_grace
                and winner.replaced_from == client_digest):
            # The same client retrying a refresh whose answer it lost: refuse, but don't sign it out everywhere.
            raise AuthenticationError("Refresh token was just used; use the tokens it returned")
        # A replayed token has leaked: the revocation must commit, so it happens before the error is raised.
        await RefreshToken.filter(family=stored.family, revoked_at=None).update(revoked_at=now)
    raise AuthenticationError("Refresh token was already used; sign in again")


async def sign_out(refresh_token: str) -> None:
    stored = await RefreshToken.get_or_none(token_hash=_digest(refresh_token))
    if stored is not None:
        await RefreshToken.filter(family=stored.family, revoked_at=None).update(revoked_at=datetime.now(UTC))


def invite_code() -> tuple[str, str]:
    """A one-time staff invitation code and the digest that is stored."""
    code = secrets.token_urlsafe(18)
    return code, _digest(code)


async def accept_staff_invite(code: str, password: str, security: AccountSecurity, client: str) -> TokenPair:
    async with security.throttle.attempt(Attempt("accept_staff_invite", client)):
        return await _accept_invite(code, password, security)


async def _accept_invite(code: str, password: str, security: AccountSecurity) -> TokenPair:
    invited = await Staff.get_or_none(invite_code_hash=_digest(code))
    if invited is None or invited.user_id is not None:
        raise InvalidInputError(["input", "code"], "This invitation code is not valid")
    password_hash = await check_new_password(security.passwords, password, invited.email, invited.name,
                                             ["input", "password"])
    async with in_transaction():
        staff = await Staff.get_or_none(invite_code_hash=_digest(code))
        if staff is None or staff.user_id is not None:
            raise InvalidInputError(["input", "code"], "This invitation code is not valid")
        try:
            user = await User.create(email=staff.email, name=staff.name, password_hash=password_hash,
                                     role=UserRole.STAFF)
        except IntegrityError as exc:
            raise InvalidInputError(["input", "code"], "An account with this staff email already exists") from exc
        staff.user = user
        staff.invite_code_hash = None
        await staff.save(update_fields=["user_id", "invite_code_hash"])
        return await issue_tokens(user, security.tokens)
