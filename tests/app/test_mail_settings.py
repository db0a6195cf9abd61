"""The mail settings are read from the environment at start and reach the workers' job configuration as they were
given; a value a worker would fail on at every mail stops the start instead, without repeating a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.mail_settings import mail_job_settings
from app.settings import Settings
from jobs.runtime import JobConfig
from jobs.smtp import SmtpServer, smtp_server
from tests.support.smtp import self_signed_certificate

MAIL = ("LOCKSTEP_SMTP_URL", "LOCKSTEP_SMTP_STARTTLS", "LOCKSTEP_SMTP_CA_FILE", "LOCKSTEP_MAIL_FROM",
        "LOCKSTEP_MAIL_FROM_NAME")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOCKSTEP_DATA_DIR", str(tmp_path))
    for name in MAIL:
        monkeypatch.delenv(name, raising=False)


def test_unset_mail_goes_nowhere_from_a_local_address_trusting_the_system_alone() -> None:
    settings = Settings.from_env()
    assert (settings.smtp_url, settings.smtp_starttls, settings.smtp_ca_file, settings.mail_from,
            settings.mail_from_name) == ("", False, "", "bookings@localhost", "Lockstep")


def test_the_settings_are_read_from_the_environment_and_reach_the_job_configuration(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # given a relay on port 587 with STARTTLS, a sign-in, and its own authority in a CA file
    certificate = self_signed_certificate(tmp_path, "relay-ca")
    monkeypatch.setenv("LOCKSTEP_SMTP_URL", "smtp://lockstep:s%40cret@mail.example.com:587")
    monkeypatch.setenv("LOCKSTEP_SMTP_STARTTLS", "true")
    monkeypatch.setenv("LOCKSTEP_SMTP_CA_FILE", str(certificate.cert_file))
    monkeypatch.setenv("LOCKSTEP_MAIL_FROM", " bookings@fixit.example ")
    monkeypatch.setenv("LOCKSTEP_MAIL_FROM_NAME", "  Fix-It   Bookings ")
    # when the settings are read and a worker's configuration is made of them
    settings = Settings.from_env()
    config = JobConfig(database_url="sqlite://:memory:", redis_url="redis://127.0.0.1:1/0", secret_keys=("k",),
                       **mail_job_settings(settings))
    # then each is as given, and the worker's server is the relay, upgraded, trusting that file
    assert (settings.smtp_url, settings.smtp_starttls, settings.smtp_ca_file, settings.mail_from) == (
        "smtp://lockstep:s%40cret@mail.example.com:587", True, str(certificate.cert_file), "bookings@fixit.example")
    assert settings.mail_from_name == "Fix-It Bookings"
    assert (config.smtp_url, config.smtp_starttls, config.smtp_ca_file, config.mail_from, config.mail_from_name) == (
        settings.smtp_url, True, str(certificate.cert_file), "bookings@fixit.example", "Fix-It Bookings")
    server = smtp_server(config.smtp_url, starttls=config.smtp_starttls, ca_file=config.smtp_ca_file)
    assert server == SmtpServer("mail.example.com", 587, implicit_tls=False, starttls=True, username="lockstep",
                                password="s@cret", ca_file=str(certificate.cert_file))
    # and neither the settings nor the job configuration show the password
    assert "s%40cret" not in repr(settings) and "s%40cret" not in repr(config)


def test_a_ca_file_given_relative_to_the_working_folder_is_kept_as_its_full_path(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    self_signed_certificate(tmp_path, "relay-ca")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOCKSTEP_SMTP_CA_FILE", "relay-ca-cert.pem")
    assert Settings.from_env().smtp_ca_file == str(tmp_path.resolve() / "relay-ca-cert.pem")


@pytest.mark.parametrize(("name", "value", "says"), [
    ("LOCKSTEP_SMTP_URL", "https://lockstep:hunter2-secret@mail.example.com", "LOCKSTEP_SMTP_URL: an SMTP URL is"),
    ("LOCKSTEP_SMTP_STARTTLS", "sometimes", "LOCKSTEP_SMTP_STARTTLS must be true or false"),
    ("LOCKSTEP_MAIL_FROM", "Fix-It <bookings@fixit.example>", "LOCKSTEP_MAIL_FROM must be a plain address"),
    ("LOCKSTEP_SMTP_CA_FILE", "/nonexistent/relay-ca.pem", "LOCKSTEP_SMTP_CA_FILE: /nonexistent/relay-ca.pem cannot"),
    ("LOCKSTEP_MAIL_FROM_NAME", "F" * 101, "LOCKSTEP_MAIL_FROM_NAME must be a name of 1 to 100 printable"),
    ("LOCKSTEP_MAIL_FROM_NAME", "Fix-It\x07", "LOCKSTEP_MAIL_FROM_NAME must be a name of 1 to 100 printable"),
])
def test_a_setting_a_worker_would_fail_on_stops_the_start(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert str(stopped.value).startswith(says)
    assert "hunter2-secret" not in str(stopped.value)


def test_a_ca_file_that_holds_no_certificate_stops_the_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    not_pem = tmp_path / "relay-ca.pem"
    not_pem.write_text("this is not a certificate\n")
    monkeypatch.setenv("LOCKSTEP_SMTP_CA_FILE", str(not_pem))
    with pytest.raises(SystemExit) as stopped:
        Settings.from_env()
    assert str(stopped.value) == (f"LOCKSTEP_SMTP_CA_FILE: {not_pem} cannot be read as PEM certificates "
                                  "(NO_CERTIFICATE_OR_CRL_FOUND)")
