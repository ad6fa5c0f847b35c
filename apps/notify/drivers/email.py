"""Email over SMTP (smtplib): plain text and HTML parts rendered from templates."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Annotated, Any

from django.conf import settings
from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from apps.notify.drivers.base import BaseDriver
from apps.notify.drivers.config import (
    DriverConfig,
    EmailList,
    Flag,
    address_problem,
    integer,
    text,
)
from apps.notify.errors import NotifyError
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render
from apps.options import fail
from apps.outbound import OutboundBlockedError, host_problems
from apps.outbound.smtp import GuardedSMTP, GuardedSMTPSSL


def _sender(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        problem = address_problem("smtp_from", value.strip())
        if problem:
            fail(problem)
    return value


def _host(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        # The same rule as URLs: only a host every resolver reads the same way.
        problems = [f"smtp_host {p.removeprefix('host ')}" for p in host_problems(value.strip())]
        if problems:
            fail("; ".join(problems))
    return value


Host = Annotated[text(), BeforeValidator(_host)]
Port = integer(587, 1, 65535)
Optional = text("")
Sender = Annotated[text(), BeforeValidator(_sender)]


class EmailConfig(DriverConfig):
    # Not frozen: the TLS defaults are filled in from the port once it is read.
    model_config = ConfigDict(frozen=False)
    secret_fields = ("smtp_password",)

    smtp_host: Host = Field(description="SMTP server")
    smtp_port: Port = Field(587, description="465 implies TLS, 587 STARTTLS")
    smtp_user: Optional = Field("", description="Login (optional)")
    smtp_password: Optional = Field(
        "", description="Password (required with smtp_user)", json_schema_extra={"writeOnly": True}
    )
    smtp_from: Sender = Field(description="Sender address")
    smtp_to: EmailList = Field(description="Recipients")
    use_tls: Flag = Field(None, description="Implicit TLS (default: port 465)")
    starttls: Flag = Field(None, description="STARTTLS (default: port 587 without use_tls)")

    @model_validator(mode="after")
    def _tls_and_login(self) -> EmailConfig:
        # Defaults follow the port's convention: 465 is implicit TLS, 587 is submission
        # with STARTTLS; anything else (a local relay on 25, a test server) is plain.
        if self.use_tls is None:
            self.use_tls = self.smtp_port == 465
        if self.starttls is None:
            self.starttls = self.smtp_port == 587 and not self.use_tls
        problems = []
        if self.use_tls and self.starttls:
            problems.append("use_tls and starttls are exclusive (implicit TLS vs STARTTLS)")
        if self.smtp_user and not self.smtp_password:
            problems.append("smtp_password is required")
        if problems:
            fail("; ".join(problems))
        return self


def _one_line(text: str) -> str:
    # A newline in a header would be rejected by the email package (or inject a header).
    return " ".join(str(text).split())


class EmailDriver(BaseDriver):
    name = "email"
    label = "Email (SMTP)"
    config_class = EmailConfig

    def build(self, message: NotificationMessage, config: EmailConfig) -> EmailMessage:
        email = EmailMessage()
        email["Subject"] = _one_line(f"[{message.severity.upper()}] {message.title}")[:250]
        email["From"] = config.smtp_from
        email["To"] = ", ".join(config.smtp_to)
        email["Date"] = formatdate(localtime=False)
        domain = config.smtp_from.rpartition("@")[2]
        # A resend after an unknown outcome carries the same Message-ID, so mail systems
        # and clients that collapse duplicates by it show one message.
        email["Message-ID"] = (
            f"<{message.idempotency_key}@{domain}>"
            if message.idempotency_key
            else make_msgid(domain=domain)
        )
        if message.dedup_key:
            email["X-Alertpipes-Dedup-Key"] = _one_line(message.dedup_key)
        email.set_content(render("message.txt", message))
        email.add_alternative(render("message.html", message), subtype="html")
        return email

    def send(self, message: NotificationMessage, config: dict[str, Any]) -> DeliveryResult:
        cfg = self.parse_config(config)
        email = self.build(message, cfg)
        timeout = float(settings.NOTIFY_HTTP_TIMEOUT)
        where = f"{cfg.smtp_host}:{cfg.smtp_port}"
        try:
            if cfg.use_tls:
                smtp: smtplib.SMTP = GuardedSMTPSSL(
                    cfg.smtp_host,
                    cfg.smtp_port,
                    timeout=timeout,
                    context=ssl.create_default_context(),
                )
            else:
                smtp = GuardedSMTP(cfg.smtp_host, cfg.smtp_port, timeout=timeout)
            with smtp:
                if cfg.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if cfg.smtp_user:
                    smtp.login(cfg.smtp_user, cfg.smtp_password)
                refused = smtp.send_message(email)
        except OutboundBlockedError as exc:
            raise NotifyError(f"{where}: {exc.message}", retryable=False) from exc
        except smtplib.SMTPAuthenticationError as exc:
            raise NotifyError(f"{where}: authentication failed ({exc.smtp_code})") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            raise NotifyError(f"{where}: all recipients refused: {sorted(exc.recipients)}") from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise NotifyError(f"{where}: {exc}") from exc
        except smtplib.SMTPResponseException as exc:
            # SMTP's own convention: 4xx is transient, 5xx permanent.
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise NotifyError(
                f"{where}: SMTP {exc.smtp_code} {text}", retryable=400 <= exc.smtp_code < 500
            ) from exc
        except ssl.SSLCertVerificationError as exc:
            raise NotifyError(f"{where}: TLS certificate rejected: {exc.verify_message}") from exc
        except (smtplib.SMTPException, OSError) as exc:
            # Timeouts, refused or dropped connections: the server may be back shortly.
            raise NotifyError(f"{where}: {type(exc).__name__}: {exc}", retryable=True) from exc
        return DeliveryResult(
            driver=self.name,
            summary={"recipients": cfg.smtp_to, "refused": sorted(refused)},
            external_id=str(email["Message-ID"]),
        )
