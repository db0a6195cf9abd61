"""Which address a request comes from, for counting failed attempts per client.

Terms: the *peer* is the address the connection comes from; a *trusted proxy* is a peer (an address or a network
such as 10.0.0.0/8) whose X-Forwarded-For header is believed. Each proxy appends the address it received the
request from, so the header is read from its right end: every trusted proxy is skipped and the first address that
is not trusted is the client. Entries left of it could be written by anyone and are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
UNKNOWN = "unknown"


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """The networks named by addresses or CIDR blocks; raises ValueError naming an entry that is neither."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"{entry!r} is not an IP address or network") from exc
    return tuple(networks)


def _parse(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


def client_address(peer: str | None, forwarded_for: str | None, trusted: tuple[Network, ...]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then the rightmost untrusted hop of
    X-Forwarded-For (a malformed hop ends the search there, at the last hop that could be trusted)."""
    peer_address = _parse(peer or "")
    if peer_address is None:
        return peer or UNKNOWN
    if not forwarded_for or not _is_trusted(peer_address, trusted):
        return str(peer_address)
    client = peer_address
    for hop in reversed(forwarded_for.split(",")):
        hop_address = _parse(hop)
        if hop_address is None:
            break
        client = hop_address
        if not _is_trusted(hop_address, trusted):
            break
    return str(client)
