"""Global object identification holds for the whole schema: every object type with an `id` implements `Node`, so a
Relay or Apollo cache, which keys objects by their ID, never holds two objects under one ID, and `node(id)` can
refetch any of them."""

from __future__ import annotations

from graphql import GraphQLNonNull, GraphQLObjectType, GraphQLScalarType

from app.graphql import build_schema

ROOTS = {"Query", "Mutation", "Subscription"}


def test_every_object_type_with_an_id_implements_node() -> None:
    # given the schema the app serves
    served = build_schema()._schema
    # when its object types with an `id: ID!` field are listed
    with_ids, nodes = [], []
    for name, named in served.type_map.items():
        if not isinstance(named, GraphQLObjectType) or name.startswith("__") or name in ROOTS:
            continue
        field = named.fields.get("id")
        if field is not None and isinstance(field.type, GraphQLNonNull) and isinstance(
                field.type.of_type, GraphQLScalarType) and field.type.of_type.name == "ID":
            with_ids.append(name)
            if any(interface.name == "Node" for interface in named.interfaces):
                nodes.append(name)
    # then each of them is a Node: exactly the types the API identifies
    assert nodes == with_ids
    assert sorted(with_ids) == [
        "Booking", "Business", "BusyBlock", "CalendarConnection", "CalendarEvent", "CalendarFeed", "ExternalCalendar",
        "Notification", "ScheduleOverride", "Service", "StaffMember", "SyncConflict", "SyncItem", "SyncLogEntry",
        "User"]
