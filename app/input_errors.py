"""Clear errors for argument values that are not of their scalar type (schema.scalars: a DateTime "tomorrow", a Date
"2027-02-30"), whether written in the document or sent as variables.

GraphQL refuses such a value before any resolver runs, so it cannot be a typed result: it stays a request error, as
the spec requires. graphql-core words it after the variable ("Variable '$input' has invalid value at 'startsAt':
Expected value of type 'DateTime!', but encountered error ..."), with the parser's own text inside. Here each is
rewritten to name the argument it was given for, the way a ValidationError's path does:

    Argument "input.startsAt" (DateTime): "tomorrow" is not an ISO 8601 date-time with offset, e.g. ...

with `locations` pointing at the value (and at the variable's definition), and `extensions`
{code: BAD_USER_INPUT, fieldPath, argumentPath, variable}. A variable used in several arguments gives one error per
argument. Other errors pass unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    Node,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableDefinitionNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_composite_type,
    is_input_object_type,
    is_list_type,
    type_from_ast,
)
from graphql.pyutils import Undefined
from graphql.utilities import validate_input_value
from strawberry.extensions import SchemaExtension

from app.flat_lists import FlatListExecutionContext
from schema.scalars import ScalarInputError

BAD_USER_INPUT = "BAD_USER_INPUT"
Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ArgumentUse:
    """Where a value stands in the operation: the field (response keys from the root), the argument path (its name,
    then input fields and list indexes), and the node it is written at."""

    field_path: tuple[str, ...]
    argument_path: Path
    node: Node


@dataclass
class ArgumentUses:
    literals: dict[int, ArgumentUse] = field(default_factory=dict)  # by id() of the literal's node
    variables: dict[str, list[ArgumentUse]] = field(default_factory=dict)


def argument_uses(schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> ArgumentUses:
    """Every literal leaf and every variable in the arguments of the operation's fields, fragments followed."""
    uses = ArgumentUses()
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return uses
    fragments = {definition.name.value: definition for definition in document.definitions
                 if isinstance(definition, FragmentDefinitionNode)}
    _Walk(schema, fragments, uses).selections(operation.selection_set, schema.get_root_type(operation.operation),
                                               (), frozenset())
    return uses


