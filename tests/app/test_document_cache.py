"""Repeated documents are parsed and validated once, with every limit still in force."""

from __future__ import annotations

import dataclasses

from graphql import parse

from app.document_cache import DocumentMemory
from app.graphql import build_schema
from app.settings import Settings


def strict_schema(size: int = 256):  # type: ignore[no-untyped-def]
    return build_schema(dataclasses.replace(Settings.from_env(), max_query_tokens=40, max_query_aliases=2,
                                            document_cache_size=size))


async def test_a_repeated_document_is_parsed_once_and_answers_the_same() -> None:
    schema = strict_schema()
    first = await schema.execute("{ __typename }")
    second = await schema.execute("{ __typename }")
    assert (first.data, second.data) == ({"__typename": "Query"}, {"__typename": "Query"})
    assert len(schema.documents) == 1
    assert schema.documents.document("{ __typename }") is not None


async def test_a_remembered_invalid_document_is_refused_every_time() -> None:
    schema = strict_schema()
    query = "{ a: __typename b: __typename c: __typename }"
    answers = [await schema.execute(query) for _ in range(3)]
    assert [[error.message for error in answer.errors or []] for answer in answers] == [
        ["3 aliases found. Allowed: 2"]] * 3
    assert schema.documents.errors(query) is not None


async def test_a_document_over_the_token_limit_is_never_kept() -> None:
    schema = strict_schema()
    query = "{ " + " ".join(["__typename"] * 45) + " }"
    answers = [await schema.execute(query) for _ in range(2)]
    assert [answer.errors[0].message for answer in answers if answer.errors] == [
        "Syntax Error: Document contains more than 40 tokens. Parsing aborted."] * 2
    assert len(schema.documents) == 0


def test_memory_keeps_the_most_recently_used_texts() -> None:
    memory = DocumentMemory(2)
    for text in ("{ a }", "{ b }"):
        memory.remember(text, parse(text))
    assert memory.document("{ a }") is not None  # now the most recently used
    memory.remember("{ c }", parse("{ c }"))
    assert [memory.document(text) is not None for text in ("{ a }", "{ b }", "{ c }")] == [True, False, True]
    assert len(memory) == 2


def test_size_zero_keeps_nothing() -> None:
    memory = DocumentMemory(0)
    memory.remember("{ a }", parse("{ a }"))
    assert len(memory) == 0
