"""The definition form: the config shown masked, echoed masks restored, validated per node."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.orchestration.admin.widgets import ConfigEditorWidget
from apps.orchestration.defaults import RESERVED_NAMES
from apps.orchestration.models import PipelineDefinition
from apps.orchestration.secrets import leftover_masks, mask_config, restore_config
from apps.orchestration.validation import validate_config


class PipelineDefinitionForm(forms.ModelForm):
    """``config_errors`` and ``submitted_config`` let the page draw the submitted graph with
    each problem on its node."""

    class Meta:
        model = PipelineDefinition
        fields = ["name", "description", "is_active", "config", "tags"]
        widgets = {"config": ConfigEditorWidget()}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config_errors: list[str] = []
        self.submitted_config: Any = None
        if self.instance.pk and not self.is_bound:
            # Inline secrets (webhook URLs, API keys) never reach the browser.
            self.initial["config"] = mask_config(self.instance.config)
        self.fields["config"].help_text = (
            "Pipeline config as JSON (docs/pipelines.md). Secrets are shown as **** and kept "
            "when left so; a value edited around a **** is refused: re-enter it whole. "
            "Validated on save; the version goes up when the config changes."
        )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if name in RESERVED_NAMES:
            raise forms.ValidationError(f"{name!r} is the name of a built-in definition.")
        return name

    def clean_config(self) -> Any:
        config = self.cleaned_data["config"]
        if self.instance.pk:
            stored = type(self.instance).objects.filter(pk=self.instance.pk).first()
            if stored is not None:
                config = restore_config(config, stored.config)
        self.submitted_config = config
        errors = validate_config(config) + leftover_masks(config)
        if errors:
            self.config_errors = errors
            raise forms.ValidationError(errors)
        return config