@dataclass
class _Walk:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    uses: ArgumentUses
    # Each fragment once at each place: a fragment spread twice on every level would otherwise be walked 2^depth
    # times, and walking it again where it was walked finds the same uses.
    walked: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)

    def selections(self, selection_set: SelectionSetNode | None, parent: Any, at: tuple[str, ...],
                   visiting: frozenset[str]) -> None:
        if selection_set is None or parent is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.field(selection, parent, at, visiting)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(selection.selection_set, inner, at, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in visiting and (name, at) not in self.walked:
                    self.walked.add((name, at))
                    inner = self.schema.get_type(fragment.type_condition.name.value)
                    self.selections(fragment.selection_set, inner, at, visiting | {name})

    def field(self, node: FieldNode, parent: Any, at: tuple[str, ...], visiting: frozenset[str]) -> None:
        fields = getattr(parent, "fields", None) if is_composite_type(parent) else None  # a union has none
        definition = fields.get(node.name.value) if fields else None
        if definition is None:
            return
        here = (*at, (node.alias or node.name).value)
        for argument in node.arguments or ():
            argument_definition = definition.args.get(argument.name.value)
            if argument_definition is not None:
                self.value(argument.value, argument_definition.type, here, (argument.name.value,))
        self.selections(node.selection_set, get_named_type(definition.type), here, visiting)

    def value(self, node: ValueNode, type_: GraphQLInputType, at: tuple[str, ...], path: Path) -> None:
        if isinstance(node, VariableNode):
            self.uses.variables.setdefault(node.name.value, []).append(ArgumentUse(at, path, node))
            return
        nullable: Any = get_nullable_type(type_)  # type: ignore[arg-type]
        if is_list_type(nullable):
            if isinstance(node, ListValueNode):
                for index, item in enumerate(node.values):
                    self.value(item, nullable.of_type, at, (*path, index))
            else:
                self.value(node, nullable.of_type, at, path)  # a lone value is a list of one
        elif is_input_object_type(nullable):
            for entry in node.fields if isinstance(node, ObjectValueNode) else ():
                known = nullable.fields.get(entry.name.value)
                if known is not None:
                    self.value(entry.value, known.type, at, (*path, entry.name.value))
        else:
            self.uses.literals[id(node)] = ArgumentUse(at, path, node)


def _scalar_cause(error: GraphQLError) -> ScalarInputError | None:
    cause: BaseException | None = error.original_error
    while cause is not None and not isinstance(cause, ScalarInputError):
        cause = getattr(cause, "original_error", None)
    return cause


def clear_error(cause: ScalarInputError, use: ArgumentUse, nodes: Sequence[Node], variable: str | None
                ) -> GraphQLError:
    argument = ".".join(str(part) for part in use.argument_path)
    extensions: dict[str, Any] = {"code": BAD_USER_INPUT, "fieldPath": list(use.field_path),
                                  "argumentPath": [str(part) for part in use.argument_path]}
    if variable is not None:
        extensions["variable"] = variable
    return GraphQLError(f'Argument "{argument}" ({cause.type_name}): {cause}', list(nodes), original_error=cause,
                        extensions=extensions)


def cleared_literal_errors(errors: Sequence[GraphQLError], schema: GraphQLSchema, document: DocumentNode,
                           operation_name: str | None) -> list[GraphQLError]:
    """Validation errors, each about a literal of the wrong scalar type rewritten to name its argument."""
    if not any(_scalar_cause(error) and (error.extensions or {}).get("code") != BAD_USER_INPUT for error in errors):
        return list(errors)
    uses = argument_uses(schema, document, operation_name)
    cleared = []
    for error in errors:
        cause = _scalar_cause(error)
        use = uses.literals.get(id(error.nodes[0])) if cause and error.nodes else None
        cleared.append(clear_error(cause, use, [use.node], None) if cause and use else error)
    return cleared


def _variable_causes(schema: GraphQLSchema, definition: VariableDefinitionNode, value: Any
                     ) -> Iterator[tuple[Path, ScalarInputError]]:
    """Each leaf of a variable's value that is not of its scalar type: its path inside the value, and why."""
    found: list[tuple[Path, ScalarInputError]] = []

    def on_error(error: GraphQLError, path: list[str | int]) -> None:
        cause = _scalar_cause(error)
        if cause is not None:
            found.append((tuple(path), cause))

    type_ = type_from_ast(schema, definition.type)
    if type_ is not None and value is not Undefined:
        validate_input_value(value, type_, on_error)  # type: ignore[arg-type]
    return iter(found)


def cleared_variable_errors(errors: Sequence[GraphQLError], schema: GraphQLSchema, document: DocumentNode,
                            variables: dict[str, Any] | None, operation_name: str | None) -> list[GraphQLError]:
    """The errors of coercing the variables, those about a value of the wrong scalar type rewritten: one error per
    argument the variable is used in, in place of the variable's first such error."""
    if not any(_scalar_cause(error) for error in errors):
        return list(errors)
    uses = argument_uses(schema, document, operation_name)
    cleared: list[GraphQLError] = []
    done: set[str] = set()
    for error in errors:
        definition = error.nodes[0] if error.nodes else None
        if _scalar_cause(error) is None or not isinstance(definition, VariableDefinitionNode):
            cleared.append(error)
            continue
        name = definition.variable.name.value
        if name in done:
            continue
        done.add(name)
        rewritten = [clear_error(cause, ArgumentUse(use.field_path, (*use.argument_path, *inner), use.node),
                                 [definition, use.node], name)
                     for inner, cause in _variable_causes(schema, definition, (variables or {}).get(name, Undefined))
                     for use in uses.variables.get(name, ())]
        cleared.extend(rewritten or [error])
    return cleared


class ClearLiteralErrors(SchemaExtension):
    """Rewrites validation errors about literals of the wrong scalar type. The list is changed in place: Strawberry
    answers with the very list validation produced."""

    def on_validate(self) -> Iterator[None]:
        yield
        context = self.execution_context
        errors = context.pre_execution_errors
        if errors and context.graphql_document is not None:
            errors[:] = cleared_literal_errors(errors, context.schema._schema, context.graphql_document,
                                               context.operation_name)


class ClearVariableErrorsExecution(FlatListExecutionContext):
    """Execution whose variable errors about values of the wrong scalar type name their arguments."""

    @classmethod
    def build(cls, schema: GraphQLSchema, document: DocumentNode, root_value: Any = None, context_value: Any = None,
              raw_variable_values: dict[str, Any] | None = None, operation_name: str | None = None, *args: Any,
              **kwargs: Any) -> Any:
        built = super().build(schema, document, root_value, context_value, raw_variable_values, operation_name,
                              *args, **kwargs)
        if isinstance(built, list):
            return cleared_variable_errors(built, schema, document, raw_variable_values, operation_name)
        return built
