"""Bookings and recurring booking series."""

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model

from models.accounts import User
from models.businesses import Business, Service, Staff


class BookingStatus(StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class BookingSeries(Model):
    """A recurring booking: the rule as given, evaluated in `time_zone`. Its occurrences are Booking rows."""

    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation[Business] = fields.ForeignKeyField("models.Business", related_name="series")
    rrule = fields.CharField(max_length=500)
    time_zone = fields.CharField(max_length=64)
    # The first planned start: with the rule it gives every occurrence's planned start (its RECURRENCE-ID), even
    # after occurrences were moved or cancelled.
    starts_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)


class Booking(Model):
    """A claim on a staff member's time.

    `buffered_start`/`buffered_end` span the service plus its buffers as they were when booked; two confirmed bookings
    of one staff member never have overlapping buffered spans, enforced by an exclusion constraint on PostgreSQL.
    `version` grows with every change so that calendar pushes can tell which state they wrote.
    """

    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation[Business] = fields.ForeignKeyField("models.Business", related_name="bookings")
    business_id: int
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="bookings")
    staff_id: int
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField("models.Service", related_name="bookings")
    service_id: int
    customer: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="bookings", null=True
    )
    customer_id: int | None
    customer_name = fields.CharField(max_length=200)
    customer_email = fields.CharField(max_length=254, default="")
    customer_phone = fields.CharField(max_length=40, default="")
    walk_in = fields.BooleanField(default=False)
    # Where the booking was made: "lockstep", or the appointment provider it came from ("calendly"), which then
    # owns its time: it cannot be moved here, and cancelling it here cancels it there.
    source = fields.CharField(max_length=16, default="lockstep")
    cancel_reason = fields.CharField(max_length=500, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    buffered_start = fields.DatetimeField()
    buffered_end = fields.DatetimeField()
    status = fields.CharEnumField(BookingStatus, max_length=16, default=BookingStatus.CONFIRMED)
    series: fields.ForeignKeyNullableRelation[BookingSeries] = fields.ForeignKeyField(
        "models.BookingSeries", related_name="occurrences", null=True
    )
    series_id: int | None
    occurrence_index = fields.IntField(null=True)
    customer_notes = fields.TextField(default="")
    merchant_notes = fields.TextField(default="")
    version = fields.IntField(default=1)
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="bookings_created"
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    cancelled_at = fields.DatetimeField(null=True)

    class Meta:
        # A series' occurrences, first one first (the dispatcher finds a series' anchor by it). A staff member's
        # bookings of one service by start (their load in a week) and newest first (their last assignment), for
        # choosing who gets a booking that names nobody (services.assignment).
        indexes = (("staff_id", "status", "buffered_start"), ("business_id", "starts_at"),
                   ("series_id", "occurrence_index"), ("service_id", "staff_id", "status", "starts_at"),
                   ("service_id", "staff_id", "status", "id"))
