"""Which address a request comes from: the peer, or X-Forwarded-For read through trusted proxies only."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from domain.client_address import client_address, trusted_networks

PROXIES = trusted_networks(["10.0.0.0/8", "::1"])


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.7", "198.51.100.1", ()) == "203.0.113.7"


def test_an_untrusted_peer_cannot_name_another_client() -> None:
    assert client_address("203.0.113.7", "198.51.100.1", PROXIES) == "203.0.113.7"


def test_behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() -> None:
    # given a client that wrote its own header, then two of our proxies
    header = "192.0.2.99, 198.51.100.1, 10.1.2.3"
    # then the forged entry left of the real client is ignored
    assert client_address("10.0.0.5", header, PROXIES) == "198.51.100.1"


def test_a_malformed_hop_ends_the_search_at_the_last_trusted_one() -> None:
    assert client_address("10.0.0.5", "not-an-address, 10.1.2.3", PROXIES) == "10.1.2.3"


def test_a_trusted_ipv6_peer_and_a_missing_peer() -> None:
    assert client_address("::1", "2001:db8::5", PROXIES) == "2001:db8::5"
    assert client_address(None, "198.51.100.1", PROXIES) == "unknown"


def test_a_trusted_proxy_entry_must_be_an_address_or_network() -> None:
    with pytest.raises(ValueError) as refused:
        trusted_networks(["proxy.internal"])
    assert str(refused.value) == "'proxy.internal' is not an IP address or network"


@given(st.ip_addresses(), st.lists(st.ip_addresses(), max_size=5))
def test_an_untrusted_peer_is_always_the_client(peer: object, forwarded: list[object]) -> None:
    header = ", ".join(str(hop) for hop in forwarded)
    assert client_address(str(peer), header, ()) == str(peer)
