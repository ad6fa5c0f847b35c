"""The definition editor: jsoneditor (shipped by django-json-widget as static files, so the
admin works offline) in code mode, with syntax highlighting and live validation against the
pipeline's JSON Schema. The server validates again on save and has the last word."""

from __future__ import annotations

import copy
import json
from typing import Any

from django_json_widget.widgets import JSONEditorWidget

from apps.orchestration.schema import PIPELINE_SCHEMA


def editor_schema() -> dict[str, Any]:
    """The published schema plus what the editor can check live that the schema leaves to
    ``validation.py`` (required keys, known node types), minus ``$schema``/``$id``, which
    the editor's validator (draft-07) does not know."""
    from apps.orchestration.nodes import list_node_types

    schema = {k: v for k, v in copy.deepcopy(PIPELINE_SCHEMA).items() if not k.startswith("$")}
    schema["required"] = ["version", "nodes"]
    node = schema["properties"]["nodes"]["items"]
    node["required"] = ["id", "type"]
    node["properties"]["type"]["enum"] = list_node_types()
    return schema


class ConfigEditorWidget(JSONEditorWidget):
    """What the operator types is what is submitted, valid JSON or not (the stock template
    would keep the last valid value when the text does not parse: a silent revert)."""

    template_name = "orchestration/admin/config_editor.html"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(
            attrs=attrs,
            mode="code",
            options={"modes": ["code", "tree", "view"], "schema": editor_schema()},
            height="520px",
            width="100%",
        )

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        # Options go through json_script (escaped), not into the page as raw text.
        context["widget"]["options"] = self.options
        return context

    def format_value(self, value: Any) -> str:
        if isinstance(value, str):
            # The form field hands over JSON text (one line); text that does not parse is
            # shown back as typed.
            try:
                value = json.loads(value)
            except ValueError:
                return value
        return json.dumps(value, indent=2, ensure_ascii=False)
