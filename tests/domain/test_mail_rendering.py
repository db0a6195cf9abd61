"""What mail says (domain.mail_templates), the message it becomes (domain.mail_message), its invitation
(domain.mail_invitations) and who gets which mail (domain.mail): exact examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from typing import cast

from hypothesis import given, strategies as st

from domain.invitations import Invitation, MovedOccurrence, Party
from domain.mail import MailKind, mail_audience, notification_mail, reminder_time
from domain.mail_invitations import booking_invitation
from domain.mail_message import compose
from domain.mail_templates import render_mail

START = datetime(2030, 1, 8, 9, tzinfo=UTC)
BOOKING: dict[str, object] = {
    "business": "Fix-It", "customer": "Cleo", "service": "Boiler check", "staff": "Sam Tech", "zone": "Europe/Berlin",
    "bookingId": 7, "sequence": 2, "startsAt": START.isoformat(), "endsAt": (START + timedelta(hours=1)).isoformat(),
    "seriesId": None}
ORGANIZER = Party("Fix-It", "bookings@fixit.example")
ATTENDEE = Party("Cleo", "cleo@example.com")


def test_a_confirmation_in_the_staff_members_zone() -> None:
    rendered = render_mail(MailKind.BOOKING_CONFIRMED, BOOKING)
    assert rendered.subject == "Your booking on Tuesday 8 January 2030, 10:00 is confirmed"
    assert rendered.text == ("Hello Cleo,\n\nYour booking is confirmed.\n\nWhat: Boiler check\n"
                             "When: Tuesday 8 January 2030, 10:00 to 11:00 (Europe/Berlin)\nWith: Sam Tech\n\n"
                             "Fix-It\n")


@given(st.text(min_size=1, max_size=40))
def test_every_value_is_escaped_in_html(name: str) -> None:
    # whatever a customer or business calls itself, it is text in the HTML body, never markup
    data = {**BOOKING, "customer": name, "business": name, "service": name, "staff": name}
    html = render_mail(MailKind.BOOKING_CANCELLED, data).html
    for fragment in html.split("<")[1:]:
        tag = fragment.split(">", 1)[0]
        assert tag.lstrip("/").split(" ")[0] in {"!DOCTYPE", "html", "body", "p", "table", "tr", "th", "td"}
    assert f"<p>Hello {unescape(html.split('<p>Hello ')[1].split(',</p>')[0])}" == f"<p>Hello {name}"


_WORD = st.text(alphabet="abcXYZ019&'.,()-éüß", min_size=1, max_size=8)


@given(st.lists(_WORD, min_size=1, max_size=4).map(" ".join))
def test_the_business_name_is_the_senders_display_name(business: str) -> None:
    rendered = render_mail(MailKind.BOOKING_CONFIRMED, {**BOOKING, "business": business})
    message = compose(rendered, sender_name=business, sender_address="bookings@fixit.example",
                      recipient="cleo@example.com", sent_at=START)
    parsed = cast(EmailMessage, message_from_bytes(message.as_bytes(), policy=policy.default))
    sender = parsed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == (business, "bookings@fixit.example")


def test_a_long_non_ascii_business_name_comes_back_whole_from_the_header() -> None:
    # folded at 78 characters, this name came back with a space inside one of its words
    business = "ßßßßßßßß ßßßßßßßß ßßßßßßßß ßßßßßßßß Müller & Söhne Sanitär"
    rendered = render_mail(MailKind.BOOKING_CONFIRMED, {**BOOKING, "business": business})
    message = compose(rendered, sender_name=business, sender_address="bookings@fixit.example",
                      recipient="cleo@example.com", sent_at=START)
    parsed = cast(EmailMessage, message_from_bytes(message.as_bytes(), policy=policy.default))
    assert parsed["From"].addresses[0].display_name == business
    assert max(len(line) for line in message.as_bytes().split(b"\r\n")) <= 998


def test_a_notification_mail_lists_its_lines() -> None:
    rendered = render_mail(MailKind.SYNC_RECOVERED, {"business": "Fix-It", "recipient": "Sam", "message": "Back",
                                                      "lines": ["a <b>", "c"]})
    assert rendered.text == "Hello Sam,\n\nBack\n- a <b>\n- c\n\nFix-It\n"
    assert "<li>a &lt;b&gt;</li>\n<li>c</li>" in rendered.html


def test_which_notifications_become_mail_and_for_whom() -> None:
    assert notification_mail("busy_overlap", {"resolution": "open_conflict"}) == MailKind.CONFLICT
    assert notification_mail("event_moved", {"resolution": "reschedule_booking"}) is None
    assert notification_mail("conflict_settled", {"resolution": "open_conflict"}) is None
    assert notification_mail("sync_recovered", {}) == MailKind.SYNC_RECOVERED
    assert mail_audience(MailKind.SYNC_RECOVERED, is_staff_member=False, is_owner=True) is False
    assert mail_audience(MailKind.CONFLICT, is_staff_member=False, is_owner=True) is True
    assert mail_audience(MailKind.REAUTHORIZATION_REQUIRED, is_staff_member=True, is_owner=False) is True


@given(st.integers(min_value=-5, max_value=24 * 30), st.integers(min_value=0, max_value=24 * 60))
def test_a_reminder_is_never_in_the_past_and_never_without_a_lead_time(hours: int, minutes_ahead: int) -> None:
    now = START - timedelta(minutes=minutes_ahead)
    at = reminder_time(START, hours, now)
    if at is not None:
        assert hours > 0 and now < at == START - timedelta(hours=hours)
    else:
        assert hours <= 0 or START - timedelta(hours=hours) <= now


def test_a_moved_occurrence_is_sent_as_the_series_with_that_instance_and_a_reminder_carries_none() -> None:
    # given the second occurrence of a weekly series, planned a week after START, moved two hours later
    planned = START + timedelta(days=7)
    series = {**BOOKING, "seriesId": 3, "rrule": "FREQ=WEEKLY;COUNT=3", "seriesZone": "Europe/Berlin",
              "seriesStartsAt": START.isoformat(), "plannedStart": planned.isoformat(), "sequence": 5,
              "startsAt": (planned + timedelta(hours=2)).isoformat(),
              "endsAt": (planned + timedelta(hours=3)).isoformat(), "exdates": [], "seriesOpen": True,
              "moved": [{"plannedStart": planned.isoformat(), "startsAt": (planned + timedelta(hours=2)).isoformat(),
                         "endsAt": (planned + timedelta(hours=3)).isoformat()}]}
    def invitation(kind: MailKind, data: dict[str, object]) -> Invitation | None:
        return booking_invitation(kind, data, organizer=ORGANIZER, attendee=ATTENDEE, host="lockstep.example",
                                  stamp=START)

    # when its reschedule mail's invitation is made
    moved = invitation(MailKind.BOOKING_RESCHEDULED, series)
    # then it is the series from its first start, with the moved occurrence as an instance of its own
    assert moved is not None
    assert (moved.uid, moved.method, moved.sequence) == ("invitation-series-3@lockstep.example", "REQUEST", 5)
    assert (moved.starts_at, moved.ends_at, moved.rrule) == (START, START + timedelta(hours=1), "FREQ=WEEKLY;COUNT=3")
    assert moved.moved == (MovedOccurrence(planned, planned + timedelta(hours=2), planned + timedelta(hours=3)),)
    assert invitation(MailKind.BOOKING_REMINDER, BOOKING) is None
    single = booking_invitation(MailKind.BOOKING_CANCELLED, BOOKING, organizer=ORGANIZER, attendee=ATTENDEE,
                                host="lockstep.example", stamp=START)
    assert single is not None
    assert (single.uid, single.method, single.sequence) == ("invitation-booking-7@lockstep.example", "CANCEL", 2)


def test_a_booking_given_to_another_staff_member_says_so_and_keeps_its_time() -> None:
    # given the mail of a booking reassigned from Sam to Kim at the same time
    data = {**BOOKING, "staff": "Kim Tech", "previousStaff": "Sam Tech", "previousStartsAt": START.isoformat()}
    # when it is rendered, then it names both and says the time stands
    rendered = render_mail(MailKind.BOOKING_RESCHEDULED, data)
    assert rendered.subject == "Your booking on Tuesday 8 January 2030, 10:00 is now with Kim Tech"
    assert rendered.text == ("Hello Cleo,\n\nYour booking is now with Kim Tech instead of Sam Tech; its time is "
                             "unchanged.\n\nWhat: Boiler check\nWhen: Tuesday 8 January 2030, 10:00 to 11:00 "
                             "(Europe/Berlin)\nWith: Kim Tech\n\nFix-It\n")
    # and for a series, how many appointments moved with it
    series = render_mail(MailKind.BOOKING_RESCHEDULED, {**data, "occurrences": 4})
    assert "This and the 3 after it are all with Kim Tech now." in series.text
