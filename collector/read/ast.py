"""The engine's own parse of a statement, as a tree: the text of `EXPLAIN AST`, read strictly.

Every line is `<indent><Kind>[ <text>][ (alias <alias>)][ (children N)]`, one space of indent per level. The
reader refuses anything else, and checks that each node has exactly the children it declares, so a name that
smuggles a line break into the text cannot graft a node the engine did not parse (the door also refuses
quoted names with escapes before it asks for the tree).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import SqlError

_LINE = re.compile(r"^( *)([A-Z][A-Za-z:]*)(?: (?!\(children \d+\)$)(.*?))?(?: \(children (\d+)\))?$")


@dataclass(slots=True)
class Node:
    kind: str
    text: str = ""
    alias: str = ""
    children: list[Node] = field(default_factory=list)

    def walk(self) -> list[Node]:
        found, stack = [], [self]
        while stack:
            node = stack.pop()
            found.append(node)
            stack.extend(reversed(node.children))
        return found


def _unreadable() -> SqlError:
    return SqlError(62, "The statement's syntax tree cannot be checked (names with line breaks are not allowed)")


def _node(match: re.Match[str]) -> tuple[Node, int]:
    kind, rest, declared = match.group(2), match.group(3) or "", int(match.group(4) or 0)
    text, alias = rest.strip(), ""
    cut = text.find(" (alias ") if not text.startswith("(alias ") else 0
    if cut >= 0 and text.endswith(")"):
        text, alias = text[:cut].strip(), text[cut:].strip()[len("(alias "):-1]
    return Node(kind, text, alias), declared


def parse(explained: str) -> Node:
    """The tree of one `EXPLAIN AST` answer; SqlError if its lines do not form exactly one consistent tree."""
    lines = explained.rstrip("\n").split("\n")
    stack: list[tuple[Node, int, int]] = []  # node, depth, children still expected
    root: Node | None = None
    for line in lines:
        match = _LINE.match(line)
        if not match:
            raise _unreadable()
        depth = len(match.group(1))
        node, declared = _node(match)
        while stack and stack[-1][1] >= depth:
            parent, parent_depth, expected = stack.pop()
            if expected:
                raise _unreadable()
        if root is None:
            if depth != 0:
                raise _unreadable()
            root = node
        else:
            if not stack or stack[-1][1] != depth - 1 or stack[-1][2] == 0:
                raise _unreadable()
            parent, parent_depth, expected = stack[-1]
            parent.children.append(node)
            stack[-1] = (parent, parent_depth, expected - 1)
        stack.append((node, depth, declared))
    if root is None or any(expected for _, _, expected in stack):
        raise _unreadable()
    return root


def has_escaped_name(formatted: str) -> bool:
    """Whether the engine's single-line rendering of a statement quotes a name containing an escape (a line
    break, a tab...): the formatter escapes control characters inside quoted names, and skips literals."""
    quote = ""
    escaped = False
    for ch in formatted:
        if quote:
            if escaped:
                escaped = False
                if quote != "'":
                    return True
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'`\"":
            quote = ch
    return False
