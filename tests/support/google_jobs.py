"""A staff member's Google account connected to the fake of Google's servers, with the job runtime pointed at the
fake, as the job tests need it: the OAuth client Lockstep would use there, and the tokens the fake issued."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobs import runtime
from models import CalendarConnection, Provider
from providers.entry import ProviderSetup
from providers.oauth import OAuthClient
from services.credentials import CredentialVault, new_key
from tests.fakes.google import FakeGoogle
from tests.support.sync import ConnectedStaff, given_connected_staff

KEY = new_key()
VAULT = CredentialVault([KEY])
SCOPES = frozenset({"https://www.googleapis.com/auth/calendar.events",
                    "https://www.googleapis.com/auth/calendar.calendarlist.readonly"})
USER = "tech@example.com"


@dataclass
class GoogleConnection:
    client: OAuthClient
    given: ConnectedStaff
    refresh_token: str  # the one the fake issued at connect time


async def given_google_connection(google: FakeGoogle, database_url: str, token_lifetime: timedelta
                                  ) -> GoogleConnection:
    """The fake's user connected, its access token running out after `token_lifetime`, and the job runtime set to
    reach the fake with Lockstep's OAuth client there."""
    client = OAuthClient(authorize_url=google.authorize_url, token_url=google.token_url,
                         revoke_url=google.revoke_url, client_id=google.oauth.client_id,
                         client_secret=google.oauth.client_secret, redirect_uri="http://127.0.0.1/cb",
                         scopes=tuple(sorted(SCOPES)))
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,),
                                        providers={"google": ProviderSetup(client, google.api_url)}))
    access, refresh = google.oauth.issue_tokens(SCOPES)
    sealed = VAULT.seal({"access_token": access, "refresh_token": refresh, "scope": " ".join(SCOPES)})
    given = await given_connected_staff(USER, credentials=sealed, provider=Provider.GOOGLE)
    await CalendarConnection.filter(id=given.connection.id).update(
        token_expires_at=datetime.now(UTC) + token_lifetime, account_label=USER)
    return GoogleConnection(client, given, refresh)
