"""What a staff invitation says (domain.mail_templates) and what kind of mail it is (domain.mail): exact examples and
properties."""

from __future__ import annotations

from html import escape

from hypothesis import given, strategies as st

from domain.mail import ACCOUNT_KINDS, MailKind
from domain.mail_templates import render_mail

LINK = "https://app.example.com/account?lang=de&invite=abc-DEF_123"
INVITE: dict[str, object] = {"recipient": "Sam Tech", "inviter": "Olga Owner", "business": "Fix-It", "staffId": 3,
                             "link": LINK}


def test_an_invitation_names_who_invited_whom_to_which_business_with_the_link() -> None:
    rendered = render_mail(MailKind.STAFF_INVITE, INVITE)
    assert rendered.subject == "Olga Owner invited you to take bookings at Fix-It"
    assert rendered.text == (
        "Hello Sam Tech,\n\nOlga Owner invited you to take bookings at Fix-It. To accept, open this link and choose "
        "the password you will\nsign in with:\n\n"
        f"{LINK}\n\n"
        "The link works until you have accepted, or until Fix-It sends you a new invitation. If you did not expect\n"
        "this mail, ignore it: no account is made without you.\n")
    assert ('<p><a href="https://app.example.com/account?lang=de&amp;invite=abc-DEF_123">'
            'https://app.example.com/account?lang=de&amp;invite=abc-DEF_123</a></p>') in rendered.html


def test_an_owner_without_a_name_invites_in_the_businesss_name() -> None:
    rendered = render_mail(MailKind.STAFF_INVITE, {**INVITE, "inviter": "", "recipient": ""})
    assert rendered.subject == "Fix-It invited you to take bookings at Fix-It"
    assert rendered.text.startswith("Hello there,\n\nFix-It invited you to take bookings at Fix-It.")


def test_an_invitation_is_account_mail() -> None:
    # always sent, whatever preferences say, and its row forgets the link once it is sent
    assert MailKind.STAFF_INVITE in ACCOUNT_KINDS


_NAME = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30)


@given(_NAME, _NAME, _NAME)
def test_every_name_is_text_in_the_html_and_the_link_is_in_both_parts(recipient: str, inviter: str,
                                                                       business: str) -> None:
    rendered = render_mail(MailKind.STAFF_INVITE, {**INVITE, "recipient": recipient, "inviter": inviter,
                                                   "business": business})
    assert rendered.subject == f"{inviter} invited you to take bookings at {business}"
    assert f"\n\n{LINK}\n\n" in rendered.text
    assert f'<a href="{escape(LINK)}">{escape(LINK)}</a>' in rendered.html
    for fragment in rendered.html.split("<")[1:]:
        assert fragment.split(">", 1)[0].lstrip("/").split(" ")[0] in {"!DOCTYPE", "html", "body", "p", "a"}
    assert f"<p>Hello {escape(recipient)},</p>" in rendered.html
    assert f"<p>{escape(inviter)} invited you to take bookings at {escape(business)}." in rendered.html
