"""The SQL door's guard for non-admin users: an allow-list walk over the engine's own parse of the statement.

A second parser that disagrees with the engine is a bypass, so the engine parses: `formatQuerySingleLine`
(the statement as a bound parameter, never as SQL) proves the text is one statement and gives its canonical
form; `EXPLAIN AST` of that form gives the tree that is walked. What runs is the canonical form, with the
role's settings clause appended after its FORMAT clause, `readonly = 1` last, as the backstop.

Allowed: SELECT (with UNION/INTERSECT/EXCEPT, subqueries, CTEs, joins, window functions), SHOW TABLES and
SHOW DATABASES (the metadata filtered to the user's objects), DESCRIBE and EXISTS of an allowed object. Every
node kind outside the list refuses the statement; so does a table outside the user's objects, a function
outside `policy.Functions`, a table function other than an allowed parameterised view, a SETTINGS clause,
INTO OUTFILE, a format outside `policy.FORMATS`, or a site argument outside the user's sites.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import ast, policy
from .ast import Node
from .errors import SqlError, denied
from .users import User

Run = Callable[[str, Mapping[str, str]], str]  # (sql, params) -> TSVRaw text, SqlError on engine errors

ROOTS = frozenset({"SelectWithUnionQuery", "ShowTables", "DescribeQuery", "ExistsTableQuery"})
KINDS = frozenset({
    "SelectWithUnionQuery", "SelectIntersectExceptQuery", "SelectQuery", "ExpressionList", "Subquery",
    "WithElement", "TablesInSelectQuery", "TablesInSelectQueryElement", "TableExpression", "TableJoin", "ArrayJoin",
    "Identifier", "TableIdentifier", "Literal", "Function", "Asterisk", "QualifiedAsterisk", "ColumnsRegexpMatcher",
    "ColumnsListMatcher", "QualifiedColumnsRegexpMatcher", "QualifiedColumnsListMatcher", "ColumnsTransformerList",
    "ColumnsExceptTransformer", "ColumnsReplaceTransformer", "ColumnsApplyTransformer", "OrderByElement",
    "WindowDefinition", "WindowListElement", "SampleRatio", "InterpolateElement", "ShowTables", "DescribeQuery",
    "ExistsTableQuery",
})
_MATCHERS = frozenset({"Asterisk", "QualifiedAsterisk", "ColumnsRegexpMatcher", "ColumnsListMatcher",
                       "QualifiedColumnsRegexpMatcher", "QualifiedColumnsListMatcher"})
_IN = frozenset({"in", "notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn", "globalNullIn", "globalNotNullIn"})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.")


@dataclass(frozen=True, slots=True)
class Checked:
    """A statement a non-admin may run: `sql` is the engine's canonical form with the role's settings."""

    sql: str
    format: str | None  # the statement's own FORMAT clause, if any


def _escape(text: str) -> str:
    """A value for a query parameter: parameters arrive in ClickHouse's escaped text form."""
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")


def canonical(run: Run, sql: str) -> str:
    """The engine's one-line rendering of `sql`; SYNTAX_ERROR for a bad or multi-statement text."""
    if "\x00" in sql:
        raise SqlError(62, "Syntax error: the query contains a NUL byte")
    try:
        return run("SELECT formatQuerySingleLine({q:String})", {"q": _escape(sql)}).rstrip("\n")
    except SqlError as exc:  # the engine names our wrapper query in its message: keep only the client's part
        raise SqlError(exc.code, exc.message.split(": In scope SELECT formatQuerySingleLine")[0]) from None


def check(run: Run, sql: str, params: Mapping[str, str], user: User, functions: policy.Functions,
          site_tables: frozenset[str], settings: Mapping[str, str], default_format: str) -> Checked:
    """The statement a non-admin `user` may run for `sql`, or SqlError (ACCESS_DENIED, SYNTAX_ERROR...)."""
    refused = policy.refused_settings(settings)
    if refused:
        raise SqlError(164, f"Cannot modify '{refused[0][:64]}' setting in readonly mode")
    text = canonical(run, sql)
    if ast.has_escaped_name(text):
        raise SqlError(62, "Syntax error: quoted names with escape sequences are not allowed")
    tree = ast.parse(run("EXPLAIN AST " + text, params))
    def exists(name: str) -> bool:  # an object of that name in the user's database, shadowing a CTE or not
        found = run("SELECT count() FROM system.tables WHERE database = {d:String} AND name = {n:String}",
                    {"d": policy.DATABASE, "n": _escape(name)})
        return found.strip() != "0"

    fmt = _Walk(user, functions, exists).statement(tree)
    if fmt is None:
        text += " FORMAT " + default_format
    return Checked(text + policy.settings_clause(user, site_tables, settings), fmt)


