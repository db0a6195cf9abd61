"""A faster completion of long lists of plain leaf-only objects, such as the slots of an availability answer.

graphql-core completes every field of every list item on its own: a resolver call, a path, a type check. For a
month of slots that is thousands of field completions and most of a request's time. A *flat type* is an object
type whose fields are plain attributes holding scalars, enums or lists of them, with no arguments, resolvers,
permissions or extensions. For a list of such objects the selection is collected once (aliases, fragments,
`@include`/`@skip` and `__typename` honoured) and each item is built straight from its attributes, every value
serialized by its scalar as graphql-core would. Anything out of the ordinary (a `@defer`, a null where none may be,
a field that is not flat) falls back to the ordinary completion, so the answer is always the same.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    is_object_type,
)
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

# Types checked to be flat (see the module docstring); a type added here must stay free of resolvers and arguments.
FLAT_TYPES = frozenset({"Slot"})
_DEFINITION = "strawberry-definition"
_Column = tuple[str, str | None, Callable[[Any], Any] | None, bool, bool]  # key, attribute, serialize, list, non-null


def _column(object_type: GraphQLObjectType, key: str, field_name: str) -> _Column | None:
    if field_name == "__typename":
        return key, None, None, False, True
    field = object_type.fields.get(field_name)
    definition = field.extensions.get(_DEFINITION) if field else None
    if field is None or field.args or definition is None or definition.base_resolver is not None:
        return None
    if definition.permission_classes or definition.extensions or definition.directives:
        return None
    field_type: GraphQLOutputType = field.type
    required = is_non_null_type(field_type)
    if required:
        field_type = field_type.of_type  # type: ignore[union-attr]
    many = is_list_type(field_type)
    if many:
        inner = field_type.of_type  # type: ignore[union-attr]
        if not is_non_null_type(inner) or not is_leaf_type(inner.of_type):
            return None
        field_type = inner.of_type
    if not is_leaf_type(field_type):
        return None
    return key, definition.python_name, field_type.serialize, many, required  # type: ignore[union-attr]


def _completed(columns: list[_Column], type_name: str, items: list[Any]) -> list[dict[str, Any]] | None:
    out = []
    for item in items:
        row: dict[str, Any] = {}
        for key, attribute, serialize, many, required in columns:
            if attribute is None:
                row[key] = type_name
                continue
            value = getattr(item, attribute)
            if value is None:
                if required:
                    return None  # the ordinary completion reports the error
                row[key] = None
            elif many:
                row[key] = [serialize(element) for element in value]  # type: ignore[misc]
            else:
                row[key] = serialize(value)  # type: ignore[misc]
        out.append(row)
    return out


class FlatListExecutionContext(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution, with lists of flat types completed in one pass."""

    def complete_list_value(self, return_type: GraphQLList[Any], field_details_list: Any, info: Any, path: Any,
                            result: Any, position_context: Any) -> Any:
        item_type = return_type.of_type
        if isinstance(item_type, GraphQLNonNull) and isinstance(result, list):
            object_type = item_type.of_type
            if is_object_type(object_type) and object_type.name in FLAT_TYPES and None not in result:
                fast = self._complete_flat(object_type, field_details_list, result)
                if fast is not None:
                    return fast
        return super().complete_list_value(return_type, field_details_list, info, path, result, position_context)

    def _complete_flat(self, object_type: GraphQLObjectType, field_details_list: Any,
                       items: list[Any]) -> list[dict[str, Any]] | None:
        collected = self.collect_subfields(object_type, field_details_list)
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            return None
        columns = []
        for key, details in collected.grouped_field_set.items():
            column = _column(object_type, key, details[0].node.name.value)
            if column is None:
                return None
            columns.append(column)
        return _completed(columns, object_type.name, items)
