"""Lists of slots completed in one pass answer exactly what graphql-core's own completion answers."""

from typing import Any

import pytest
import strawberry
from graphql import execute, parse
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from app.flat_lists import FlatListExecutionContext, _column
from app.graphql import build_schema
from resolvers.context import Context
from services.auth import ANONYMOUS
from tests.resolvers.test_availability import MORNING
from tests.resolvers.test_bookings import at
from tests.support.graphql import GraphQLClient, given_shop

DOCUMENTS = [
    "slots { start end staffIds }",
    "slots { __typename begins: start start staffIds }",
    "slots { start end @include(if: $flag) staffIds @skip(if: $flag) }",
    "slots { ...times who: staffIds } } fragment times on Slot { start ... on Slot { end }",
]
QUERY = """query($s: ID!, $from: DateTime!, $to: DateTime!, $flag: Boolean!) {
  availableSlots(serviceId: $s, from: $from, to: $to, timeZone: "America/New_York") {
    ... on AvailableSlots { %s } } }"""


def answer(schema: Any, document: str, variables: dict[str, Any], context_class: Any) -> Any:
    context = Context(token_viewer=ANONYMOUS, tokens=None, account_probe=None, vault=None,  # type: ignore[arg-type]
                      accounts=None, client_address="127.0.0.1")  # type: ignore[arg-type]
    return execute(schema._schema, parse(QUERY % document), context_value=context, variable_values=variables,
                   executor_class=context_class)


@pytest.mark.parametrize("document", DOCUMENTS)
async def test_the_same_answer_as_the_ordinary_completion(api: GraphQLClient, document: str) -> None:
    shop = await given_shop(api, hours=MORNING)
    schema = build_schema()
    for flag in (True, False):
        variables = {"s": shop.service_id, "from": at(0), "to": at(0, day=2), "flag": flag}
        fast = await answer(schema, document, variables, FlatListExecutionContext)
        ordinary = await answer(schema, document, variables, StrawberryGraphQLCoreExecutionContext)
        assert fast.errors is None
        assert len(fast.data["availableSlots"]["slots"]) == 10
        assert fast.data == ordinary.data


@strawberry.type(name="Slot")
class ComputedSlot:
    start: str

    @strawberry.field
    def label(self) -> str:
        return "computed"

    @strawberry.field
    def shifted(self, minutes: int) -> str:
        return self.start


@strawberry.type
class ComputedQuery:
    slots: list[ComputedSlot]


def test_a_field_with_a_resolver_or_arguments_is_not_flat() -> None:
    graphql_type = strawberry.Schema(query=ComputedQuery)._schema.type_map["Slot"]
    assert _column(graphql_type, "start", "start") is not None  # type: ignore[arg-type]
    assert _column(graphql_type, "label", "label") is None  # type: ignore[arg-type]
    assert _column(graphql_type, "shifted", "shifted") is None  # type: ignore[arg-type]
