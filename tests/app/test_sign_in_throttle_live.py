"""Through a real uvicorn server with two API processes: failed sign-ins are counted for the deployment, not per
process."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.server import live_server

SIGN_IN = """mutation($input: SignInInput!) { signIn(input: $input) { __typename
  ... on TooManyAttempts { retryAfterSeconds } } }"""
SIGN_UP = """mutation($input: SignUpInput!) { signUp(input: $input) { __typename } }"""


async def test_two_api_processes_throttle_one_guesser_together(db: str, redis_url: str, tmp_path: Path) -> None:
    # given a server of two processes sharing one Redis that locks an address after two failures, and an account
    with live_server(db, tmp_path, workers=2, LOCKSTEP_REDIS_URL=redis_url, LOCKSTEP_THROTTLE_FREE_FAILURES="1",
                     LOCKSTEP_THROTTLE_LOCK_AFTER="2") as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            created = await http.post("/graphql", json={"query": SIGN_UP, "variables": {"input": {
                "email": "pat@example.com", "password": "correct horse battery", "name": "Pat"}}})
            assert created.json()["data"]["signUp"]["__typename"] == "AuthPayload"
            # when a guesser sends ten wrong passwords, on new connections that either process may take
            answers = []
            for _ in range(10):
                async with httpx.AsyncClient(base_url=base, timeout=30) as fresh:
                    response = await fresh.post("/graphql", json={"query": SIGN_IN, "variables": {"input": {
                        "email": "pat@example.com", "password": "wrong password!!"}}})
                    answers.append(response.json()["data"]["signIn"])
    # then two were checked and every later one was told to wait out the lock, whichever process answered (counted
    # per process, each would have checked two)
    assert [answer["__typename"] for answer in answers] == ["AuthenticationFailed"] * 2 + ["TooManyAttempts"] * 8
    assert all(800 < answer["retryAfterSeconds"] <= 900 for answer in answers[2:])
