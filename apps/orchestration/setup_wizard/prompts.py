"""The wizard's input helpers (the seed's ``_prompt_choice``, ``_prompt_multi``,
``_prompt_input``), mixed into the management command.

Answers are read with ``input()`` so piped answers and tests work; a secret typed at a terminal
is read with ``getpass`` instead, so it is never echoed. The end of the input (EOF) stops the
wizard with ``WizardAborted`` before anything is applied.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from django.core.management.base import OutputWrapper
    from django.core.management.color import Style

T = TypeVar("T")


class WizardAborted(Exception):
    """The wizard stopped before applying anything; the message says why."""


def stdin_is_tty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):  # replaced or closed stdin
        return False


class PromptMixin:
    stdout: OutputWrapper
    style: Style

    def _ask(self, prompt: str, *, secret: bool = False) -> str:
        """One line of input, stripped. At a terminal the prompt goes to ``input`` (readline
        then knows where the line starts); otherwise it is written to the command's stdout."""
        try:
            if stdin_is_tty():
                answer = getpass.getpass(prompt) if secret else input(prompt)
            else:
                self.stdout.write(prompt, ending="")
                self.stdout.flush()
                answer = input()
                # Piped answers are not echoed by a terminal: echo them so a transcript reads
                # as question and answer (a secret only as a mask).
                self.stdout.write("****" if secret and answer.strip() else answer.strip())
        except EOFError:
            raise WizardAborted("the input ended before the wizard finished") from None
        return answer.strip()

    def _options(self, prompt: str, options: Sequence[tuple[object, str]]) -> None:
        self.stdout.write(f"\n{prompt}")
        for number, (_, label) in enumerate(options, 1):
            self.stdout.write(f"  {number}) {label}")

    def _prompt_choice(self, prompt: str, options: Sequence[tuple[T, str]]) -> T:
        """One option from a numbered list; asks again until the answer is a valid number."""
        self._options(prompt, options)
        while True:
            raw = self._ask("\n> ")
            if raw.isdigit() and 1 <= int(raw) <= len(options):
                return options[int(raw) - 1][0]
            self.stdout.write(self.style.WARNING(f"  Please enter 1-{len(options)}."))

    def _prompt_multi(self, prompt: str, options: Sequence[tuple[T, str]]) -> list[T]:
        """One or more options as comma-separated numbers, in the order given, without
        repeats; asks again until every number is valid and there is at least one."""
        self._options(prompt, options)
        while True:
            raw = self._ask("\n> (comma-separated, e.g. 1,3): ")
            items = [item.strip() for item in raw.split(",") if item.strip()]
            if items and all(i.isdigit() and 1 <= int(i) <= len(options) for i in items):
                picked = list(dict.fromkeys(int(i) for i in items))
                return [options[i - 1][0] for i in picked]
            self.stdout.write(
                self.style.WARNING(f"  Enter comma-separated numbers 1-{len(options)}.")
            )

    def _prompt_input(
        self,
        prompt: str,
        default: str | None = None,
        required: bool = False,
        *,
        secret: bool = False,
    ) -> str:
        """Free text; Enter gives ``default``. ``required`` asks again on an empty answer.
        ``secret`` hides the typing at a terminal and never shows a default."""
        suffix = f" [{default}]" if default and not secret else ""
        while True:
            value = self._ask(f"{prompt}{suffix}: ", secret=secret)
            if value:
                return value
            if default is not None:
                return default
            if required:
                self.stdout.write(self.style.WARNING("  Value cannot be empty."))
                continue
            return ""

    def _prompt_yes_no(self, prompt: str, *, default: bool = True) -> bool:
        hint = "[Y/n]" if default else "[y/N]"
        while True:
            answer = self._ask(f"{prompt} {hint}: ").lower()
            if not answer:
                return default
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            self.stdout.write(self.style.WARNING("  Please answer y or n."))
