"""``${NAME}`` references to environment variables: resolving, escaping, naming.

A string value may contain ``${NAME}`` anywhere; ``$${`` stands for a literal ``${``.
Exports write secrets as references, never in clear, under names made from the
resource and the field (``VIGIL_CHANNEL_OPS_HOOK_SECRET``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)(\}?)")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_WORD = re.compile(r"[^A-Z0-9]+")


class BadReferenceError(ValueError):
    """A reference that cannot be resolved; the message says why and what to do."""


def resolve(text: str, variables: Mapping[str, str] | None) -> str:
    """``text`` with each ``${NAME}`` replaced by its value and ``$${`` by ``${``.

    ``variables`` None: references are refused (the API reads no environment).
    """

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$${":
            return "${"
        name, closed = match[1], match[2]
        if not closed:
            raise BadReferenceError("has an unclosed ${ reference; write $${ for a literal ${")
        if not _NAME.match(name):
            raise BadReferenceError(
                f"has ${{{name}}}, which is not an environment variable name "
                "(letters, digits and _, not starting with a digit)"
            )
        if variables is None:
            raise BadReferenceError(
                f"refers to ${{{name}}}, but the API reads no environment variables: "
                "write the value in place, or apply the file with 'vigil apply'"
            )
        if name not in variables:
            raise BadReferenceError(
                f"refers to the environment variable {name}, which is not set; "
                "set it, or write the value in place"
            )
        return variables[name]

    return _TOKEN.sub(substitute, text)


def escape(text: str) -> str:
    """``text`` as a document writes it, so that ``resolve`` gives it back unchanged."""
    return text.replace("${", "$${")


def reference(name: str) -> str:
    return "${" + name + "}"


def variable_name(*parts: str) -> str:
    """``("channel", "Ops hook", "webhookUrl")`` -> ``VIGIL_CHANNEL_OPS_HOOK_WEBHOOK_URL``."""
    words = [_NOT_WORD.sub("_", _CAMEL.sub("_", p).upper()).strip("_") for p in parts]
    return "_".join(["VIGIL", *(w or "X" for w in words)])


@dataclass(frozen=True)
class Variable:
    """An environment variable an exported document needs, and the value it stands for."""

    name: str
    where: str


class Secrets:
    """The references one export hands out: unique names, in the order they were made."""

    def __init__(self) -> None:
        self.variables: list[Variable] = []
        self._taken: set[str] = set()

    def refer(self, parts: tuple[str, ...], *, where: str) -> str:
        """A new reference for the secret at ``where``; its name made from ``parts``."""
        base = variable_name(*parts)
        name, n = base, 1
        while name in self._taken:
            n += 1
            name = f"{base}_{n}"
        self._taken.add(name)
        self.variables.append(Variable(name=name, where=where))
        return reference(name)
