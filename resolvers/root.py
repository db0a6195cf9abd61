"""The root Query, Mutation and Subscription types, assembled from the resolver modules."""

from __future__ import annotations

import strawberry

from resolvers import (
    account_tokens,
    appointment_accounts,
    auth,
    booking_management,
    bookings,
    business_profile,
    calendar_feeds as feeds,
    calendars,
    conflicts,
    duplicates,
    journal,
    live,
    mail,
    nodes,
    notifications,
    oauth,
    previews,
    profile,
    setup,
    sign_in as provider_sign_in,
    staff_management,
    sync,
)
from schema.payloads import BookingsResult, MyBusinessesResult
from schema.types import User


@strawberry.type
class Query:
    viewer: User | None = strawberry.field(resolver=auth.viewer)
    business = strawberry.field(resolver=setup.business)
    business_by_slug = strawberry.field(resolver=business_profile.business_by_slug)
    my_businesses: MyBusinessesResult = strawberry.field(resolver=setup.my_businesses)
    service = strawberry.field(resolver=setup.service)
    available_slots = strawberry.field(resolver=bookings.available_slots)
    staff_schedule = strawberry.field(resolver=bookings.staff_schedule)
    calendar_events = strawberry.field(resolver=journal.calendar_events)
    slot_explanation = strawberry.field(resolver=journal.slot_explanation_of)
    booking = strawberry.field(resolver=bookings.booking)
    bookings: BookingsResult = strawberry.field(resolver=bookings.booking_list)
    calendar_connections = strawberry.field(resolver=calendars.calendar_connections)
    calendly_event_types = strawberry.field(resolver=appointment_accounts.calendly_event_types)
    connection_preview = strawberry.field(resolver=previews.connection_preview)
    sync_log = strawberry.field(resolver=sync.sync_log)
    conflicts = strawberry.field(resolver=conflicts.conflicts)
    duplicate_candidates = strawberry.field(resolver=duplicates.duplicate_candidates)
    notifications = strawberry.field(resolver=notifications.notifications)
    sign_in_methods = strawberry.field(resolver=provider_sign_in.sign_in_methods)
    mail_preferences = strawberry.field(resolver=mail.mail_preferences)
    calendar_feeds = strawberry.field(resolver=feeds.calendar_feed_list)
    export_bookings = strawberry.field(resolver=feeds.export_bookings)
    node = strawberry.field(resolver=nodes.node)
    nodes = strawberry.field(resolver=nodes.nodes)


