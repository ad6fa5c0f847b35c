"""One declaration of a driver's, provider's or checker's options: a pydantic model.

The same model validates wherever options are saved (API, admin, wizard, node validation) and
publishes their JSON Schema (OpenAPI, ``GET /notify/drivers/``, docs). Each family turns the
model's errors into the messages its users and scripts already know (``issues()`` gives it
what it needs: the option, the kind of problem, the value and the model's own message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NoReturn

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

OPTION_ERROR = "option"


class Options(BaseModel):
    """Base of every options model: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def fail(message: str) -> NoReturn:
    """Refuse a value from inside a validator with exactly ``message``."""
    # Passed as context: the template is formatted, and a message may quote braces.
    raise PydanticCustomError(OPTION_ERROR, "{message}", {"message": message})


@dataclass(frozen=True)
class Issue:
    """One problem pydantic found, in the terms the families phrase their messages in."""

    key: str
    kind: str  # pydantic's error type: "option" (ours), "missing", "extra_forbidden", ...
    value: Any
    message: str
    context: dict[str, Any]


def issues(model: type[Options], data: Any) -> tuple[Options | None, list[Issue]]:
    """``model`` built from ``data``, or None and every problem found."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        found = []
        for error in exc.errors(include_url=False):
            loc = [str(part) for part in error.get("loc", ())]
            found.append(
                Issue(
                    key=loc[0] if loc else "",
                    kind=error["type"],
                    value=error.get("input"),
                    message=error.get("msg", ""),
                    context=dict(error.get("ctx") or {}),
                )
            )
        return None, found


def json_schema(model: type[Options]) -> dict[str, Any]:
    """The options' JSON Schema (draft 2020-12), for documents and forms."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    return schema
