"""A business, its staff, its services and each staff member's working hours."""

from tortoise import fields
from tortoise.models import Model

from domain.assignment import AssignmentPolicy
from models.accounts import User


class Business(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200)
    time_zone = fields.CharField(max_length=64)
    # Where customers come, and how they reach the business: written into every booking's invitation and mail.
    address = fields.CharField(max_length=500, default="")
    phone = fields.CharField(max_length=40, default="")
    # The public name a customer app finds the business by (domain.slugs); None until the owner picks one.
    slug = fields.CharField(max_length=63, null=True, unique=True)
    logo_url = fields.CharField(max_length=2000, default="")
    owner: fields.ForeignKeyRelation[User] = fields.ForeignKeyField("models.User", related_name="owned_businesses")
    owner_id: int
    created_at = fields.DatetimeField(auto_now_add=True)


class Staff(Model):
    """A technician who can be booked.

    `booking_lock` exists to be updated: the booking transaction writes it first, which serialises every booking
    of one staff member (a row lock on PostgreSQL, the write lock on SQLite) before availability is re-checked.
    """

    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation[Business] = fields.ForeignKeyField("models.Business", related_name="staff")
    business_id: int
    user: fields.ForeignKeyNullableRelation[User] = fields.OneToOneField(
        "models.User", related_name="staff_profile", null=True
    )
    user_id: int | None
    name = fields.CharField(max_length=200)
    email = fields.CharField(max_length=254)
    time_zone = fields.CharField(max_length=64)
    photo_url = fields.CharField(max_length=2000, default="")
    # An inactive staff member takes no new bookings (services.staff_management); their existing ones stay theirs
    # until reassigned or cancelled.
    active = fields.BooleanField(default=True)
    invite_code_hash = fields.CharField(max_length=64, null=True, unique=True)
    booking_lock = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        unique_together = (("business", "email"),)


class Service(Model):
    id = fields.IntField(primary_key=True)
    business: fields.ForeignKeyRelation[Business] = fields.ForeignKeyField("models.Business", related_name="services")
    business_id: int
    name = fields.CharField(max_length=200)
    duration_minutes = fields.IntField()
    buffer_before_minutes = fields.IntField(default=0)
    buffer_after_minutes = fields.IntField(default=0)
    slot_step_minutes = fields.IntField(default=15)
    minimum_notice_minutes = fields.IntField(default=0)
    booking_horizon_days = fields.IntField(default=60)
    colour = fields.CharField(max_length=7, default="#4f46e5")
    # How long before a booking's start its customer is reminded by mail; 0: no reminder.
    reminder_hours = fields.IntField(default=24)
    # Who gets a booking that names no staff member (domain.assignment).
    assignment_policy = fields.CharEnumField(AssignmentPolicy, max_length=16,
                                             default=AssignmentPolicy.FIRST_AVAILABLE)
    # The price in the currency's minor units (domain.currencies), None when the service shows no price.
    price_minor = fields.IntField(null=True)
    currency = fields.CharField(max_length=3, default="")
    description = fields.TextField(default="")
    image_url = fields.CharField(max_length=2000, default="")
    # An archived service is no longer offered (no slots, no new bookings); its bookings stay as they are.
    archived_at = fields.DatetimeField(null=True)
    staff: fields.ManyToManyRelation[Staff] = fields.ManyToManyField(
        "models.Staff", related_name="services", through="service_staff"
    )
    created_at = fields.DatetimeField(auto_now_add=True)


class StaffPriority(Model):
    """How strongly a service prefers one of the staff performing it, for its PRIORITY assignment policy: higher is
    preferred. A staff member performing the service without a row has priority 0; the row goes when they stop
    performing it."""

    id = fields.IntField(primary_key=True)
    service: fields.ForeignKeyRelation[Service] = fields.ForeignKeyField("models.Service",
                                                                         related_name="staff_priorities")
    service_id: int
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="priorities")
    staff_id: int
    priority = fields.SmallIntField(default=0)

    class Meta:
        unique_together = (("service", "staff"),)


class WorkingHoursRange(Model):
    """One weekly range of working time, in minutes since local midnight of the staff member's zone. An end past 1440
    runs into the next weekday (22:00-06:00 is 1320..1800)."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="working_hours")
    weekday = fields.SmallIntField()  # 0 = Monday
    start_minute = fields.SmallIntField()
    end_minute = fields.SmallIntField()

    class Meta:
        indexes = (("staff_id", "weekday"),)  # a staff member's hours (availability, "bookable soon")


class ScheduleOverride(Model):
    """A dated exception to the weekly hours: `ranges` (list of [start_minute, end_minute]) replaces the ranges that
    start on that day; an empty list means closed all day. An end past 1440 runs into the next day."""

    id = fields.IntField(primary_key=True)
    staff: fields.ForeignKeyRelation[Staff] = fields.ForeignKeyField("models.Staff", related_name="overrides")
    date = fields.DateField()
    ranges: fields.JSONField[list[list[int]]] = fields.JSONField(default=list)
    note = fields.CharField(max_length=200, default="")

    class Meta:
        unique_together = (("staff", "date"),)
