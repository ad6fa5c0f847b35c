"""Email driver against an aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy

import pytest

from apps.notify.drivers import get_driver
from apps.notify.errors import NotifyConfigError, NotifyError
from apps.notify.tests.conftest import SmtpServer, free_port
from apps.notify.tests.helpers import sample_message


def config(server: SmtpServer, **extra: object) -> dict[str, object]:
    values: dict[str, object] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": str(server.port),  # the wizard stores the port as text
        "smtp_user": "alerts",
        "smtp_password": "s3cret",
        "smtp_from": "alerts@example.com",
        "smtp_to": "oncall@example.com, ops@example.com",
    }
    values.update(extra)
    return values


def test_sends_text_and_html_parts(smtp_server: SmtpServer) -> None:
    message = sample_message(message="<script>alert(1)</script> & {{ 7*7 }}")
    result = get_driver("email").send(message, config(smtp_server))

    (envelope,) = smtp_server.handler.envelopes
    assert envelope.mail_from == "alerts@example.com"
    assert envelope.rcpt_tos == ["oncall@example.com", "ops@example.com"]
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["Subject"] == "[CRITICAL] Disk almost full on db-1"
    assert parsed["To"] == "oncall@example.com, ops@example.com"
    assert parsed["X-Alertpipes-Dedup-Key"] == "incident-7"
    assert parsed["Message-ID"] == result.external_id
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()
    assert "<script>alert(1)</script> & {{ 7*7 }}" in text
    assert "Incident #7: Disk full (status: open, severity: critical)" in text
    assert "- disk: CRITICAL 93% used" in text
    # HTML is autoescaped; user text is data, never a template.
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; {{ 7*7 }}" in html
    assert "<script>" not in html
    assert "49" not in html


def test_a_list_of_recipients_is_accepted(smtp_server: SmtpServer) -> None:
    get_driver("email").send(sample_message(), config(smtp_server, smtp_to=["a@example.com"]))
    assert smtp_server.handler.envelopes[0].rcpt_tos == ["a@example.com"]


def test_newlines_in_the_title_cannot_inject_headers(smtp_server: SmtpServer) -> None:
    message = sample_message(title="Hi\r\nBcc: victim@example.com")
    get_driver("email").send(message, config(smtp_server))
    (envelope,) = smtp_server.handler.envelopes
    assert "victim@example.com" not in envelope.rcpt_tos
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["Bcc"] is None


def test_wrong_credentials_are_permanent(smtp_server: SmtpServer) -> None:
    with pytest.raises(NotifyError) as exc:
        get_driver("email").send(sample_message(), config(smtp_server, smtp_password="wrong"))
    assert not exc.value.retryable
    assert "authentication failed" in exc.value.message
    assert smtp_server.handler.envelopes == []


def test_an_unreachable_server_is_retryable() -> None:
    cfg = {
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
        "smtp_from": "alerts@example.com",
        "smtp_to": "oncall@example.com",
    }
    with pytest.raises(NotifyError) as exc:
        get_driver("email").send(sample_message(), cfg)
    assert exc.value.retryable


def test_the_smtp_host_goes_through_the_address_guard(smtp_server: SmtpServer, settings) -> None:
    settings.NOTIFY_ALLOWED_HOSTS = []
    with pytest.raises(NotifyError) as exc:
        get_driver("email").send(sample_message(), config(smtp_server))
    assert not exc.value.retryable
    assert "OUTBOUND_ALLOWED_HOSTS" in exc.value.message
    assert smtp_server.handler.envelopes == []


def test_port_conventions_choose_tls_mode() -> None:
    base = {"smtp_host": "smtp.example.com", "smtp_from": "a@example.com", "smtp_to": "b@x.io"}
    driver = get_driver("email")
    submission = driver.parse_config(base)
    assert (submission.smtp_port, submission.starttls, submission.use_tls) == (587, True, False)
    smtps = driver.parse_config({**base, "smtp_port": 465})
    assert (smtps.starttls, smtps.use_tls) == (False, True)
    relay = driver.parse_config({**base, "smtp_port": "25", "starttls": "yes"})
    assert (relay.starttls, relay.use_tls) == (True, False)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"smtp_host": ""}, "smtp_host is required"),
        ({"smtp_port": "smtp"}, "smtp_port must be an integer"),
        ({"smtp_port": 70000}, "between 1 and 65535"),
        ({"smtp_password": ""}, "smtp_password is required"),
        ({"smtp_to": "not-an-address"}, "is not an email address"),
        ({"smtp_to": ""}, "smtp_to is required"),
        ({"smtp_from": "nobody"}, "smtp_from: 'nobody' is not an email address"),
        ({"use_tls": True, "starttls": True}, "exclusive"),
        ({"use_tls": "maybe"}, "use_tls must be true or false"),
    ],
)
def test_bad_config_is_refused(changes: dict[str, object], problem: str) -> None:
    cfg = {
        "smtp_host": "smtp.example.com",
        "smtp_port": "587",
        "smtp_user": "u",
        "smtp_password": "p",
        "smtp_from": "alerts@example.com",
        "smtp_to": "oncall@example.com",
        **changes,
    }
    with pytest.raises(NotifyConfigError) as exc:
        get_driver("email").send(sample_message(), cfg)
    assert any(problem in e for e in exc.value.errors), exc.value.errors
