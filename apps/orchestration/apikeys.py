"""API keys stored hashed, with a scope: ``read`` ⊂ ``write`` ⊂ ``admin``.

A key is ``ap_<prefix>_<secret>``; the database keeps the prefix (to find the row) and the
SHA-256 of the whole key. The key itself is shown once, when it is made. SHA-256 rather than a
password hash: the secret is 256 random bits, so nothing is gained by slowing every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.db import models
from django.utils import timezone

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "ap_"


def scope_allows(held: str, needed: str) -> bool:
    """Whether a key of scope ``held`` may do what needs ``needed`` (admin ⊇ write ⊇ read)."""
    return held in SCOPES and SCOPES.index(held) >= SCOPES.index(needed)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    """One stored API key (the key itself is never stored)."""

    class Scope(models.TextChoices):
        READ = "read"
        WRITE = "write"
        ADMIN = "admin"

    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.prefix}…)"

    @classmethod
    def create_key(cls, name: str, scope: str) -> tuple[ApiKey, str]:
        """A new stored key and the key itself (shown once, never recoverable)."""
        if scope not in SCOPES:
            raise ValueError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}")
        prefix = secrets.token_hex(6)
        key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        row = cls.objects.create(name=name, prefix=prefix, hashed_key=digest(key), scope=scope)
        return row, key


@dataclass(frozen=True)
class Principal:
    """Who a request authenticated as: a stored key, a bootstrap key or a staff session."""

    name: str
    scope: str
    key_id: int | None = None

    # Enough of the user interface for DRF and Django's templates.
    is_authenticated = True
    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False

    @property
    def username(self) -> str:
        return self.name

    def __str__(self) -> str:
        return self.name


def authenticate_key(key: str, bootstrap: list[str]) -> Principal | None:
    """The principal a presented key stands for, or None for an unknown or revoked key."""
    if not key:
        return None
    if key.startswith(KEY_PREFIX):
        prefix = key[len(KEY_PREFIX) :].partition("_")[0]
        row = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
        if row is not None and hmac.compare_digest(row.hashed_key, digest(key)):
            _touch(row)
            return Principal(name=row.name, scope=row.scope, key_id=row.pk)
    # compare_digest against every bootstrap key so timing does not reveal a prefix match.
    matches = [hmac.compare_digest(key.encode(), k.encode()) for k in bootstrap]
    if any(matches):
        return Principal(name="bootstrap", scope="admin")
    return None


def _touch(row: ApiKey) -> None:
    # At most one write a minute per key: every request writing would double the API's cost.
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=row.pk).update(last_used_at=now)
