"""An account mail's link (its token in clear) is forgotten whatever becomes of the mail: sent, refused, failed after
a day of trying, or dropped; other mail keeps its data."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.mail import MailKind
from domain.retry import gives_up
from models import MailOutbox, MailState
from services.mail import queue_mail
from services.mail_delivery import mail_not_delivered, mail_refused, mail_sent, mail_to_send

NOW = datetime(2030, 1, 7, 9, tzinfo=UTC)
LINK = "https://lockstep.example/account?token=secret-token"


async def owed(kind: MailKind = MailKind.PASSWORD_RESET) -> MailOutbox:
    mail = await queue_mail(kind, {"recipient": "Pat", "link": LINK}, NOW, address="pat@example.com")
    assert mail is not None
    return mail


async def data_of(mail: MailOutbox) -> tuple[str, dict[str, object]]:
    row = await MailOutbox.get(id=mail.id)
    return str(row.state), dict(row.data)


async def test_a_sent_or_refused_account_mail_keeps_no_link(db: str) -> None:
    sent, refused = await owed(), await owed()
    await mail_sent(sent.id, NOW)
    await mail_refused(refused.id, "550 no such user", NOW)
    assert [await data_of(sent), await data_of(refused)] == [("sent", {"recipient": "Pat"}),
                                                             ("failed", {"recipient": "Pat"})]


async def test_an_account_mail_failed_after_a_day_of_trying_keeps_no_link(db: str) -> None:
    mail = await owed()
    attempts = next(attempt for attempt in range(1, 1000) if gives_up(attempt + 1))
    await MailOutbox.filter(id=mail.id).update(attempts=attempts)
    assert await mail_not_delivered(mail.id, "421 try later", NOW) == "failed"
    assert await data_of(mail) == ("failed", {"recipient": "Pat"})


async def test_a_dropped_account_mail_keeps_no_link(db: str) -> None:
    mail = await owed()
    await MailOutbox.filter(id=mail.id).update(address="")  # nobody left to send it to
    assert await mail_to_send(mail.id) is None
    assert await data_of(mail) == (MailState.DROPPED.value, {"recipient": "Pat"})


async def test_other_mail_keeps_its_data(db: str) -> None:
    mail = await queue_mail(MailKind.SYNC_RECOVERED, {"recipient": "Sam", "link": LINK}, NOW, address="s@example.com")
    assert mail is not None
    await mail_sent(mail.id, NOW)
    assert (await data_of(mail))[1] == {"recipient": "Sam", "link": LINK}