class _Walk:
    def __init__(self, user: User, functions: policy.Functions, exists: Callable[[str], bool]) -> None:
        self.user = user
        self.functions = functions
        self.exists = exists
        self.objects = policy.objects(user)
        self.views: set[int] = set()
        self.metadata = False

    def statement(self, root: Node) -> str | None:
        """Check the whole tree; the statement's FORMAT, if it names one."""
        if root.kind not in ROOTS:
            raise denied(f"{root.kind} is not allowed for role {self.user.role}")
        nodes = root.walk()
        fmt = self._root(root)
        for node in nodes:
            self._node(node)
        if self.metadata:
            self._metadata_columns(nodes)
        return fmt

    def _root(self, root: Node) -> str | None:
        fmt = None
        body = root.children
        if root.kind == "SelectWithUnionQuery":
            body = root.children[1:]
        elif root.kind == "ShowTables":
            databases = [c.text for c in root.children if c.kind == "Identifier" and c.text not in policy.FORMATS]
            if any(d != policy.DATABASE for d in databases):
                raise denied(f"only the {policy.DATABASE} database can be listed")
            body = [c for c in root.children if c.kind != "Identifier" or c.text in policy.FORMATS]
        elif root.kind == "ExistsTableQuery":  # the text is "database table" or "table"
            parts = root.text.split()
            if not parts or len(parts) > 2:
                raise denied("EXISTS needs one table name")
            self._table(".".join(parts))
            body = root.children[len(parts):]
        elif root.kind == "DescribeQuery":
            body = root.children[1:]
        for child in body:
            if child.kind == "Identifier" and child.text in policy.FORMATS and fmt is None:
                fmt = child.text
            elif child.kind == "Identifier":
                raise denied(f"output format {child.text[:64]} is not allowed")
            elif child.kind == "Literal":
                raise denied("INTO OUTFILE is not allowed")
            else:
                raise denied(f"{child.kind} is not allowed here")
        return fmt

    def _node(self, node: Node) -> None:
        if node.kind not in KINDS:
            what = "a SETTINGS clause" if node.kind == "Set" else node.kind
            raise denied(f"{what} is not allowed for role {self.user.role}")
        if node.kind == "TableIdentifier":
            self._table(node.text)
        elif node.kind == "TableExpression":
            for child in node.children:
                if child.kind == "Function":
                    self._view(child)
        elif node.kind == "Function":
            self._function(node)

    def _table(self, name: str) -> None:
        if not name or not set(name) <= _NAME_CHARS:
            raise denied("table names must be plain identifiers")
        if "." not in name:
            name = f"{policy.DATABASE}.{name}"
            if name not in self.objects and not self.exists(name.split(".", 1)[1]):
                return  # a CTE (the tree does not name them) or no table at all: nothing to read
        if name in policy.METADATA:
            self.metadata = True
            return
        if name not in self.objects:
            raise denied(f"SELECT on {name[:128]} is not allowed for role {self.user.role}")

    def _view(self, node: Node) -> None:
        """A table function: only an allowed parameterised view, and only for the user's sites."""
        if node.text not in self.objects:
            raise denied(f"table function {node.text[:64]} is not allowed for role {self.user.role}")
        self.views.add(id(node))  # walked as a view call, not as a function
        args = node.children[0].children if node.children else []
        named = {a.children[0].children[0].text: a.children[0].children[1] for a in args
                 if a.kind == "Function" and a.text == "equals" and len(a.children[0].children) == 2}
        if self.user.sites:
            site = named.get("site")
            if site is None or site.kind != "Literal" or site.text.strip("'") not in self.user.sites \
                    or not (site.text.startswith("'") and site.text.endswith("'")):
                raise denied(f"{node.text} needs a site argument among the user's sites")

    def _function(self, node: Node) -> None:
        if id(node) in self.views:
            return
        if not self.functions.allows(node.text):
            raise denied(f"function {node.text[:64]} is not allowed for role {self.user.role}")
        if node.text in _IN and node.children and len(node.children[0].children) == 2 \
                and node.children[0].children[1].kind == "Identifier":
            raise denied("IN with a table name is not allowed; use IN (SELECT ...)")

    def _metadata_columns(self, nodes: list[Node]) -> None:
        """System tables hold host details (paths, storage) and every site's sizes: name their columns, never `*`."""
        for node in nodes:
            if node.kind in _MATCHERS:
                raise denied("name the columns of system tables (no * or COLUMNS)")
            column = node.text.rsplit(".", 1)[-1] if node.kind == "Identifier" else ""
            if column in policy.HOST_COLUMNS or (self.user.sites and column in policy.SIZE_COLUMNS):
                raise denied(f"column {node.text[:64]} of system tables is not allowed")
