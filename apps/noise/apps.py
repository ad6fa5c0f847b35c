from django.apps import AppConfig


class NoiseConfig(AppConfig):
    name = "apps.noise"
    label = "noise"
    verbose_name = "Noise control"
    default_auto_field = "django.db.models.BigAutoField"
