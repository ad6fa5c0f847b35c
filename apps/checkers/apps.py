from django.apps import AppConfig


class CheckersConfig(AppConfig):
    name = "apps.checkers"
    label = "checkers"
    default_auto_field = "django.db.models.BigAutoField"
