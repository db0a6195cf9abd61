"""The Strawberry schema with its safety limits, and the ASGI GraphQL endpoint that builds each request's context."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from typing import Any

import strawberry
from cross_web import HTTPException
from graphql import GraphQLError, validate
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from strawberry.asgi import GraphQL
from strawberry.extensions import (
    DisableIntrospection,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from app import graphiql
from app.account_security import account_security
from app.appointment_accounts import AppointmentAccounts
from app.calendar_accounts import CaldavAccountProbe
from app.connection_preview import LiveConnectionReader
from app.document_cache import DocumentMemory, remembering
from app.input_errors import ClearLiteralErrors, ClearVariableErrorsExecution
from app.live_socket import KeepAliveHandler, viewer_from_connection_params
from app.request_metrics import RequestMetrics
from app.settings import Settings
from domain.client_address import client_address, trusted_networks
from resolvers.context import Context
from resolvers.root import Mutation, Query, Subscription
from resolvers.text_input import RefuseControlCharacters
from schema.loaders import Loaders
from schema.scalars import SCALARS, ScalarInputError
from services.auth import ANONYMOUS, AccountSecurity, current_viewer, viewer_from_access_token
from services.availability import SlotLimits
from services.calendar_feeds import FeedAddress
from services.connection_preview import ConnectionReader
from services.connections import AccountProbe
from services.credentials import CredentialVault
from services.errors import ServiceError
from services.farewell import ProviderFarewell
from services.live import LiveFeed
from services.oauth_connections import OAuthGateway
from services.quotas import Quotas
from services.sign_in import SignInGateway
from services.slot_cache import SlotCache


def _should_mask(error: GraphQLError) -> bool:
    """Mask unexpected exceptions raised while resolving (they have a path). Errors about the request itself (syntax,
    validation, a variable that does not parse as its type) and our own service errors are meant for clients."""
    original = error.original_error
    return error.path is not None and original is not None and not isinstance(original, ServiceError)


log = logging.getLogger("lockstep.graphql")


def operation_hash(query: str | None) -> str:
    """Names an operation's text in the logs without writing it (it may carry a password typed inline)."""
    return hashlib.sha256((query or "").encode()).hexdigest()[:16]


class LockstepSchema(strawberry.Schema):
    documents: DocumentMemory  # the parsed and validated documents this schema remembers

    def process_errors(self, errors: list[GraphQLError], execution_context: Any = None) -> None:
        """Log only what went wrong unexpectedly; a refused permission or a bad input is the client's business.
        Strawberry's own logging prints the error with the line of the operation's text it points at, so the
        operation's name, a hash of its text and the error are logged instead, never the text or its variables."""
        for error in errors:
            original = error.original_error
            if isinstance(original, ServiceError | ScalarInputError):
                continue
            # Without an original exception the request itself was wrong (syntax, validation): the client's mistake.
            level = logging.ERROR if original is not None else logging.WARNING
            log.log(level, "GraphQL operation failed", exc_info=original, extra={
                "fields": {
                    "operation": getattr(execution_context, "operation_name", None),
                    "operation_hash": operation_hash(getattr(execution_context, "query", None)),
                    "path": [str(part) for part in error.path or ()],
                    "error": type(original).__name__ if original is not None else "GraphQLError",
                }})


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


