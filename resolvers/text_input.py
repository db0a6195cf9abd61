"""One check of every string a client sends, before any resolver runs: arguments and input fields at any depth.

A string with a forbidden character (services.validation.plain_text) is refused with the field's typed
ValidationError, naming the path of the offending value (["input", "note"], ["staffIds", 2]); a field whose result
has no ValidationError member (a list such as `bookings`) answers with an error instead. Either way the resolver
never runs, so nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLNonNull, GraphQLUnionType
from strawberry.extensions import SchemaExtension

from schema.errors import ValidationError
from services.errors import InvalidInputError
from services.validation import plain_text

Path = list[str | int]


def refused_text(value: Any, path: Path) -> InvalidInputError | None:
    """The refusal of the first string inside `value` (a GraphQL argument: scalars, lists and input objects) that
    holds a forbidden character, or None."""
    if isinstance(value, str):
        try:
            plain_text(value, path)
        except InvalidInputError as error:
            return error
        return None
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        refusal = refused_text(item, [*path, key])
        if refusal is not None:
            return refusal
    return None


def _answers_validation_errors(info: Any) -> bool:
    result = info.return_type.of_type if isinstance(info.return_type, GraphQLNonNull) else info.return_type
    return isinstance(result, GraphQLUnionType) and any(member.name == "ValidationError" for member in result.types)


class RefuseControlCharacters(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            refusal = refused_text(kwargs, [])
            if refusal is not None:
                if _answers_validation_errors(info):
                    return ValidationError(message=refusal.message, path=[str(part) for part in refusal.path])
                raise refusal
        return _next(root, info, *args, **kwargs)
