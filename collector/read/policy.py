"""What each non-admin user may do through the SQL door: objects, functions, formats, settings and limits.

The objects come from `catalog` (one list for the guard and the metadata); the functions from the engine's own
`system.functions`, by category: an allow-list of categories that only compute on their arguments, a few
named helpers clients call, and never a function that reads files, the network, the host, dictionaries,
settings or other tables (`file`, `url`, `dictGet`, `joinGet`, `getSetting`, `hostName`...).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from . import catalog
from .users import Role, User

DATABASE = "analytics"
# Metadata every non-admin may browse, filtered to their objects (see `table_filters`).
METADATA = frozenset({"system.one", "system.databases", "system.tables", "system.columns", "system.functions",
                      "system.settings", "system.data_type_families", "system.time_zones"})
# Columns of the metadata tables that describe the host rather than the data (paths, storage policies).
HOST_COLUMNS = frozenset({"data_path", "data_paths", "metadata_path", "storage_policy"})
# Columns that count every site's rows: a user restricted to some sites must not learn the others' volume.
SIZE_COLUMNS = frozenset({"total_rows", "total_bytes", "total_bytes_uncompressed", "lifetime_rows", "lifetime_bytes",
                          "parts", "active_parts", "total_marks", "data_compressed_bytes",
                          "data_uncompressed_bytes", "marks_bytes"})

SAFE_CATEGORIES = frozenset({
    "Aggregate Functions", "Arithmetic", "Arrays", "Bit", "Bitmap", "Comparison", "Conditional", "Dates and Times",
    "Distance", "Encoding", "Financial", "Geo", "Geo Polygon", "Hash", "IP Address", "JSON", "Logical", "Map",
    "Mathematical", "Null", "Rounding", "String", "String Replacement", "String Search", "String Splitting",
    "Time Window", "Tuple", "Type Conversion", "URL", "UUID",
})
# From the "Other" category: pure helpers, and what client libraries ask on connect.
SAFE_OTHER = frozenset({
    "bar", "byteSize", "countDigits", "currentDatabase", "currentUser", "defaultValueOfArgumentType",
    "defaultValueOfTypeName", "displayName", "errorCodeToName", "finalizeAggregation", "formatReadableDecimalSize",
    "formatReadableQuantity", "formatReadableSize", "formatReadableTimeDelta", "getSizeOfEnumType", "identity",
    "ignore", "isConstant", "isDecimalOverflow", "materialize", "neighbor", "parseReadableSize",
    "parseReadableSizeOrNull", "parseReadableSizeOrZero", "parseTimeDelta", "revision", "rowNumberInAllBlocks",
    "rowNumberInBlock", "runningAccumulate", "runningDifference", "runningDifferenceStartingWithFirstValue",
    "throwIf", "toColumnTypeName", "toTypeName", "transform", "version", "visibleWidth", "MACNumToString",
    "MACStringToNum", "MACStringToOUI", "initializeAggregation",
})
# Spelled as functions by the parser (operators, literals, lambdas); not all are listed in system.functions.
SYNTAX = frozenset({"lambda", "tuple", "array", "in", "notIn", "globalIn", "globalNotIn", "nullIn", "notNullIn",
                    "globalNullIn", "globalNotNullIn", "exists", "grouping", "and", "or", "not", "CAST", "_CAST",
                    "caseWithExpression", "tupleElement", "arrayElement", "equals", "notEquals", "like", "notLike",
                    "ilike", "notILike", "isNull", "isNotNull", "multiIf", "if", "negate"})
COMBINATORS = ("If", "Array", "Merge", "MergeState", "State", "SimpleState", "ForEach", "OrDefault", "OrNull",
               "Resample", "Distinct", "Map", "ArgMin", "ArgMax")

FORMATS = frozenset({
    "Native", "RowBinary", "RowBinaryWithNames", "RowBinaryWithNamesAndTypes", "JSON", "JSONCompact",
    "JSONStrings", "JSONCompactStrings", "JSONEachRow", "JSONStringsEachRow", "JSONCompactEachRow",
    "JSONCompactEachRowWithNames", "JSONCompactEachRowWithNamesAndTypes", "JSONColumns", "JSONColumnsWithMetadata",
    "JSONLines", "NDJSON", "TabSeparated", "TabSeparatedRaw", "TabSeparatedWithNames",
    "TabSeparatedWithNamesAndTypes", "TSV", "TSVRaw", "TSVWithNames", "TSVWithNamesAndTypes", "CSV", "CSVWithNames",
    "CSVWithNamesAndTypes", "Parquet", "Arrow", "ArrowStream", "Values", "Pretty", "PrettyCompact",
    "PrettyCompactMonoBlock", "PrettySpace", "PrettyNoEscapes", "Markdown", "Vertical", "XML", "Null",
})

# Limits on every non-admin query: a dashboard answer is small, a runaway query stops itself.
LIMITS: dict[str, int] = {
    "max_execution_time": 60, "max_result_rows": 1_000_000, "max_result_bytes": 512 * 1024 * 1024,
    "max_rows_to_read": 2_000_000_000, "max_memory_usage": 2 * 1024 ** 3,
    # Half the cores at most: a heavy dashboard query leaves the rest to ingest and the writer.
    "max_threads": max(1, (os.cpu_count() or 2) // 2),
}
# Output settings a non-admin may set per request (as URL parameters); limits may only be lowered.
USER_SETTINGS = frozenset({
    "output_format_json_quote_64bit_integers", "output_format_json_quote_64bit_floats",
    "output_format_json_quote_denormals", "output_format_json_named_tuples_as_objects",
    "output_format_json_array_of_rows", "output_format_csv_crlf_end_of_line", "output_format_tsv_crlf_end_of_line",
    "output_format_pretty_max_rows", "output_format_decimal_trailing_zeros", "date_time_output_format",
    "output_format_parquet_string_as_string", "output_format_arrow_string_as_string", "format_csv_delimiter",
    "output_format_write_statistics", "output_format_native_write_json_as_string", "join_use_nulls",
    "session_timezone", "extremes", "totals_mode", "result_overflow_mode",
})


@dataclass(frozen=True, slots=True)
class Functions:
    """The functions non-admins may call, from the engine's system.functions."""

    exact: frozenset[str]
    folded: frozenset[str]  # lower-cased names of case-insensitive allowed functions
    aggregates: frozenset[str]

    def allows(self, name: str) -> bool:
        if name in self.exact or name.lower() in self.folded:
            return True
        base = name
        while True:  # aggregate combinators: uniqCombined64MergeIf -> uniqCombined64
            suffix = next((s for s in COMBINATORS if base.endswith(s) and len(base) > len(s)), None)
            if suffix is None:
                return False
            base = base[:-len(suffix)]
            if base in self.aggregates or base.lower() in self.folded and base.lower() in self.aggregates:
                return True


