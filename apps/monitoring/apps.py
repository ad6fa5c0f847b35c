from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class MonitoringConfig(AppConfig):
    """The monitor's own health: the admin dashboard, /metrics, heartbeats, JSON logs."""

    name = "apps.monitoring"
    label = "monitoring"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Metric hooks listen to signals other apps already send (no engine change).
        from apps.monitoring import hooks

        hooks.connect()


class ConsoleAdminConfig(AdminConfig):
    """``django.contrib.admin`` with the operator's dashboard as its index page."""

    default_site = "apps.monitoring.admin_site.ConsoleAdminSite"
