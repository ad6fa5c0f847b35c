"""Email over SMTP (smtplib): plain text and HTML parts rendered from templates."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from django.conf import settings

from apps.notify.drivers.base import BaseDriver
from apps.notify.drivers.config import ConfigReader, check_address
from apps.notify.errors import NotifyError
from apps.notify.message import DeliveryResult, NotificationMessage
from apps.notify.templates import render
from apps.outbound import OutboundBlockedError, host_problems
from apps.outbound.smtp import GuardedSMTP, GuardedSMTPSSL

KEYS = {
    "smtp_host",
    "smtp_port",
    "smtp_user",
    "smtp_password",
    "smtp_from",
    "smtp_to",
    "use_tls",
    "starttls",
}


@dataclass(frozen=True)
class EmailConfig:
    smtp_host: str
    smtp_port: int
    smtp_user: str
    smtp_password: str
    smtp_from: str
    smtp_to: list[str]
    use_tls: bool
    starttls: bool

    @classmethod
    def from_dict(cls, raw: Any) -> EmailConfig:
        r = ConfigReader(raw, KEYS)
        port = r.integer("smtp_port", default=587, minimum=1, maximum=65535)
        # Defaults follow the port's convention: 465 is implicit TLS, 587 is submission
        # with STARTTLS; anything else (a local relay on 25, a test server) is plain.
        use_tls = r.boolean("use_tls", default=port == 465)
        starttls = r.boolean("starttls", default=port == 587 and not use_tls)
        if use_tls and starttls:
            r.errors.append("use_tls and starttls are exclusive (implicit TLS vs STARTTLS)")
        user = r.string("smtp_user", required=False)
        password = r.string("smtp_password", required=bool(user))
        sender = r.string("smtp_from")
        if sender:
            check_address(r, "smtp_from", sender)
        host = r.string("smtp_host")
        if host:
            # The same rule as URLs: only a host every resolver reads the same way.
            r.errors.extend(f"smtp_host {p.removeprefix('host ')}" for p in host_problems(host))
        config = cls(
            smtp_host=host,
            smtp_port=port,
            smtp_user=user,
            smtp_password=password,
            smtp_from=sender,
            smtp_to=r.email_list("smtp_to"),
            use_tls=use_tls,
            starttls=starttls,
        )
        r.finish()
        return config


def _one_line(text: str) -> str:
    # A newline in a header would be rejected by the email package (or inject a header).
    return " ".join(str(text).split())


class EmailDriver(BaseDriver):
    name = "email"
    label = "Email (SMTP)"
    config_class = EmailConfig
    secret_keys = ("smtp_password",)

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
