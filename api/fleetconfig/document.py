"""Parsing a configuration document: YAML (or JSON) with the line of every value.

The result is plain data (dicts, lists, strings, numbers, booleans, null) plus a map
from each value's path (``monitors[2].interval``) to its line, so that a problem found
later by the API's validators is reported where the person wrote it. Timestamps stay
strings (the validators parse them, as they parse the API's), ``${NAME}`` references
resolve here, and a key given twice in one mapping is an error (YAML would silently
keep the last).

Errors: ``ConfigError`` carries every ``Issue`` found, each rendered as
``vigil.yaml:14: monitors[2].interval: must be between 30 and 86400``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from api.body import MAX_DEPTH, field_path, text_issue, value_issues
from api.fleetconfig.references import BadReferenceError, resolve

VERSION = 1
# In the order they are applied: what a later section names must exist first.
SECTIONS = ("alertChannels", "monitors", "maintenance", "statusPages")
_LAST_PART = re.compile(r"(\.[^.\[]*|\[\d+\])$")


@dataclass(frozen=True)
class Issue:
    """One problem: where (a path in the document, and its line) and what is wrong."""

    path: str
    message: str
    line: int | None = None

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """The document cannot be applied; ``issues`` says everything that is wrong with it."""

    def __init__(self, issues: Sequence[Issue]) -> None:
        super().__init__(issues[0].message if issues else "invalid document")
        self.issues = sorted(issues, key=lambda i: i.line or 0)

    def render(self, source: str) -> list[str]:
        return [i.render(source) for i in self.issues]


@dataclass
class Document:
    """The sections the document has (absent ones are None) and where each value is."""

    sections: dict[str, list[dict[str, Any]] | None]
    lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, path: str) -> int | None:
        """The line of ``path``, or of its nearest ancestor the document has."""
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = _LAST_PART.sub("", path) if _LAST_PART.search(path) else ""


def _loader() -> Any:
    """SafeLoader without the timestamp rule: times stay text, as in JSON."""
    cls: Any = type("VigilLoader", (yaml.SafeLoader,), {})
    cls.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in rules if tag != "tag:yaml.org,2002:timestamp"]
        for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return cls


_Loader = _loader()


class _Reader:
    def __init__(self, loader: Any, variables: Mapping[str, str] | None) -> None:
        self.loader = loader
        self.variables = variables
        self.lines: dict[str, int] = {}
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str, node: Any) -> None:
        self.issues.append(Issue(path, message, node.start_mark.line + 1))

    def value(self, node: Any, where: list[str | int]) -> Any:
        path = field_path(where) if where else ""
        self.lines.setdefault(path, node.start_mark.line + 1)
        if len(where) > MAX_DEPTH:
            self.fail(path, f"nests deeper than {MAX_DEPTH} levels", node)
            return None
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, [*where, n]) for n, item in enumerate(node.value)]
        return self.scalar(node, path)

    def mapping(self, node: Any, where: list[str | int]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            here = field_path(where) if where else ""
            key = self.scalar(key_node, here, references=False)
            if not isinstance(key, str):
                self.fail(here, f"has the key {key!r}; keys must be text", key_node)
                continue
            if (problem := text_issue(key)) is not None:
                # Not in the path: the path goes into messages and JSON as it is.
                self.fail(here, f"has a key that {problem}", key_node)
                continue
            path = field_path([*where, key])
            if key in out:
                first = self.lines.get(path)
                self.fail(path, f"is given twice (first on line {first})", key_node)
                continue
            out[key] = self.value(value_node, [*where, key])
        return out

    def scalar(self, node: Any, path: str, *, references: bool = True) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            self.fail(path, "must be text, a number, true/false or null here", node)
            return None
        try:
            value = self.loader.construct_object(node)
        except yaml.YAMLError as exc:
            self.fail(path, f"cannot be read: {getattr(exc, 'problem', exc)}", node)
            return None
        if isinstance(value, str) and references:
            try:
                value = resolve(value, self.variables)
            except BadReferenceError as exc:
                self.fail(path, str(exc), node)
                return None
            if (problem := text_issue(value)) is not None:
                # As the JSON API refuses it: neither store keeps it faithfully.
                self.fail(path, problem, node)
                return None
            return value
        if value is None or isinstance(value, str | bool | int | float):
            return value
        self.fail(path, f"must be text, a number, true/false or null, not {node.tag}", node)
        return None


def parse(text: str, *, variables: Mapping[str, str] | None) -> Document:
    """The document in ``text``; ``variables`` resolve ``${NAME}`` (None: refuse them)."""
    loader = _Loader(text)
    reader = _Reader(loader, variables)
    try:
        node = loader.get_single_node()
        root = reader.value(node, []) if node is not None else {}
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "cannot be parsed"
        line = mark.line + 1 if mark is not None else None
        raise ConfigError([Issue("", f"is not valid YAML: {problem}", line)]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Issue("", f"is not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    issues, lines = reader.issues, reader.lines
    if not issues:
        # What neither store can keep (NaN, NUL, 64-bit overflow), as the JSON API refuses it.
        issues = [Issue(p, m, _line(lines, p)) for p, m in value_issues(root)]
    sections = _sections(root, issues, lines)
    if issues:
        raise ConfigError(issues)
    return Document(sections=sections, lines=lines)


def _line(lines: Mapping[str, int], path: str) -> int | None:
    return Document(sections={}, lines=dict(lines)).line_of(path)


def _sections(
    root: Any, issues: list[Issue], lines: Mapping[str, int]
) -> dict[str, list[dict[str, Any]] | None]:
    names = ", ".join(SECTIONS)
    if not isinstance(root, dict):
        issues.append(Issue("", f"must be a mapping with the sections {names}", lines.get("")))
        return {}
    for key in root:
        if key != "version" and key not in SECTIONS:
            issues.append(Issue(key, f"is not a section; the sections are {names}", lines[key]))
    if "version" in root and (root["version"] != VERSION or isinstance(root["version"], bool)):
        issues.append(Issue("version", f"must be {VERSION}", lines["version"]))
    out: dict[str, list[dict[str, Any]] | None] = {}
    for section in SECTIONS:
        if section not in root:
            out[section] = None
            continue
        items = root[section]
        if not isinstance(items, list):
            # Also when empty: with --prune, "monitors:" and nothing under it would
            # delete every monitor; that must be said as "monitors: []".
            issues.append(
                Issue(section, f"must be a list (for none: {section}: [])", lines[section])
            )
            continue
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                path = f"{section}[{n}]"
                issues.append(Issue(path, "must be a mapping of fields", lines.get(path)))
        out[section] = [i for i in items if isinstance(i, dict)]
    return out
