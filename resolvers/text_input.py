"""One check of every string a client sends, before any resolver runs: arguments and input fields at any depth.

A string with a forbidden character (services.validation.plain_text) is refused with the field's typed
ValidationError, naming the path of every offending value (["input", "note"], ["staffIds", 2]); a field whose result
has no ValidationError member (`node`, `nodes`) answers with an error instead. Either way the resolver never runs,
so nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import GraphQLNonNull, GraphQLUnionType
from strawberry.extensions import SchemaExtension

from resolvers.errors import BadUserInput
from schema.errors import ValidationError
from services.errors import InvalidInputError
from services.validation import FieldChecks, plain_text

Path = list[str | int]


def refused_text(value: Any, path: Path) -> InvalidInputError | None:
    """The refusal of every string inside `value` (GraphQL arguments: scalars, lists and input objects) that holds a
    forbidden character, in input order, or None."""
    checks = FieldChecks()
    _check_strings(value, path, checks)
    try:
        checks.done()
    except InvalidInputError as refusal:
        return refusal
    return None


def _check_strings(value: Any, path: Path, checks: FieldChecks) -> None:
    if isinstance(value, str):
        checks.check(plain_text, value, path)
        return
    if isinstance(value, Mapping):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        _check_strings(item, [*path, key], checks)


def _answers_validation_errors(info: Any) -> bool:
    result = info.return_type.of_type if isinstance(info.return_type, GraphQLNonNull) else info.return_type
    return isinstance(result, GraphQLUnionType) and any(member.name == "ValidationError" for member in result.types)


class RefuseControlCharacters(SchemaExtension):
    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            refusal = refused_text(kwargs, [])
            if refusal is not None:
                if _answers_validation_errors(info):
                    return ValidationError.of([(problem.path, problem.message) for problem in refusal.problems])
                raise BadUserInput.of_error(refusal)
        return _next(root, info, *args, **kwargs)
