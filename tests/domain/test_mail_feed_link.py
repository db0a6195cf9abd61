"""The customer's calendar feed link in a booking mail (domain.mail_templates): in both parts when the mail's data
has one, escaped in the HTML, and nowhere when it has none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, strategies as st

from domain.mail import MailKind
from domain.mail_templates import render_mail

START = datetime(2030, 1, 8, 9, tzinfo=UTC)
BOOKING: dict[str, object] = {
    "business": "Fix-It", "customer": "Cleo", "service": "Boiler check", "staff": "Sam Tech", "zone": "Europe/Berlin",
    "bookingId": 7, "sequence": 2, "startsAt": START.isoformat(), "endsAt": (START + timedelta(hours=1)).isoformat(),
    "seriesId": None}
LINK = "https://book.example.com/feeds/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde.ics"
LEAD = ("All your bookings in your calendar app: subscribe to this address (keep it to yourself, anyone who has it "
        "can read your bookings):")


def test_a_confirmation_with_a_feed_link_shows_it_before_the_business() -> None:
    rendered = render_mail(MailKind.BOOKING_CONFIRMED, {**BOOKING, "feedLink": LINK})
    assert rendered.text == ("Hello Cleo,\n\nYour booking is confirmed.\n\nWhat: Boiler check\n"
                             "When: Tuesday 8 January 2030, 10:00 to 11:00 (Europe/Berlin)\nWith: Sam Tech\n\n"
                             f"{LEAD}\n{LINK}\n\nFix-It\n")
    assert f'<p>{LEAD}<br><a href="{LINK}">{LINK}</a></p>\n<p>Fix-It</p>' in rendered.html


def test_without_a_link_the_mail_says_nothing_of_a_feed() -> None:
    for kind in (MailKind.BOOKING_CONFIRMED, MailKind.BOOKING_RESCHEDULED, MailKind.BOOKING_CANCELLED):
        rendered = render_mail(kind, {**BOOKING, "previousStartsAt": START.isoformat()})
        assert "feeds" not in rendered.text and "calendar app" not in rendered.html


@given(st.text(alphabet="abc\"'<>&/:", min_size=1, max_size=20))
def test_the_link_is_escaped_in_html(tail: str) -> None:
    html = render_mail(MailKind.BOOKING_CONFIRMED, {**BOOKING, "feedLink": f"https://x.example/{tail}"}).html
    anchor = html.split("<a ", 1)[1].split("</a>", 1)[0]
    assert '"' not in anchor.split('href="', 1)[1].split('">', 1)[0]
    assert "<" not in anchor and "'" not in anchor.replace("&#x27;", "")
