"""A staff member's Microsoft 365 account connected to the fake identity platform and Graph, with the job runtime
pointed at the fake, as the job tests need it: the OAuth client Lockstep would use there, and the tokens the fake
issued."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from jobs import runtime
from models import CalendarConnection, Provider
from providers.entry import ProviderSetup
from providers.oauth import OAuthClient
from providers.registry import MICROSOFT_OAUTH_SCOPES
from services.credentials import CredentialVault, new_key
from tests.fakes.microsoft import FakeMicrosoft
from tests.support.graph_contract import conforming_microsoft
from tests.support.sync import ConnectedStaff, given_connected_staff

KEY = new_key()
VAULT = CredentialVault([KEY])
ACCOUNT = "tech@contoso.example"


@dataclass
class MicrosoftConnection:
    client: OAuthClient
    given: ConnectedStaff
    refresh_token: str  # the one the fake issued at connect time


def microsoft_client(microsoft: FakeMicrosoft, client_secret: str | None = None) -> OAuthClient:
    """Lockstep's OAuth client at the fake, as the registry's Microsoft description builds it."""
    return OAuthClient(authorize_url=microsoft.authorize_url, token_url=microsoft.token_url, revoke_url="",
                       client_id=microsoft.client_id, client_secret=client_secret or microsoft.client_secret,
                       redirect_uri="http://127.0.0.1/cb", scopes=MICROSOFT_OAUTH_SCOPES,
                       scopes_at_token_endpoint=True)


def configure_jobs(microsoft: FakeMicrosoft, database_url: str, client: OAuthClient, public_url: str = "") -> None:
    runtime.configure(runtime.JobConfig(database_url=database_url, redis_url="redis://unused", secret_keys=(KEY,),
                                        providers={"microsoft": ProviderSetup(client, microsoft.api_url)},
                                        public_url=public_url))


async def given_microsoft_connection(microsoft: FakeMicrosoft, database_url: str, token_lifetime: timedelta,
                                     public_url: str = "") -> MicrosoftConnection:
    """The fake's account connected (its default calendar importing busy time and the destination), the access
    token running out after `token_lifetime`, and the job runtime set to reach the fake with Lockstep's OAuth
    client there (and, when given, to open subscriptions to `public_url`'s webhook)."""
    client = microsoft_client(microsoft)
    configure_jobs(microsoft, database_url, client, public_url)
    issued = microsoft.oauth.issue_tokens(ACCOUNT, " ".join(MICROSOFT_OAUTH_SCOPES))
    sealed = VAULT.seal({"access_token": issued["access_token"], "refresh_token": issued["refresh_token"],
                         "scope": issued["scope"]})
    given = await given_connected_staff(microsoft.default_calendar_id(), credentials=sealed,
                                        provider=Provider.MICROSOFT)
    await CalendarConnection.filter(id=given.connection.id).update(
        token_expires_at=datetime.now(UTC) + token_lifetime, account_label=ACCOUNT)
    return MicrosoftConnection(client, given, str(issued["refresh_token"]))


@dataclass
class Connected:
    """A conforming fake and the staff member connected to its account (given_microsoft_connection)."""

    microsoft: FakeMicrosoft
    given: ConnectedStaff


@asynccontextmanager
async def connected_to_a_fake(database_url: str) -> AsyncIterator[Connected]:
    """A fake Graph whose traffic must conform, with the staff member connected (access for an hour)."""
    async with conforming_microsoft() as microsoft:
        connection = await given_microsoft_connection(microsoft, database_url, timedelta(hours=1))
        yield Connected(microsoft, connection.given)
