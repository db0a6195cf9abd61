"""The web sign-in flow: start at the provider, come back to the callback, exchange the one-time code for tokens.

Terms (as for calendar connections, services.oauth_connections):
- *state*: ties the provider's answer to the sign-in Lockstep started; kept server-side (only its hash), single use,
  valid STATE_LIFETIME, so the flow completes in whichever browser the phone opens.
- *return URL*: where the browser goes afterwards; it must match the sign-in allow-list (domain.redirects).
- *sign-in code*: the callback keeps the identity the provider vouched for (sealed) and gives the return URL this
  random code instead of tokens; single use, valid CODE_LIFETIME, stored as its hash. `exchangeSignInCode` turns it
  into tokens; a code of a *link* (started by a signed-in user) is for `linkSignInProvider` by that user only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.redirects import return_url_allowed
from domain.sign_in import VerifiedIdentity
from models import SignInState
from services.auth import AccountSecurity, TokenPair, issue_tokens
from services.credentials import CredentialVault
from services.errors import AuthenticationError, InvalidInputError, ServiceError
from services.oauth_connections import AuthorisationStart
from services.sign_in import SignInGateway, account_of, vouched
from services.throttle import Attempt

STATE_LIFETIME = timedelta(minutes=10)
CODE_LIFETIME = timedelta(minutes=10)


class SignInStateError(ServiceError):
    """The callback's state is not one Lockstep handed out (`unknown`), ran out (`expired`) or was used (`used`)."""

    def __init__(self, reason: str) -> None:
        super().__init__({
            "unknown": "This sign-in link is not valid. Start signing in again from the app.",
            "expired": "This sign-in link has expired. Start signing in again from the app.",
            "used": "This sign-in link was already used. Start signing in again from the app.",
        }[reason])
        self.reason = reason


@dataclass(frozen=True)
class PendingSignIn:
    state_id: int
    provider: str
    user_id: int | None  # who is linking; None for a sign-in
    code_verifier: str = field(repr=False)
    nonce: str = field(repr=False)
    return_url: str


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def erase_stale_sign_ins(now: datetime) -> int:
    """Forget web sign-ins whose state and code have both run out (each new start does this)."""
    return await SignInState.filter(expires_at__lte=now - CODE_LIFETIME).delete()


async def start_sign_in(gateway: SignInGateway, return_url: str, allowed_return_urls: Sequence[str],
                        vault: CredentialVault, now: datetime, linking_user_id: int | None = None
                        ) -> AuthorisationStart:
    """Begin signing in (or, for `linking_user_id`, linking) at `gateway`'s provider: the URL to open."""
    if not return_url_allowed(return_url, allowed_return_urls):
        raise InvalidInputError(["input", "returnUrl"], "This return URL is not on the allowed list")
    state, verifier, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(64), secrets.token_urlsafe(24)
    url = await vouched(gateway.authorization_url(state, verifier, nonce), gateway.label)
    await erase_stale_sign_ins(now)
    expires_at = now + STATE_LIFETIME
    await SignInState.create(state_hash=_digest(state), provider=gateway.provider, user_id=linking_user_id,
                             secrets=vault.seal({"verifier": verifier, "nonce": nonce}), return_url=return_url,
                             expires_at=expires_at)
    return AuthorisationStart(url, expires_at)


async def use_sign_in_state(state: str, provider: str, vault: CredentialVault, now: datetime) -> PendingSignIn:
    """Take the state of a callback: valid once, before it expires, for the provider it was made for."""
    row = await SignInState.get_or_none(state_hash=_digest(state), provider=provider) if state else None
    if row is None:
        raise SignInStateError("unknown")
    if row.used_at is not None:
        raise SignInStateError("used")
    if row.expires_at <= now:
        raise SignInStateError("expired")
    if await SignInState.filter(id=row.id, used_at=None).update(used_at=now) != 1:
        raise SignInStateError("used")
    sealed = vault.unseal(row.secrets)
    return PendingSignIn(row.id, row.provider, row.user_id, str(sealed["verifier"]), str(sealed["nonce"]),
                         row.return_url)


async def hold_identity(pending: PendingSignIn, identity: VerifiedIdentity, vault: CredentialVault,
                        now: datetime) -> str:
    """Keep the identity the provider vouched for until its one-time code is exchanged; returns the code."""
    code = secrets.token_urlsafe(32)
    await SignInState.filter(id=pending.state_id).update(
        identity=vault.seal(dataclasses.asdict(identity)), code_hash=_digest(code),
        code_expires_at=now + CODE_LIFETIME, secrets="")
    return code


async def take_code(code: str, provider: str | None, user_id: int | None, vault: CredentialVault,
                    now: datetime) -> VerifiedIdentity:
    """The identity held under `code`, once, before it expires: a sign-in's code (`user_id` None) or the link code of
    `user_id` at `provider`. Any other code (unknown, used, expired, another user's) is refused alike."""
    row = await SignInState.get_or_none(code_hash=_digest(code)) if code else None
    if (row is None or row.identity is None or row.exchanged_at is not None or row.code_expires_at is None
            or row.code_expires_at <= now or row.user_id != user_id
            or (provider is not None and row.provider != provider)):
        raise AuthenticationError("This sign-in code is not valid; sign in again")
    sealed = row.identity
    if await SignInState.filter(id=row.id, exchanged_at=None).update(exchanged_at=now, identity=None) != 1:
        raise AuthenticationError("This sign-in code is not valid; sign in again")
    return VerifiedIdentity(**vault.unseal(sealed))


async def exchange_sign_in_code(code: str, labels: dict[str, str], security: AccountSecurity, client: str,
                                vault: CredentialVault, now: datetime) -> TokenPair:
    """The web flow's last step: the code the return URL received, as the account's token pair. `labels` names
    each provider for people."""
    async with security.throttle.attempt(Attempt("exchange_sign_in_code", client)):
        identity = await take_code(code, None, None, vault, now)
        label = labels.get(identity.provider, identity.provider)
        return await issue_tokens(await account_of(identity, label, now), security.tokens)