class HideSuggestions(SchemaExtension):
    """Validate without "Did you mean ...?" hints. A hint names fields, arguments, types and enum values near a
    misspelling, so with introspection off it would still let anyone read the schema one guess at a time. Running
    validation here (with Strawberry's own rules added, as it would) leaves Strawberry's validation step nothing to do.
    """

    def on_validate(self) -> Any:
        context = self.execution_context
        # Validation errors already known for this document (the document memory) were found without hints too.
        if context.graphql_document is not None and context.validation_rules and context.pre_execution_errors is None:
            rules = (*context.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
            context.pre_execution_errors = validate(context.schema._schema, context.graphql_document, rules,
                                                    hide_suggestions=True)
        yield


class ExecutionWithoutSuggestions(ClearVariableErrorsExecution):
    """Execution whose variable errors carry no hints either (a misspelled enum value in `variables`)."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        kwargs["hide_suggestions"] = True
        return super().build(*args, **kwargs)


class CurrentViewer(SchemaExtension):
    """Reads the token's user once per operation, before any resolver runs: a deleted user is nobody, and a changed
    role counts at once, even on a WebSocket opened with an older token."""

    async def on_operation(self) -> Any:
        context = self.execution_context.context
        if isinstance(context, Context):
            context.viewer = await current_viewer(context.token_viewer)
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
        RequestMetrics,
        FreshLoaders,
        CurrentViewer,
        RefuseControlCharacters,
        ClearLiteralErrors,
    ]
    execution: type[StrawberryGraphQLCoreExecutionContext] = ClearVariableErrorsExecution
    if settings is not None and not settings.introspection:
        extensions += [DisableIntrospection, HideSuggestions]
        execution = ExecutionWithoutSuggestions
    schema = LockstepSchema(query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions,
                            execution_context_class=execution, scalar_overrides=SCALARS)
    schema.documents = documents
    return schema


class LockstepGraphQL(GraphQL[Context, None]):
    """/graphql over HTTP and over WebSockets. Only graphql-transport-ws is offered: clients that also speak the
    legacy graphql-ws protocol would otherwise be given it, and it cannot carry queries and mutations."""

    graphql_transport_ws_handler_class = KeepAliveHandler

    def __init__(self, settings: Settings, account_probe: AccountProbe | None = None,
                 live: LiveFeed | None = None, oauth: Mapping[str, OAuthGateway] | None = None,
                 farewell: ProviderFarewell | None = None, accounts: AccountSecurity | None = None,
                 connection_reader: ConnectionReader | None = None,
                 sign_in: Mapping[str, SignInGateway] | None = None) -> None:
        super().__init__(build_schema(settings), graphql_ide="graphiql" if settings.graphiql else None,
                         subscription_protocols=[GRAPHQL_TRANSPORT_WS_PROTOCOL],
                         max_subscriptions_per_connection=settings.ws_max_subscriptions,
                         allowed_origins=settings.allowed_origins)
        self.ws_keepalive_seconds = settings.ws_keepalive_seconds
        self.accounts = accounts or account_security(settings)
        self.tokens = self.accounts.tokens
        self.trusted_proxies = trusted_networks(settings.trusted_proxies)
        self.vault = CredentialVault(settings.secret_keys)
        self.account_probe = account_probe or CaldavAccountProbe(settings.caldav_timeout_seconds)
        self.live = live
        self.oauth = dict(oauth or {})
        self.allowed_return_urls = settings.oauth_return_urls
        self.farewell = farewell
        self.sign_in = dict(sign_in or {})
        self.sign_in_return_urls = settings.sign_in_return_urls
        self.feeds = FeedAddress(settings.public_url)
        self.max_feed_bookings = settings.max_feed_bookings
        self.connection_reader = connection_reader or LiveConnectionReader.from_settings(settings, self.vault)
        self.appointment_accounts = AppointmentAccounts(settings, self.vault)
        self.quotas = Quotas(businesses_per_owner=settings.max_businesses_per_owner,
                             staff_per_business=settings.max_staff_per_business,
                             services_per_business=settings.max_services_per_business,
                             ranges_per_day=settings.max_ranges_per_day)

        self.slot_limits = SlotLimits(settings.max_slot_query_cost, settings.max_slots_per_response,
                                      settings.min_slot_step_minutes)
        # One cache per app: each app's answers come from its own database.
        self.slot_cache = SlotCache(settings.slot_cache_starts)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page, whose scripts this server serves (app.graphiql)."""
        return HTMLResponse(graphiql.page())

    def decode_json(self, data: str | bytes) -> object:
        """A request body must be one operation (a JSON object; a list is a batch, refused as such). Bodies arrive as
        bytes; `variables` in a query string arrive as text and may be `null`."""
        decoded = super().decode_json(data)
        if isinstance(data, bytes) and not isinstance(decoded, dict | list):
            raise HTTPException(400, "The request body must be a JSON object")
        return decoded

    async def get_context(self, request: Any, response: Any = None) -> Context:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        viewer = ANONYMOUS
        if scheme.lower() == "bearer" and token:
            viewer = viewer_from_access_token(token.strip(), self.tokens)
        peer = request.client.host if request.client else None
        # Every X-Forwarded-For line: a proxy that adds its own line after the client's must not be read past.
        forwarded = ",".join(request.headers.getlist("x-forwarded-for")) or None
        address = client_address(peer, forwarded, self.trusted_proxies)
        return Context(token_viewer=viewer, tokens=self.tokens, account_probe=self.account_probe, vault=self.vault,
                       accounts=self.accounts, client_address=address,
                       request=request, response=response, live=self.live, oauth=self.oauth,
                       allowed_return_urls=self.allowed_return_urls, farewell=self.farewell,
                       connection_reader=self.connection_reader, quotas=self.quotas,
                       appointment_accounts=self.appointment_accounts,
                       slot_limits=self.slot_limits, slot_budget=self.slot_limits.new_budget(),
                       slot_cache=self.slot_cache, sign_in=self.sign_in,
                       sign_in_return_urls=self.sign_in_return_urls, feeds=self.feeds,
                       max_feed_bookings=self.max_feed_bookings)

    async def on_ws_connect(self, context: Context) -> Any:
        context.token_viewer = viewer_from_connection_params(context.connection_params or {}, self.tokens,
                                                             context.token_viewer)
        return await super().on_ws_connect(context)