@strawberry.type
class Mutation:
    sign_up = strawberry.mutation(resolver=auth.sign_up)
    sign_in = strawberry.mutation(resolver=auth.sign_in)
    refresh_token = strawberry.mutation(resolver=auth.refresh_token)
    sign_out = strawberry.mutation(resolver=auth.sign_out)
    update_my_profile = strawberry.mutation(resolver=profile.update_my_profile)
    delete_my_account = strawberry.mutation(resolver=profile.delete_my_account)
    accept_staff_invite = strawberry.mutation(resolver=auth.accept_staff_invite)
    verify_email = strawberry.mutation(resolver=account_tokens.verify_email)
    resend_verification = strawberry.mutation(resolver=account_tokens.resend_verification)
    request_password_reset = strawberry.mutation(resolver=account_tokens.request_password_reset)
    reset_password = strawberry.mutation(resolver=account_tokens.reset_password)
    request_email_change = strawberry.mutation(resolver=account_tokens.request_email_change)
    confirm_email_change = strawberry.mutation(resolver=account_tokens.confirm_email_change)
    create_business = strawberry.mutation(resolver=setup.create_business)
    update_business = strawberry.mutation(resolver=business_profile.update_business)
    create_staff = strawberry.mutation(resolver=setup.create_staff)
    update_staff = strawberry.mutation(resolver=staff_management.update_staff)
    deactivate_staff = strawberry.mutation(resolver=staff_management.deactivate_staff)
    resend_staff_invite = strawberry.mutation(resolver=staff_management.resend_staff_invite)
    create_service = strawberry.mutation(resolver=setup.create_service)
    update_service = strawberry.mutation(resolver=setup.update_service)
    archive_service = strawberry.mutation(resolver=setup.archive_service)
    set_working_hours = strawberry.mutation(resolver=setup.set_working_hours)
    add_schedule_override = strawberry.mutation(resolver=setup.add_schedule_override)
    remove_schedule_override = strawberry.mutation(resolver=setup.remove_schedule_override)
    block_time = strawberry.mutation(resolver=setup.block_time)
    remove_blocked_time = strawberry.mutation(resolver=setup.remove_blocked_time)
    create_booking = strawberry.mutation(resolver=bookings.create_booking)
    reschedule_booking = strawberry.mutation(resolver=bookings.reschedule_booking)
    cancel_booking = strawberry.mutation(resolver=bookings.cancel_booking)
    cancel_bookings = strawberry.mutation(resolver=booking_management.cancel_bookings)
    reassign_booking = strawberry.mutation(resolver=booking_management.reassign_booking)
    update_booking_notes = strawberry.mutation(resolver=bookings.update_booking_notes)
    connect_caldav = strawberry.mutation(resolver=calendars.connect_caldav)
    connect_calendly = strawberry.mutation(resolver=appointment_accounts.connect_calendly)
    set_calendly_signing_key = strawberry.mutation(resolver=appointment_accounts.set_calendly_signing_key)
    map_calendly_event_type = strawberry.mutation(resolver=appointment_accounts.map_calendly_event_type)
    link_calendly_host = strawberry.mutation(resolver=appointment_accounts.link_calendly_host)
    start_calendar_connection = strawberry.mutation(resolver=oauth.start_calendar_connection)
    confirm_calendar_connection = strawberry.mutation(resolver=oauth.confirm_calendar_connection)
    test_calendar_connection = strawberry.mutation(resolver=calendars.test_calendar_connection)
    update_external_calendar = strawberry.mutation(resolver=calendars.update_external_calendar)
    update_calendar_connection = strawberry.mutation(resolver=calendars.update_calendar_connection)
    disconnect_calendar = strawberry.mutation(resolver=calendars.disconnect_calendar)
    sync_now = strawberry.mutation(resolver=sync.sync_now)
    retry_sync = strawberry.mutation(resolver=sync.retry_sync)
    unlink_booking_event = strawberry.mutation(resolver=sync.unlink_booking_event)
    link_event_to_booking = strawberry.mutation(resolver=duplicates.link_event_to_booking)
    merge_duplicates = strawberry.mutation(resolver=duplicates.merge_duplicates)
    resolve_conflict = strawberry.mutation(resolver=conflicts.resolve_conflict)
    mark_notifications_read = strawberry.mutation(resolver=notifications.mark_notifications_read)
    start_sign_in = strawberry.mutation(resolver=provider_sign_in.start_sign_in)
    exchange_sign_in_code = strawberry.mutation(resolver=provider_sign_in.exchange_sign_in_code)
    sign_in_with_provider_token = strawberry.mutation(resolver=provider_sign_in.sign_in_with_provider_token)
    link_sign_in_provider = strawberry.mutation(resolver=provider_sign_in.link_sign_in_provider)
    unlink_sign_in_provider = strawberry.mutation(resolver=provider_sign_in.unlink_sign_in_provider)
    set_password = strawberry.mutation(resolver=provider_sign_in.set_password)
    set_mail_preferences = strawberry.mutation(resolver=mail.set_mail_preferences)
    create_calendar_feed = strawberry.mutation(resolver=feeds.create_calendar_feed)
    revoke_calendar_feed = strawberry.mutation(resolver=feeds.revoke_calendar_feed)


@strawberry.type
class Subscription:
    booking_changed = strawberry.subscription(resolver=live.booking_changed)
    availability_changed = strawberry.subscription(resolver=live.availability_changed)
    sync_health_changed = strawberry.subscription(resolver=live.sync_health_changed)
    notifications = strawberry.subscription(resolver=live.notifications)
