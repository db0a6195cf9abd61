"""GraphQL request latency and errors, counted as each operation ends (services.metrics holds the metrics).

The operation label is the operation's root field (`bookings`, `book`, `signIn`), taken only from a document that
validated against the schema, so its values are the schema's own field names: a client choosing operation names or
sending nonsense cannot add series. A document with several root fields is "multiple"; one that did not parse or
validate is "invalid".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from graphql import FieldNode, GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionContext

from services import metrics
from services.errors import ServiceError

EXECUTION = "execution"
INVALID = "invalid"
MULTIPLE = "multiple"


def root_field(context: ExecutionContext) -> str:
    """The bounded operation label of a validated operation (see the module docstring)."""
    document = context.graphql_document
    if document is None:
        return INVALID
    operation = get_operation_ast(document, context.operation_name)
    if operation is None:
        return INVALID
    selections = operation.selection_set.selections
    names = {selection.name.value for selection in selections if isinstance(selection, FieldNode)}
    if len(names) == 1 and all(isinstance(selection, FieldNode) for selection in selections):
        return names.pop()
    return MULTIPLE


def error_type(stage: str, error: GraphQLError) -> str:
    """Which of services.metrics.ERROR_TYPES an error raised at `stage` (syntax, validation, execution) is."""
    if stage != EXECUTION:
        return stage
    if error.path is None:
        return "variables"  # raised before any field resolved: the variables did not fit their types
    if isinstance(error.original_error, ServiceError):
        return "refused"
    return "unexpected"


def _operation_type(context: ExecutionContext) -> str:
    try:
        return str(context.operation_type.value)
    except RuntimeError:  # no operation could be determined: the document did not parse
        return "unknown"


class RequestMetrics(SchemaExtension):
    """Listed after MaskErrors, so it ends first and still sees which errors were unexpected. Strawberry keeps
    every error of an operation in one place, so the stage an operation reached is noted as it passes."""

    stage = "syntax"  # the stage whose errors end the operation; "execution" once it validated

    def on_parse(self) -> Iterator[None]:
        yield
        if self.execution_context.graphql_document is not None:
            self.stage = "validation"

    def on_validate(self) -> Iterator[None]:
        yield
        if not self.execution_context.pre_execution_errors:
            self.stage = EXECUTION

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self.stage = "syntax"
        yield
        context = self.execution_context
        operation_type = _operation_type(context)
        errors = getattr(context.result, "errors", None) or context.pre_execution_errors or ()
        for error in errors:
            metrics.record_graphql_error(error_type(self.stage, error))
        if operation_type != "subscription":  # a subscription lasts as long as its client wants
            operation = root_field(context) if self.stage == EXECUTION else INVALID
            metrics.record_graphql_request(operation_type, operation, time.perf_counter() - started)
