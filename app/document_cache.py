"""Parse and validate a repeated GraphQL document once.

A front end sends the same few documents over and over with new variables. Parsing and validating one (every
validation rule, the depth, token and alias limits included) costs more than answering a small query, and its
outcome depends only on the document's text and the schema, both fixed for a running server. So the parsed
document and its validation errors are kept per text, at most `size` texts, least recently used dropped first.
A document over the token limit fails to parse and is never kept, so the limit holds for every request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any

from graphql import DocumentNode, GraphQLError
from strawberry.extensions import SchemaExtension


class DocumentMemory:
    """Parsed documents and their validation errors by query text (bounded, least recently used dropped)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        self._errors: dict[str, list[GraphQLError]] = {}

    def document(self, text: str) -> DocumentNode | None:
        found = self._documents.get(text)
        if found is not None:
            self._documents.move_to_end(text)
        return found

    def errors(self, text: str) -> list[GraphQLError] | None:
        found = self._errors.get(text)
        return None if found is None else list(found)

    def remember(self, text: str, document: DocumentNode, errors: list[GraphQLError] | None = None) -> None:
        if self.size <= 0:
            return
        self._documents[text] = document
        self._documents.move_to_end(text)
        if errors is not None:
            self._errors[text] = list(errors)
        while len(self._documents) > self.size:
            dropped, _ = self._documents.popitem(last=False)
            self._errors.pop(dropped, None)

    def __len__(self) -> int:
        return len(self._documents)


def remembering(memory: DocumentMemory) -> Any:
    """A schema extension class that answers parsing and validation of known texts from `memory`."""

    class RememberedDocuments(SchemaExtension):
        def on_parse(self) -> Iterator[None]:
            context = self.execution_context
            text = context.query
            known = memory.document(text) if text else None
            if known is not None:
                context.graphql_document = known
            yield
            if text and known is None and context.graphql_document is not None and not context.pre_execution_errors:
                memory.remember(text, context.graphql_document)

        def on_validate(self) -> Iterator[None]:
            context = self.execution_context
            text = context.query or ""
            document = context.graphql_document
            # Only a document that came from this very text may take (or leave) its errors.
            same = bool(text) and document is not None and memory.document(text) is document
            known = memory.errors(text) if same else None
            if known is not None:
                context.pre_execution_errors = known
            yield
            if same and known is None and document is not None and context.pre_execution_errors is not None:
                memory.remember(text, document, context.pre_execution_errors)

    return RememberedDocuments
