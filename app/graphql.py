"""The Strawberry schema with its safety limits, and the ASGI GraphQL endpoint that builds each request's context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app.calendar_accounts import CaldavAccountProbe
from app.document_cache import DocumentMemory, remembering
from app.flat_lists import FlatListExecutionContext
from app.live_socket import KeepAliveHandler, viewer_from_connection_params
from app.settings import Settings
from resolvers.context import Context
from resolvers.root import Mutation, Query, Subscription
from schema.loaders import Loaders
from services.auth import ANONYMOUS, TokenConfig, viewer_from_access_token
from services.availability import SlotLimits
from services.connections import AccountProbe
from services.credentials import CredentialVault
from services.errors import ServiceError
from services.farewell import ProviderFarewell
from services.live import LiveFeed
from services.oauth_connections import OAuthGateway
from services.slot_cache import SlotCache


def _should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions raised while resolving (they have a path). Errors about the request itself (syntax,
    validation, a variable that does not parse as its type) and our own service errors are meant for clients."""
    original = error.original_error
    return error.path is not None and original is not None and not isinstance(original, ServiceError)


class LockstepSchema(strawberry.Schema):
    documents: DocumentMemory  # the parsed and validated documents this schema remembers

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only what went wrong unexpectedly; a refused permission or a bad input is the client's business."""
        unexpected = [error for error in errors if not isinstance(error.original_error, ServiceError)]
        super().process_errors(unexpected, execution_context)


class FreshLoaders(SchemaExtension):
    """DataLoaders cache for one operation, and the slot budget is spent by one operation. A WebSocket keeps one
    context for all its operations, so without this a query sent over the socket would answer from what an earlier
    one loaded (and share its budget)."""

    def on_operation(self) -> Any:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.loaders = Loaders()
            # Every availableSlots selection of this operation, aliases too, spends from one budget.
            context.slot_budget = context.slot_limits.new_budget()
        yield


def build_schema(settings: Settings | None = None) -> LockstepSchema:
    depth = settings.max_query_depth if settings else 12
    tokens = settings.max_query_tokens if settings else 3000
    aliases = settings.max_query_aliases if settings else 20
    documents = DocumentMemory(settings.document_cache_size if settings else 256)
    extensions: list[Any] = [
        remembering(documents),
        lambda: QueryDepthLimiter(max_depth=depth),
        lambda: MaxTokensLimiter(max_token_count=tokens),
        lambda: MaxAliasesLimiter(max_alias_count=aliases),
        lambda: MaskErrors(should_mask_error=_should_mask),
        FreshLoaders,
    ]
    if settings is not None and not settings.introspection:
        extensions.append(DisableIntrospection)
    schema = LockstepSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                            execution_context_class=FlatListExecutionContext)
    schema.documents = documents
    return schema


class LockstepGraphQL(GraphQL[Context, None]):
    """/graphql over HTTP and over WebSockets. Only graphql-transport-ws is offered: clients that also speak the
    legacy graphql-ws protocol would otherwise be given it, and it cannot carry queries and mutations."""

    graphql_transport_ws_handler_class = KeepAliveHandler

    def __init__(self, settings: Settings, account_probe: AccountProbe | None = None,
                 live: LiveFeed | None = None, oauth: Mapping[str, OAuthGateway] | None = None,
                 farewell: ProviderFarewell | None = None) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql" if settings.graphiql else None,
                         subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
                         max_subscriptions_per_connection=settings.ws_max_subscriptions,
                         allowed_origins=settings.allowed_origins)
        self.ws_keepalive_seconds = settings.ws_keepalive_seconds
        self.tokens = TokenConfig(settings.jwt_secret, settings.access_token_seconds, settings.refresh_token_days)
        self.vault = CredentialVault(settings.secret_keys)
        self.account_probe = account_probe or CaldavAccountProbe(settings.caldav_timeout_seconds)
        self.live = live
        self.oauth = dict(oauth or {})
        self.allowed_return_urls = settings.oauth_return_urls
        self.farewell = farewell
        self.slot_limits = SlotLimits(settings.max_slot_query_cost, settings.max_slots_per_response,
                                      settings.min_slot_step_minutes)
        # One cache per app: each app's answers come from its own database.
        self.slot_cache = SlotCache(settings.slot_cache_starts)

    async def get_context(self, request: Any, response: Any = None) -> Context:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        viewer = ANONYMOUS
        if scheme.lower() == "bearer" and token:
            viewer = viewer_from_access_token(token.strip(), self.tokens)
        return Context(viewer=viewer, tokens=self.tokens, account_probe=self.account_probe, vault=self.vault,
                       request=request, response=response, live=self.live, oauth=self.oauth,
                       allowed_return_urls=self.allowed_return_urls, farewell=self.farewell,
                       slot_limits=self.slot_limits, slot_budget=self.slot_limits.new_budget(),
                       slot_cache=self.slot_cache)

    async def on_ws_connect(self, context: Context) -> Any:
        context.viewer = viewer_from_connection_params(context.connection_params or {}, self.tokens, context.viewer)
        return await super().on_ws_connect(context)
