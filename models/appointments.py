"""Appointments made at an appointment provider (Calendly): its event types and the services they book, each
appointment and what holds its time in Lockstep, and the webhook deliveries waiting to be applied.

Terms are domain.appointments': an *appointment* is keyed by its scheduled event's URI within the calendar that
stands for the provider account; its *holder* is a booking (a mapped event type) or a busy block.
"""

from tortoise import fields
from tortoise.models import Model

from models.bookings import Booking
from models.businesses import Service, Staff
from models.calendars import BusyBlock, CalendarConnection, ExternalCalendar


class AppointmentType(Model):
    """One event type of the account, and the service its appointments are booked as (none: they are busy blocks)."""

    id = fields.IntField(primary_key=True)
    connection: fields.ForeignKeyRelation[CalendarConnection] = fields.ForeignKeyField(
        "models.CalendarConnection", related_name="appointment_types")
    connection_id: int
    type_uri = fields.CharField(max_length=500)
    name = fields.CharField(max_length=200)
    duration_minutes = fields.IntField(default=0)
    active = fields.BooleanField(default=True)
    service: fields.ForeignKeyNullableRelation[Service] = fields.ForeignKeyField(
        "models.Service", related_name="appointment_types", null=True, on_delete=fields.SET_NULL)
    service_id: int | None

    class Meta:
        unique_together = (("connection", "type_uri"),)


class AppointmentHost(Model):
    """An organization's Calendly user linked by hand to the staff member whose appointments they host (for an
    organization-wide connection; without a link, a host is matched to the business's staff member by email)."""

    id = fields.IntField(primary_key=True)
    connection: fields.ForeignKeyRelation[CalendarConnection] = fields.ForeignKeyField(
        "models.CalendarConnection", related_name="appointment_hosts")
    connection_id: int
    host_uri = fields.CharField(max_length=500)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="appointment_hosts")
    staff_id: int

    class Meta:
        unique_together = (("connection", "host_uri"),)


class ImportedAppointment(Model):
    """What Lockstep knows of one appointment (domain.appointments.KnownAppointment) and its holder. A row without a
    holder remembers an appointment that ended or was rescheduled away, so older reports of it take no time."""

    id = fields.IntField(primary_key=True)
    external_calendar: fields.ForeignKeyRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="appointments")
    external_calendar_id: int
    event_uri = fields.CharField(max_length=500)
    invitee_uri = fields.CharField(max_length=500, default="")
    event_type_uri = fields.CharField(max_length=500, default="")
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    active = fields.BooleanField(default=True)
    successor = fields.CharField(max_length=500, default="")
    remote_updated_at = fields.DatetimeField(null=True)
    booking: fields.ForeignKeyNullableRelation[Booking] = fields.ForeignKeyField(
        "models.Booking", related_name="appointments", null=True, on_delete=fields.SET_NULL)
    booking_id: int | None
    busy_block: fields.ForeignKeyNullableRelation[BusyBlock] = fields.ForeignKeyField(
        "models.BusyBlock", related_name="appointments", null=True, on_delete=fields.SET_NULL)
    busy_block_id: int | None
    reschedule_url = fields.CharField(max_length=1000, default="")
    cancel_url = fields.CharField(max_length=1000, default="")
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        unique_together = (("external_calendar", "event_uri"),)


class AppointmentDelivery(Model):
    """One verified webhook delivery, kept from the moment it is answered until it is applied (so a delivery that
    was answered is never lost), and only once: `key` is a digest of its kind and invitee URI."""

    id = fields.IntField(primary_key=True)
    external_calendar: fields.ForeignKeyRelation[ExternalCalendar] = fields.ForeignKeyField(
        "models.ExternalCalendar", related_name="appointment_deliveries")
    external_calendar_id: int
    key = fields.CharField(max_length=64)
    body = fields.TextField()
    received_at = fields.DatetimeField()
    applied_at = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        unique_together = (("external_calendar", "key"),)
        indexes = (("applied_at", "received_at"),)
