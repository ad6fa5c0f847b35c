from importlib import import_module

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class OrchestrationConfig(AppConfig):
    name = "apps.orchestration"
    label = "orchestration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.orchestration.dispatch import runner_for_start
        from apps.orchestration.engine.runner import set_default_runner

        # Operator actions (retry) run where new runs do: on the workers, or in-process.
        set_default_runner(runner_for_start)

        # Operators' own node types: PIPELINE_EXTRA_NODE_HANDLERS=type=package.module:Class,...
        from apps.orchestration.nodes import BaseNodeHandler, register_node_handler

        for entry in settings.PIPELINE_EXTRA_NODE_HANDLERS:
            node_type, _, target = entry.partition("=")
            module_name, _, class_name = target.partition(":")
            if not (node_type and module_name and class_name):
                raise ImproperlyConfigured(
                    f"PIPELINE_EXTRA_NODE_HANDLERS entry {entry!r} is not type=module:Class"
                )
            handler = getattr(import_module(module_name), class_name)
            if not issubclass(handler, BaseNodeHandler):
                raise ImproperlyConfigured(f"{target} is not a BaseNodeHandler subclass")
            register_node_handler(node_type, handler)
