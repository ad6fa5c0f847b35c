"""Templates render in a sandbox, from the project's folder only."""

from __future__ import annotations

import pytest
from jinja2.exceptions import TemplateNotFound
from jinja2.sandbox import SandboxedEnvironment

from apps.notify.templates import environment, render
from apps.notify.tests.helpers import sample_message


def test_the_environment_is_sandboxed_and_autoescapes_html_only() -> None:
    env = environment()
    assert isinstance(env, SandboxedEnvironment)
    assert env.autoescape("notify/message.html") is True
    assert env.autoescape("notify/message.txt") is False


def test_user_text_is_printed_not_evaluated() -> None:
    message = sample_message(
        title="{{ ''.__class__.__mro__ }}", message="{% for x in range(3) %}x{% endfor %}"
    )
    text = render("message.txt", message)
    assert "{{ ''.__class__.__mro__ }}" in text
    assert "{% for x in range(3) %}x{% endfor %}" in text


def test_only_templates_from_the_project_folder_load() -> None:
    with pytest.raises(TemplateNotFound):
        render("../../../../etc/passwd", sample_message())


def test_a_message_without_run_data_renders() -> None:
    text = render("message.txt", sample_message(context={}))
    assert text.startswith("[CRITICAL] Disk almost full on db-1")
