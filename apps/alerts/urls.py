"""Webhook URLs (filled in by the alerts app)."""

urlpatterns: list = []