def load_functions(query: Callable[[str], list[list[str]]]) -> Functions:
    """Allowed functions from rows of (name, is_aggregate, case_insensitive, alias_to, categories)."""
    rows = query("SELECT name, is_aggregate, case_insensitive, alias_to, categories FROM system.functions")
    category = {r[0]: r[4] for r in rows}
    safe = {r[0] for r in rows if (category.get(r[3], "") if r[3] else r[4]) in SAFE_CATEGORIES
            or (r[3] or r[0]) in SAFE_OTHER} | SYNTAX
    folded = {r[0].lower() for r in rows if r[2] == "1" and r[0] in safe}
    aggregates = {r[0] for r in rows if r[1] == "1" and r[0] in safe}
    return Functions(frozenset(safe), frozenset(folded), frozenset(aggregates | {a.lower() for a in aggregates
                                                                                   if a.lower() in folded}))


def objects(user: User) -> frozenset[str]:
    return catalog.ANALYST_OBJECTS if user.role is Role.ANALYST else catalog.READ_OBJECTS


def _quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def table_filters(user: User, site_tables: frozenset[str]) -> str:
    """ClickHouse's `additional_table_filters` for the user: metadata narrowed to their objects, and every
    table with a `site` column narrowed to their sites (the engine applies it inside views too)."""
    names = ", ".join(_quote(o.split(".", 1)[1]) for o in sorted(objects(user))) or "''"
    filters = {
        "system.databases": f"name = {_quote(DATABASE)}",
        "system.tables": f"database = {_quote(DATABASE)} AND name IN ({names})",
        "system.columns": f"database = {_quote(DATABASE)} AND table IN ({names})",
    }
    if user.sites:
        sites = ", ".join(_quote(s) for s in user.sites)
        filters |= {table: f"site IN ({sites})" for table in sorted(site_tables)}
    return "{" + ", ".join(f"{_quote(k)}: {_quote(v)}" for k, v in filters.items()) + "}"


def settings_clause(user: User, site_tables: frozenset[str], asked: Mapping[str, str]) -> str:
    """The SETTINGS clause appended to a non-admin statement: the user's allowed settings, our limits (lowered
    if asked), the table filters, and readonly last, so nothing after it can change a setting."""
    values: dict[str, str] = {k: _quote(v) for k, v in asked.items() if k in USER_SETTINGS}
    for name, limit in LIMITS.items():
        wanted = asked.get(name, "")
        values[name] = str(min(limit, int(wanted))) if wanted.isdigit() and int(wanted) > 0 else str(limit)
    values["additional_table_filters"] = table_filters(user, site_tables)
    values["readonly"] = "1"
    return " SETTINGS " + ", ".join(f"{k} = {v}" for k, v in values.items())


def refused_settings(asked: Mapping[str, str]) -> list[str]:
    """Settings a non-admin asked for that are neither output settings nor limits lowered (never raised)."""
    return sorted(k for k, v in asked.items() if k not in USER_SETTINGS and not (
        k in LIMITS and v.isdigit() and 0 < int(v) <= LIMITS[k]))
