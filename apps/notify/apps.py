from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "apps.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.orchestration.signals import run_retried

        run_retried.connect(_reopen_failed_deliveries, dispatch_uid="notify-reopen-failed")


def _reopen_failed_deliveries(
    sender: object, *, run_id: str, node_id: str, **kwargs: object
) -> None:
    """An operator retries a run after fixing a channel: let that channel be sent to again."""
    from apps.notify.ledger import reopen_failed

    reopen_failed(run_id, node_id)
