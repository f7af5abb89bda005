#!/usr/bin/env python3
"""chfront: ClickHouse's HTTP interface around one embedded ClickHouse 26.x engine (chdb).

    <venv python> chfront.py --host 127.0.0.1 --port PORT --path ENGINE_DIR \\
        --config CONFIG_XML --users USERS_JSON --log LOGFILE

What this node is
-----------------
The SQL engine is the real ClickHouse 26.9 (chdb-core: the server's own code as a Python
extension), opened once as ``chdb.session.Session("ENGINE_DIR?config-file=CONFIG_XML")``.
Everything SQL is the engine's: MergeTree and its partitions, BACKUP/RESTORE (to Disk(), File(),
S3(), with ASYNC and ``SETTINGS base_backup``), system.backups, TTL, mutations, the modern
system tables, every error code and message. Output (FORMAT JSON, JSONEachRow, TSV, ...) is
the engine's bytes, passed through untouched.

What is project-written is only the HTTP layer in this file, modelled on ClickHouse's
``src/Server/HTTPHandler.cpp`` and ``src/Server/HTTP/*`` (26.x):

- ``/`` (POST body and/or ``?query=``: the query is the parameter, a line break, then the
  body), ``/ping`` and ``/replicas_status`` (``Ok.``), GET ``/`` without parameters (``Ok.``).
- Parameters ``database`` (or header ``X-ClickHouse-Database``), ``default_format`` (or
  ``X-ClickHouse-Format``), ``query_id`` (or ``X-ClickHouse-Query-Id``), ``param_<name>``
  (query parameters), ``session_id``/``session_timeout``/``session_check``/``close_session``,
  ``wait_end_of_query``, ``buffer_size``, ``compress``...; every other parameter is a setting,
  applied to that one query (``SET`` before it, reset after it) and refused, like the server,
  where the user's ``readonly`` forbids it.
- Users from a JSON file (see ``load_users``), authenticated the way
  ``src/Server/HTTP/authenticateUserByHTTP.cpp`` does: ``X-ClickHouse-User``/``-Key`` headers,
  HTTP Basic, or ``user``/``password`` parameters; mixing two methods is refused; a wrong
  password or unknown user answers ``516 AUTHENTICATION_FAILED`` with the server's message.
  ``readonly`` (0, 1, 2) has the server's meaning; HTTP GET implies ``readonly = 2``.
- Errors in the server's form: ``Code: N. DB::Exception: <message>. (NAME) (version V)`` and a
  line break (V is the engine's VERSION_STRING + VERSION_OFFICIAL, the latter empty in chdb;
  an official server build says ``(version 26.9.2.1 (official build))``), header ``X-ClickHouse-Exception-Code: N``, and the HTTP status ClickHouse maps the
  code to (``HTTP_STATUS_BY_CODE`` below, transcribed from its source).
- Headers ``X-ClickHouse-Query-Id``, ``-Format``, ``-Timezone``, ``-Summary``,
  ``-Server-Display-Name``, ``Content-Type`` per output format.

The answer is always buffered whole before anything is sent, i.e. every request behaves as
with ``wait_end_of_query=1``. The real server streams by default: an error after its first
buffer has gone out arrives after an HTTP 200 and the data, with no proper status (in 26.x the
``X-ClickHouse-Exception-Code`` header is then only sent if the headers were still open). This
front always knows the outcome before the status line, so a failed query always gets the
mapped status and the ``X-ClickHouse-Exception-Code`` header.

What this node is not
---------------------
- One engine, one session: requests are serialised by a lock (``Front.engine_lock``), one query
  at a time; a second client waits (its request is queued, not refused). Per-request state
  (database, settings, ``session_id`` settings) is re-established inside the lock, so clients do
  not see each other's settings. Temporary tables are the engine's and shared by everyone.
- No ON CLUSTER, no replication (no ZooKeeper: ReplicatedMergeTree fails with code 225), no
  Distributed tables over several hosts, no native TCP port, no interserver port.
- No SQL users, roles, grants or quotas of its own: the engine runs everything as its
  ``default`` user (``currentUser()``, ``system.processes.user`` say ``default``;
  ``getSetting('readonly')`` says 0). Users and readonly live in this front only.
- ``query_id`` is the client's in headers, in the log and for ``KILL QUERY``; the engine's
  own tables (system.processes) show the engine's ids.
- ``KILL QUERY WHERE query_id = '<id>' [SYNC|ASYNC|TEST]`` works for the form luminatectl
  sends: it runs outside the lock on a second engine connection, finds the running query's
  engine id and kills it (the client of the killed query gets ``394 QUERY_WAS_CANCELLED``); a
  query still waiting for the lock is cancelled before it starts. Killing needs a cancellable
  query: like the server, ``sleep(3)`` is only interrupted between blocks. Other ``KILL QUERY``
  conditions (``WHERE user = ...``) run as written against the engine's process list, where
  every query is ``default``'s and has an engine id. ``KILL MUTATION`` is the engine's.
- ``SELECT ... FROM system.processes`` waits for the lock like any query, so it shows only
  itself.

Sources (ClickHouse/ClickHouse): src/Server/HTTP/exceptionCodeToHTTPStatus.cpp (status table),
src/Server/HTTPHandler.cpp (processQuery, trySendExceptionToClient, DynamicQueryHandler::getQuery,
the reserved parameter names), src/Server/HTTP/sendExceptionToHTTPClient.cpp,
src/Server/HTTP/authenticateUserByHTTP.cpp, src/Server/HTTP/setReadOnlyIfHTTPMethodIdempotent.cpp,
src/Access/AccessControl.cpp (authentication message), src/Access/ContextAccess.cpp (readonly
messages), src/Common/Exception.cpp (getExceptionMessage: ``Code: N. `` + text + ``.`` if
missing + `` (NAME)``; getCurrentExceptionMessage appends `` (version V)``),
src/Interpreters/InterpreterKillQueryQuery.cpp (kill_status values), src/IO/Progress.cpp
(X-ClickHouse-Summary fields). See CHFRONT.md for the contract and measurements.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gzip
import hashlib
import hmac
import http.server
import json
import os
import re
import signal
import socket
import stat
import sys
import threading
import time
import urllib.parse
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# --------------------------------------------------------------------------
# ClickHouse's mapping of exception codes to HTTP statuses, as data.
#
# Transcribed from ClickHouse's src/Server/HTTP/exceptionCodeToHTTPStatus.cpp (the version
# that maps ACCESS_DENIED to 403 and UNSUPPORTED_MEDIA_TYPE to 415: PR #111043, merged in
# July/August 2026, i.e. before 26.8/26.9; older versions had the same table, minus those two,
# inside src/Server/HTTPHandler.cpp). The source compares error-code *names*; the numbers are
# those of the engine's own table (errorCodeToName() of chdb 26.9; test_chfront checks each
# name against the engine). Every other code is 500 (HTTP_INTERNAL_SERVER_ERROR).

HTTP_STATUS_BY_NAME: dict[int, tuple[str, int]] = {
    # HTTP_UNAUTHORIZED (sent with WWW-Authenticate)
    194: ("REQUIRED_PASSWORD", 401),
    # HTTP_FORBIDDEN
    192: ("UNKNOWN_USER", 403),
    193: ("WRONG_PASSWORD", 403),
    516: ("AUTHENTICATION_FAILED", 403),
    512: ("SET_NON_GRANTED_ROLE", 403),
    497: ("ACCESS_DENIED", 403),
    # HTTP_BAD_REQUEST
    36: ("BAD_ARGUMENTS", 400),
    427: ("CANNOT_COMPILE_REGEXP", 400),
    6: ("CANNOT_PARSE_TEXT", 400),
    25: ("CANNOT_PARSE_ESCAPE_SEQUENCE", 400),
    26: ("CANNOT_PARSE_QUOTED_STRING", 400),
    38: ("CANNOT_PARSE_DATE", 400),
    41: ("CANNOT_PARSE_DATETIME", 400),
    72: ("CANNOT_PARSE_NUMBER", 400),
    441: ("CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", 400),
    675: ("CANNOT_PARSE_IPV4", 400),
    676: ("CANNOT_PARSE_IPV6", 400),
    27: ("CANNOT_PARSE_INPUT_ASSERTION_FAILED", 400),
    376: ("CANNOT_PARSE_UUID", 400),
    15: ("DUPLICATE_COLUMN", 400),
    44: ("ILLEGAL_COLUMN", 400),
    37: ("UNKNOWN_ELEMENT_IN_AST", 400),
    123: ("UNKNOWN_TYPE_OF_AST_NODE", 400),
    8: ("THERE_IS_NO_COLUMN", 400),
    167: ("TOO_DEEP_AST", 400),
    168: ("TOO_BIG_AST", 400),
    223: ("UNEXPECTED_AST_STRUCTURE", 400),
    62: ("SYNTAX_ERROR", 400),
    117: ("INCORRECT_DATA", 400),
    53: ("TYPE_MISMATCH", 400),
    321: ("VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE", 400),
    # HTTP_NOT_FOUND
    60: ("UNKNOWN_TABLE", 404),
    46: ("UNKNOWN_FUNCTION", 404),
    47: ("UNKNOWN_IDENTIFIER", 404),
    50: ("UNKNOWN_TYPE", 404),
    56: ("UNKNOWN_STORAGE", 404),
    81: ("UNKNOWN_DATABASE", 404),
    115: ("UNKNOWN_SETTING", 404),
    152: ("UNKNOWN_DIRECTION_OF_SORTING", 404),
    63: ("UNKNOWN_AGGREGATE_FUNCTION", 404),
    73: ("UNKNOWN_FORMAT", 404),
    336: ("UNKNOWN_DATABASE_ENGINE", 404),
    78: ("UNKNOWN_TYPE_OF_QUERY", 404),
    511: ("UNKNOWN_ROLE", 404),
    # HTTP_REQUESTENTITYTOOLARGE
    229: ("QUERY_IS_TOO_LARGE", 413),
    # HTTP_NOT_IMPLEMENTED
    48: ("NOT_IMPLEMENTED", 501),
    # HTTP_SERVICE_UNAVAILABLE
    209: ("SOCKET_TIMEOUT", 503),
    76: ("CANNOT_OPEN_FILE", 503),
    439: ("CANNOT_SCHEDULE_TASK", 503),
    # HTTP_LENGTH_REQUIRED
    381: ("HTTP_LENGTH_REQUIRED", 411),
    # HTTP_REQUEST_TIMEOUT
    159: ("TIMEOUT_EXCEEDED", 408),
    # HTTP_UNSUPPORTED_MEDIA_TYPE
    779: ("UNSUPPORTED_MEDIA_TYPE", 415),
}

HTTP_STATUS_BY_CODE: dict[int, int] = {code: status for code, (_, status) in HTTP_STATUS_BY_NAME.items()}


def http_status_for(code: int) -> int:
    """ClickHouse's exceptionCodeToHTTPStatus(): the table above, else 500."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


# Codes this front raises itself (names from the engine's table when it is open).
AUTHENTICATION_FAILED = 516
READONLY = 164
SYNTAX_ERROR = 62
UNKNOWN_SETTING = 115
SESSION_NOT_FOUND = 372
SESSION_IS_LOCKED = 373
INVALID_SESSION_TIMEOUT = 374
HTTP_LENGTH_REQUIRED = 381
QUERY_WAS_CANCELLED = 394
QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING = 216
SUPPORT_IS_DISABLED = 344
BAD_ARGUMENTS = 36
UNKNOWN_COMPRESSION_METHOD = 89
STD_EXCEPTION = 1001
KNOWN_NAMES = {
    AUTHENTICATION_FAILED: "AUTHENTICATION_FAILED", READONLY: "READONLY", SYNTAX_ERROR: "SYNTAX_ERROR",
    UNKNOWN_SETTING: "UNKNOWN_SETTING", SESSION_NOT_FOUND: "SESSION_NOT_FOUND",
    SESSION_IS_LOCKED: "SESSION_IS_LOCKED", INVALID_SESSION_TIMEOUT: "INVALID_SESSION_TIMEOUT",
    HTTP_LENGTH_REQUIRED: "HTTP_LENGTH_REQUIRED", QUERY_WAS_CANCELLED: "QUERY_WAS_CANCELLED",
    QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING: "QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING",
    SUPPORT_IS_DISABLED: "SUPPORT_IS_DISABLED", BAD_ARGUMENTS: "BAD_ARGUMENTS",
    UNKNOWN_COMPRESSION_METHOD: "UNKNOWN_COMPRESSION_METHOD", STD_EXCEPTION: "STD_EXCEPTION",
}

# HTTPHandler::processQuery's reserved_param_names: parameters that are not settings.
RESERVED_PARAMS = {
    "compress", "decompress", "user", "password", "quota_key", "query_id", "stacktrace", "role",
    "buffer_size", "wait_end_of_query", "session_id", "session_timeout", "session_check",
    "client_protocol_version", "close_session", "database", "default_format",
}
QUERY_PARAM = "query"          # DynamicQueryHandler's param_name
PARAM_PREFIX = "param_"        # QUERY_PARAMETER_NAME_PREFIX
DEFAULT_SESSION_TIMEOUT = 60   # config default_session_timeout
MAX_SESSION_TIMEOUT = 3600     # config max_session_timeout
KEEP_ALIVE_TIMEOUT = 10        # keep_alive_timeout (26.x default)

# Statements that produce a result (a "pulling" pipeline): these answer with the output
# format's Content-Type and X-ClickHouse-Format; the others with text/plain.
OUTPUT_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "KILL",
                "BACKUP", "RESTORE", "CHECK", "WATCH", "VALUES"}
# What a readonly (1 or 2) user may run: reads, plus USE and SET (SET is then checked setting
# by setting, like SettingsConstraints does).
READONLY_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "USE", "SET"}


def content_type_for(fmt: str) -> str:
    """IOutputFormat::getContentType() of the formats a client is likely to ask for."""
    f = fmt.lower()
    if f in ("json", "jsonstrings", "jsoncompact", "jsoncompactstrings", "jsoncolumns",
             "jsoncompactcolumns", "jsoncolumnswithmetadata", "jsonobjecteachrow"):
        return "application/json; charset=UTF-8"
    if f in ("jsoneachrow", "jsonlines", "ndjson", "jsonstringseachrow"):
        return "application/x-ndjson; charset=UTF-8"
    if f.startswith("tabseparated") or f.startswith("tsv"):
        return "text/tab-separated-values; charset=UTF-8"
    if f == "csv":
        return "text/csv; charset=UTF-8; header=absent"
    if f.startswith("csvwithnames"):
        return "text/csv; charset=UTF-8; header=present"
    return "text/plain; charset=UTF-8"


# --------------------------------------------------------------------------
# errors


class QueryFailure(Exception):
    """A ClickHouse exception: code and the message *without* "DB::Exception: " and "(NAME)"."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class Messages:
    """Formats exceptions like the server's getCurrentExceptionMessage()."""

    def __init__(self, version_suffix: str = "", names: dict[int, str] | None = None):
        self.version_suffix = version_suffix   # " (version 26.9.2.1)"
        self.names = dict(KNOWN_NAMES)
        self.names.update({c: n for c, (n, _) in HTTP_STATUS_BY_NAME.items()})
        if names:
            self.names.update(names)

    def name(self, code: int) -> str:
        return self.names.get(code, "UNKNOWN_EXCEPTION")

    def format(self, code: int, message: str) -> str:
        # getExceptionMessage(): "Code: N. " + displayText() + ("." unless it ends with one)
        # + " (NAME)"; getCurrentExceptionMessage(with_version) + " (version V)".
        text = "DB::Exception: " + message
        if not text.endswith("."):
            text += "."
        return f"Code: {code}. {text} ({self.name(code)}){self.version_suffix}"

    _CODE = re.compile(r"\s*Code: (\d+)\. ")

    def parse_engine(self, text: str, keep_stacktrace: bool = False) -> QueryFailure:
        """The engine's exception text -> (code, message).

        chdb's text is the server's getExceptionMessage() output, sometimes wrapped in copies of
        itself ("Code: 73. DB::Exception: Code: 73. DB::Exception: ... (UNKNOWN_FORMAT) (version
        26.9.2.1). (UNKNOWN_FORMAT) ...") and sometimes followed by a stack trace: the innermost
        message is kept, up to its " (NAME)"."""
        m = self._CODE.match(text)
        if not m:
            first = text.strip().splitlines()[0] if text.strip() else "unknown error"
            return QueryFailure(STD_EXCEPTION, first)
        code = int(m.group(1))
        rest = text[m.end():]
        while rest.startswith("DB::Exception: "):
            inner = rest[len("DB::Exception: "):]
            m2 = self._CODE.match(inner)
            if not m2:
                rest = inner
                break
            rest = inner[m2.end():]
        if rest.startswith("DB::Exception: "):
            rest = rest[len("DB::Exception: "):]
        marker = f" ({self.name(code)})"
        cut = rest.find(marker)
        stack = ""
        if cut >= 0:
            message = rest[:cut]
            tail = rest[cut + len(marker):]
            if keep_stacktrace and tail.startswith(", Stack trace"):
                stack = tail
        else:
            message = rest.split(", Stack trace", 1)[0].rstrip()
        failure = QueryFailure(code, message)
        failure.stack = stack  # type: ignore[attr-defined]
        return failure


# --------------------------------------------------------------------------
# users


@dataclass
class User:
    name: str
    password_sha256_hex: str
    readonly: int = 0


def load_users(path: str | Path) -> dict[str, User]:
    """USERS_JSON, mode 0600 (the front refuses a file group or others may read):

        {"users": {"ops":    {"password_sha256_hex": "<64 hex digits>", "readonly": 0},
                   "reader": {"password_sha256_hex": "<64 hex digits>", "readonly": 1}}}

    ``readonly`` is ClickHouse's setting: 0 (default) anything, 1 reads only and no setting
    changes, 2 reads only but settings may change; ``true``/``false`` mean 1/0. Only the users
    listed exist (no implicit ``default``). Raises ValueError with the reason."""
    p = Path(path)
    st = os.stat(p)
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f"{p} has mode {stat.S_IMODE(st.st_mode):04o}: group or others may read it "
                         "(it holds password hashes); chmod 600 it")
    try:
        data = json.loads(p.read_text())
    except ValueError as e:
        raise ValueError(f"{p} is not JSON: {e}") from e
    if not isinstance(data, dict) or not isinstance(data.get("users"), dict) or set(data) - {"users"}:
        raise ValueError(f'{p}: expected {{"users": {{"<name>": {{...}}}}}}')
    users = {}
    for name, spec in data["users"].items():
        if not isinstance(spec, dict) or set(spec) - {"password_sha256_hex", "readonly"}:
            raise ValueError(f"{p}: user {name!r}: allowed keys are password_sha256_hex, readonly")
        digest = spec.get("password_sha256_hex")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
            raise ValueError(f"{p}: user {name!r}: password_sha256_hex must be 64 hex digits")
        ro = spec.get("readonly", 0)
        if isinstance(ro, bool):
            ro = int(ro)
        if ro not in (0, 1, 2):
            raise ValueError(f"{p}: user {name!r}: readonly must be 0, 1, 2, true or false")
        if not name:
            raise ValueError(f"{p}: empty user name")
        users[name] = User(name, digest.lower(), ro)
    return users


# --------------------------------------------------------------------------
# a small SQL lexer: enough to find the statement kind, its FORMAT clause, a second statement,
# and to read SET / USE / KILL QUERY. The engine parses everything for real.


@dataclass
class Token:
    kind: str      # word, number, string (''), ident ("" or ``), punct
    text: str
    start: int
    end: int


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"0[xX][0-9A-Fa-f]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _scan_quoted(sql: str, i: int, quote: str) -> int:
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def lex(sql: str, stop_at_insert_data: bool = True) -> list[Token]:
    """Tokens of the first part of ``sql``; for INSERT, stops where the data begins (after
    ``FORMAT <name>`` or at ``VALUES``)."""
    out: list[Token] = []
    i, n = 0, len(sql)
    insert = False
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
            continue
        if sql.startswith("--", i) or (c == "#" and sql[i + 1:i + 2] in (" ", "!")):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
            continue
        if sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        if c in "'\"`":
            j = _scan_quoted(sql, i, c)
            out.append(Token("string" if c == "'" else "ident", sql[i:j], i, j))
            i = j
        elif c.isdigit() or (c == "." and i + 1 < n and sql[i + 1].isdigit()):
            m = _NUMBER.match(sql, i)
            j = m.end() if m and m.end() > i else i + 1
            out.append(Token("number", sql[i:j], i, j))
            i = j
        elif c.isalpha() or c == "_":
            m = _WORD.match(sql, i)
            out.append(Token("word", m.group(0), i, m.end()))
            i = m.end()
        else:
            out.append(Token("punct", c, i, i + 1))
            i += 1
        if not stop_at_insert_data:
            continue
        if len(out) == 1 and out[0].kind == "word" and out[0].text.upper() == "INSERT":
            insert = True
        if insert:
            last = out[-1]
            if last.kind == "word" and last.text.upper() == "VALUES":
                break
            if (len(out) >= 2 and out[-2].kind == "word" and out[-2].text.upper() == "FORMAT"
                    and last.kind in ("word", "ident")):
                break
    return out


def unquote(tok: Token) -> str:
    if tok.kind in ("ident", "string") and len(tok.text) >= 2:
        body = tok.text[1:-1]
        q = tok.text[0]
        body = body.replace(q + q, q)
        return re.sub(r"\\(.)", r"\1", body)
    return tok.text


def quote_ident(name: str) -> str:
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class Statement:
    kind: str = ""                      # first keyword, upper case; "" for an empty query
    output_format: str | None = None    # FORMAT clause of a statement with output
    multi: bool = False                 # something after a top-level ';'
    set_items: list[tuple[str, str]] = field(default_factory=list)   # SET name = <sql value>
    use_db: str | None = None
    kill: tuple[str, str, str | None] | None = None   # (query_id, SYNC|ASYNC|TEST, FORMAT)


def analyze(sql: str) -> Statement:
    toks = lex(sql)
    st = Statement()
    words = [t for t in toks if not (t.kind == "punct" and t.text == "(")]
    if not toks:
        return st
    first = words[0] if words else toks[0]
    st.kind = first.text.upper() if first.kind == "word" else first.text
    depth = 0
    semicolon = None
    for idx, t in enumerate(toks):
        if t.kind == "punct":
            if t.text in "([{":
                depth += 1
            elif t.text in ")]}":
                depth = max(0, depth - 1)
            elif t.text == ";" and depth == 0 and semicolon is None:
                semicolon = idx
        elif (t.kind == "word" and t.text.upper() == "FORMAT" and depth == 0 and semicolon is None
              and st.kind != "INSERT" and _is_format_clause(toks, idx)):
            st.output_format = unquote(toks[idx + 1])
    if semicolon is not None and semicolon + 1 < len(toks):
        st.multi = True
    body = toks[:semicolon] if semicolon is not None else toks
    if st.kind == "SET":
        st.set_items = _parse_set(sql, body)
    elif st.kind == "USE" and len(body) >= 2 and body[1].kind in ("word", "ident"):
        st.use_db = unquote(body[1])
    elif st.kind == "KILL":
        st.kill = _parse_kill(body)
    return st


def _is_format_clause(toks: list[Token], idx: int) -> bool:
    """``FORMAT <name>`` closes a statement: only SETTINGS ..., ';' or the end may follow it
    (so ``SELECT format FROM t`` is not a FORMAT clause)."""
    if idx + 1 >= len(toks) or toks[idx + 1].kind not in ("word", "ident"):
        return False
    if idx + 2 == len(toks):
        return True
    after = toks[idx + 2]
    return (after.kind == "punct" and after.text == ";") or (after.kind == "word" and after.text.upper() == "SETTINGS")


def _parse_set(sql: str, toks: list[Token]) -> list[tuple[str, str]]:
    """``SET a = 1, b = 'x', flag`` -> [(a, "1"), (b, "'x'"), (flag, "1")]; [] for SET ROLE etc."""
    items: list[tuple[str, str]] = []
    rest = toks[1:]
    if rest and rest[0].kind == "word" and rest[0].text.upper() in ("ROLE", "DEFAULT", "TRANSACTION"):
        return []
    i = 0
    while i < len(rest):
        name_tok = rest[i]
        if name_tok.kind not in ("word", "ident"):
            return []
        name = unquote(name_tok)
        i += 1
        if i < len(rest) and rest[i].kind == "punct" and rest[i].text == "=":
            i += 1
            start = i
            depth = 0
            while i < len(rest):
                t = rest[i]
                if t.kind == "punct" and t.text in "([{":
                    depth += 1
                elif t.kind == "punct" and t.text in ")]}":
                    depth -= 1
                elif t.kind == "punct" and t.text == "," and depth == 0:
                    break
                i += 1
            if start == i:
                return []
            value = sql[rest[start].start:rest[i - 1].end]
        else:
            value = "1"
        items.append((name, value))
        if i < len(rest) and rest[i].kind == "punct" and rest[i].text == ",":
            i += 1
        elif i < len(rest):
            return []
    return items


def _parse_kill(toks: list[Token]) -> tuple[str, str, str | None] | None:
    """``KILL QUERY WHERE query_id = '<id>' [SYNC|ASYNC|TEST] [FORMAT F]``, else None."""
    up = [t.text.upper() if t.kind == "word" else t.text for t in toks]
    if up[:4] != ["KILL", "QUERY", "WHERE", "QUERY_ID"] or len(toks) < 6:
        return None
    if up[4] != "=" or toks[5].kind != "string":
        return None
    qid = unquote(toks[5])
    mode, fmt = "ASYNC", None
    i = 6
    if i < len(up) and up[i] in ("SYNC", "ASYNC", "TEST"):
        mode = up[i]
        i += 1
    if i + 1 < len(up) and up[i] == "FORMAT" and toks[i + 1].kind in ("word", "ident"):
        fmt = unquote(toks[i + 1])
        i += 2
    if i != len(toks):
        return None
    return qid, mode, fmt


def _same_setting_value(a: str, b: str) -> bool:
    norm = {"true": "1", "false": "0"}
    return norm.get(a.strip().lower(), a.strip()) == norm.get(b.strip().lower(), b.strip())


def sql_value_text(value_sql: str) -> str:
    """A SET value as the string system.settings would show (for "same value" checks)."""
    v = value_sql.strip()
    if len(v) >= 2 and v[0] == v[-1] == "'":
        return unquote(Token("string", v, 0, len(v)))
    return v


# --------------------------------------------------------------------------
# the engine


class Engine:
    """The chdb session (main connection, used under Front.engine_lock) and a second
    connection to the same engine for KILL QUERY and helper queries (under control_lock)."""

    def __init__(self, path: str, config: str):
        # `import chdb` pulls in pyarrow (and with it numpy, ~40 MB RSS) only if it can: the
        # Arrow output formats are optional in chdb. None of it is needed here.
        for heavy in ("pyarrow", "numpy", "pandas"):
            sys.modules.setdefault(heavy, None)  # type: ignore[arg-type]
        import chdb  # noqa: F401  (the venv's chdb-core)
        from chdb import session as chdb_session

        self.conn_str = f"{path}?config-file={config}"
        self.session = chdb_session.Session(self.conn_str)
        self.control = chdb_session.Session(self.conn_str)
        self.control_lock = threading.Lock()
        self.progress: dict = {}
        self.session._conn.set_progress_callback(self._on_progress)

    def _on_progress(self, progress):
        if isinstance(progress, dict):
            self.progress = progress

    def query(self, sql: str, fmt: str, params: dict | None = None):
        self.progress = {}
        return self.session.query(sql, fmt, params=params or None)

    def execute(self, sql: str) -> None:
        self.session.query(sql, "TabSeparated")

    def control_query(self, sql: str, fmt: str = "TabSeparated", params: dict | None = None) -> bytes:
        with self.control_lock:
            return self.control.query(sql, fmt, params=params or None).bytes()

    def close(self) -> None:
        for s in (self.control, self.session):
            try:
                s.close()
            except Exception:
                pass


# --------------------------------------------------------------------------
# the front


class Log:
    def __init__(self, path: str | None):
        self.lock = threading.Lock()
        self.file = open(path, "a", buffering=1) if path else None
        self.stdout_is_log = False
        if path:
            try:
                a, b = os.fstat(1), os.stat(path)
                self.stdout_is_log = (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)
            except OSError:
                pass

    def write(self, level: str, msg: str, stdout: bool = False) -> None:
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        line = f"{now} <{level}> {msg}"
        with self.lock:
            if self.file:
                self.file.write(line + "\n")
            if stdout and not self.stdout_is_log:
                print(msg, flush=True)


@dataclass
class Request:
    query_id: str
    user: User
    sql: str
    method: str
    database: str | None
    default_format: str | None
    settings: list[tuple[str, str]]
    query_params: dict[str, str]
    session_key: tuple[str, str] | None
    stacktrace: bool = False
    session_timeout: int = DEFAULT_SESSION_TIMEOUT
    session_check: bool = False
    close_session: bool = False
    phase: str = "queued"          # queued -> pre -> running -> post
    cancelled: bool = False
    done: threading.Event = field(default_factory=threading.Event)


@dataclass
class Result:
    body: bytes
    fmt: str | None          # output format, None for statements without output
    summary: dict


@dataclass
class NamedSession:
    settings: dict[str, str] = field(default_factory=dict)   # name -> SQL value text
    database: str | None = None
    readonly: int | None = None
    timeout: int = DEFAULT_SESSION_TIMEOUT
    last_used: float = field(default_factory=time.monotonic)
    busy: bool = False


class Front:
    def __init__(self, engine: Engine, users: dict[str, User], log: Log):
        self.engine = engine
        self.users = users
        self.log = log
        self.engine_lock = threading.Lock()   # one query at a time on the main connection
        self.state_lock = threading.Lock()    # requests, sessions, phases
        self.requests: dict[str, Request] = {}
        self.sessions: dict[tuple[str, str], NamedSession] = {}
        self.current_db: str | None = None
        self._init_engine()

    # --- start-up facts from the engine

    def _init_engine(self) -> None:
        e = self.engine
        # chdb's local-mode defaults that differ from a server's and change SQL semantics.
        e.execute("SET implicit_select = 0, allow_introspection_functions = 0")
        row = e.control_query("SELECT version(), timezone(), displayName()").decode().rstrip("\n").split("\t")
        self.version, self.timezone, self.display_name = row[0], row[1], row[2]
        official = e.control_query(
            "SELECT value FROM system.build_options WHERE name = 'VERSION_OFFICIAL'").decode().strip()
        names = {}
        for line in e.control_query("SELECT number, errorCodeToName(number) FROM numbers(2000) "
                                    "WHERE errorCodeToName(number) != ''").decode().splitlines():
            code, name = line.split("\t")
            names[int(code)] = name
        self.messages = Messages(f" (version {self.version}{official})", names)
        self.baseline: dict[str, str] = {}
        out = e.session.query("SELECT name, value FROM system.settings", "JSONCompact").bytes()
        for name, value in json.loads(out)["data"]:
            self.baseline[name] = value
        e.execute("USE default")
        self.current_db = "default"

    # --- authentication (authenticateUserByHTTP)

    def authenticate(self, headers, params: dict[str, str]) -> User:
        user = headers.get("X-ClickHouse-User", "") or ""
        password = headers.get("X-ClickHouse-Key", "") or ""
        has_auth_headers = bool(user) or bool(password)
        has_ssl_auth = headers.get("X-ClickHouse-SSL-Certificate-Auth", "") == "on"
        authorization = headers.get("Authorization")
        has_http_credentials = authorization is not None
        has_param_credentials = "user" in params or "password" in params

        def mixed(a: str, b: str):
            raise QueryFailure(AUTHENTICATION_FAILED,
                               f"Invalid authentication: it is not allowed to use {a} and {b} simultaneously")

        def not_empty(name: str, method: str):
            if not name:
                raise QueryFailure(AUTHENTICATION_FAILED, f"Got an empty user name from {method}")

        if has_ssl_auth:
            not_empty(user, "X-ClickHouse HTTP headers")
            if password:
                mixed("SSL certificate authentication", "authentication via password")
            if has_http_credentials:
                mixed("SSL certificate authentication", "Authorization HTTP header")
            if has_param_credentials:
                mixed("SSL certificate authentication", "authentication via parameters")
            raise QueryFailure(AUTHENTICATION_FAILED,
                               "Invalid authentication: SSL certificate authentication requires nonempty "
                               "certificate's Common Name or Subject Alternative Name")
        if has_auth_headers:
            not_empty(user, "X-ClickHouse HTTP headers")
            if has_http_credentials:
                mixed("X-ClickHouse HTTP headers", "Authorization HTTP header")
            if has_param_credentials:
                mixed("X-ClickHouse HTTP headers", "authentication via parameters")
        elif has_http_credentials:
            if has_param_credentials:
                mixed("Authorization HTTP header", "authentication via parameters")
            scheme, _, info = authorization.strip().partition(" ")
            if scheme.lower() == "basic":
                try:
                    decoded = base64.b64decode(info.strip(), validate=False).decode("utf-8", "replace")
                except (ValueError, TypeError):
                    decoded = ""
                user, _, password = decoded.partition(":")
                not_empty(user, "Authorization HTTP header")
            elif scheme.lower() == "negotiate":
                raise QueryFailure(AUTHENTICATION_FAILED, "Invalid authentication: SPNEGO challenge is empty"
                                   if not info.strip() else
                                   "Invalid authentication: 'Negotiate' HTTP Authorization failure")
            else:
                raise QueryFailure(AUTHENTICATION_FAILED,
                                   f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported")
        else:
            user = params.get("user", "default")
            password = params.get("password", "")
            not_empty(user, "authentication via parameters")

        known = self.users.get(user)
        digest = hashlib.sha256(password.encode("utf-8", "surrogateescape")).hexdigest()
        if known is not None and hmac.compare_digest(digest, known.password_sha256_hex):
            return known
        # AccessControl::authenticate(): one message for every failure.
        message = f"{user}: Authentication failed: password is incorrect, or there is no user with such name."
        if not user or user == "default":
            message += ("\n\nIf you have installed ClickHouse and forgot password you can reset it in the "
                        "configuration file.\nThe password for default user is typically located at "
                        "/etc/clickhouse-server/users.d/default-password.xml\nand deleting this file will "
                        "reset the password.\nSee also /etc/clickhouse-server/users.xml on the server where "
                        "ClickHouse is installed.\n\n")
        failure = QueryFailure(AUTHENTICATION_FAILED, message)
        failure.user = user  # type: ignore[attr-defined]   # for the log: who tried (never the password)
        raise failure

    # --- one query

    def current_value(self, name: str, sess: NamedSession | None) -> str | None:
        if sess and name in sess.settings:
            return sql_value_text(sess.settings[name])
        return self.baseline.get(name)

    def check_setting(self, name: str, value: str, readonly: int, sess: NamedSession | None) -> None:
        """SettingsConstraints::check for readonly: an unchanged value passes silently."""
        current = str(readonly) if name == "readonly" else self.current_value(name, sess)
        if current is None:
            raise QueryFailure(UNKNOWN_SETTING, f"Unknown setting '{name}'")
        if _same_setting_value(value, current):
            return
        if readonly == 1 or (readonly == 2 and name == "readonly"):
            raise QueryFailure(READONLY, f"Cannot modify '{name}' setting in readonly mode")

    def run(self, r: Request) -> Result:
        st = analyze(r.sql)
        if not st.kind:
            raise QueryFailure(SYNTAX_ERROR, "Empty query")
        if st.multi:
            self._refuse_multi_statement(r.sql)
        sess = self._acquire_session(r)
        try:
            return self._run(r, st, sess)
        finally:
            self._release_session(r, sess)

    def _run(self, r: Request, st: Statement, sess: NamedSession | None) -> Result:
        # setReadOnlyIfHTTPMethodIdempotent(): anything but POST is readonly = 2 at least.
        readonly = sess.readonly if sess and sess.readonly is not None else r.user.readonly
        if r.method != "POST" and readonly == 0:
            readonly = 2
        settings: dict[str, str] = {}
        for name, value in r.settings:
            self.check_setting(name, value, readonly, sess)
            if name == "readonly":
                readonly = int(value) if value.isdigit() else readonly
                continue
            settings[name] = value
        set_items = st.set_items
        if st.kind == "SET":
            for name, value in set_items:
                self.check_setting(name, sql_value_text(value), readonly, sess)
        if readonly and st.kind not in READONLY_KINDS:
            msg = f"{r.user.name}: Cannot execute query in readonly mode"
            if r.method == "GET":
                msg += (". For queries over HTTP, method GET implies readonly. "
                        "You should use method POST for modifying queries")
            raise QueryFailure(READONLY, msg)
        # The engine applies the query's FORMAT clause itself; it only needs the default. The
        # clause found here names the format in the headers.
        engine_fmt = r.default_format or "TabSeparated"
        out_fmt = st.output_format or engine_fmt
        if st.kind == "KILL" and st.kill is not None:
            return self._kill(r, *st.kill[:2], st.kill[2] or r.default_format or "TabSeparated")

        with self.state_lock:
            if r.query_id in self.requests:
                raise QueryFailure(QUERY_WITH_SAME_ID_IS_ALREADY_RUNNING,
                                   f"Query with id = {r.query_id} is already running.")
            self.requests[r.query_id] = r
        try:
            with self.engine_lock:
                return self._run_locked(r, st, sess, settings, engine_fmt, out_fmt)
        finally:
            with self.state_lock:
                self.requests.pop(r.query_id, None)
                r.done.set()

    def _run_locked(self, r: Request, st: Statement, sess: NamedSession | None,
                    settings: dict[str, str], engine_fmt: str, out_fmt: str) -> Result:
        e = self.engine
        with self.state_lock:
            if r.cancelled:
                raise QueryFailure(QUERY_WAS_CANCELLED, "Query was cancelled")
            r.phase = "pre"
        changed: set[str] = set()
        sql = r.sql
        try:
            db = r.database or (sess.database if sess else None) or "default"
            if self.current_db != db:
                self.current_db = None
                e.execute(f"USE {quote_ident(db)}")
                self.current_db = db
            assignments: dict[str, str] = {}
            if sess:
                assignments.update(sess.settings)
            assignments.update({k: quote_string(v) for k, v in settings.items()})
            if assignments:
                changed.update(assignments)
                e.execute("SET " + ", ".join(f"{quote_ident(k)} = {v}" for k, v in assignments.items()))
            if st.kind == "SET":
                kept = [(k, v) for k, v in st.set_items if k != "readonly"]
                changed.update(k for k, _ in kept)
                sql = ("SET " + ", ".join(f"{quote_ident(k)} = {v}" for k, v in kept)) if kept else ""
            with self.state_lock:
                if r.cancelled:
                    raise QueryFailure(QUERY_WAS_CANCELLED, "Query was cancelled")
                r.phase = "running"
            t0 = time.monotonic()
            if sql:
                res = e.query(sql, engine_fmt, r.query_params)
                body = res.bytes()
                progress = e.progress or {}
                summary = {
                    "read_rows": res.rows_read(), "read_bytes": res.bytes_read(),
                    "written_rows": res.rows_written(), "written_bytes": res.bytes_written(),
                    "total_rows_to_read": progress.get("total_rows_to_read", 0),
                    "result_rows": progress.get("result_rows", 0),
                    "result_bytes": progress.get("result_bytes", 0),
                    "elapsed_ns": int(res.elapsed() * 1e9) or int((time.monotonic() - t0) * 1e9),
                }
            else:
                body, summary = b"", empty_summary()
        except QueryFailure:
            raise
        except Exception as exc:   # chdb raises RuntimeError (ChdbError) with the server's text
            raise self.messages.parse_engine(str(exc), keep_stacktrace=r.stacktrace) from None
        finally:
            with self.state_lock:
                r.phase = "post"
            if st.kind == "USE":
                self.current_db = None
            if changed:
                self._reset_settings(changed)
        if sess is not None:
            if st.kind == "SET":
                for k, v in st.set_items:
                    if k == "readonly":
                        sess.readonly = int(sql_value_text(v)) if sql_value_text(v).isdigit() else sess.readonly
                    else:
                        sess.settings[k] = v
            elif st.kind == "USE" and st.use_db:
                sess.database = st.use_db
        return Result(body, out_fmt if st.kind in OUTPUT_KINDS else None, summary)

    def _reset_settings(self, names: set[str]) -> None:
        items = [(n, self.baseline[n]) for n in sorted(names) if n in self.baseline]
        if not items:
            return
        try:
            self.engine.execute("SET " + ", ".join(f"{quote_ident(n)} = {quote_string(v)}" for n, v in items))
            return
        except Exception:
            pass
        for n, v in items:   # one at a time, DEFAULT when the value does not read back
            for sql in (f"SET {quote_ident(n)} = {quote_string(v)}", f"SET {quote_ident(n)} = DEFAULT"):
                try:
                    self.engine.execute(sql)
                    break
                except Exception as exc:
                    self.log.write("Error", f"cannot reset setting {n}: {str(exc).splitlines()[0]}")

    def _refuse_multi_statement(self, sql: str) -> None:
        """The server parses with allow_multi_statements = false; chdb would run them all.
        formatQuery() uses the same parser and gives the server's exact message."""
        try:
            self.engine.control_query("SELECT formatQuery({q:String}) FORMAT Null", params={"q": sql})
        except Exception as exc:
            f = self.messages.parse_engine(str(exc))
            if f.code == SYNTAX_ERROR:
                cut = f.message.rfind(": In scope SELECT formatQuery(")
                raise QueryFailure(SYNTAX_ERROR, f.message[:cut] if cut >= 0 else f.message) from None

    # --- sessions (session_id)

    def _acquire_session(self, r: Request) -> NamedSession | None:
        if r.session_key is None:
            return None
        with self.state_lock:
            now = time.monotonic()
            for key, s in list(self.sessions.items()):
                if not s.busy and now - s.last_used > s.timeout:
                    del self.sessions[key]
            s = self.sessions.get(r.session_key)
            if s is None:
                if r.session_check:
                    raise QueryFailure(SESSION_NOT_FOUND, f"Session {r.session_key[1]} not found")
                s = NamedSession(timeout=r.session_timeout)
                self.sessions[r.session_key] = s
            if s.busy:
                raise QueryFailure(SESSION_IS_LOCKED,
                                   f"Session {r.session_key[1]} is locked by a concurrent client")
            s.busy = True
            s.timeout = r.session_timeout
            return s

    def _release_session(self, r: Request, s: NamedSession | None) -> None:
        if s is None:
            return
        with self.state_lock:
            s.busy = False
            s.last_used = time.monotonic()
            if r.close_session:
                self.sessions.pop(r.session_key, None)

    # --- KILL QUERY WHERE query_id = '...'

    def _kill(self, r: Request, target: str, mode: str, fmt: str) -> Result:
        e = self.engine
        rows: list[tuple[str, str, str, str]] = []
        wait_for: Request | None = None
        with self.state_lock:
            victim = self.requests.get(target)
            if victim is not None and victim.phase in ("queued", "pre"):
                if mode == "TEST":
                    rows.append(("unknown_status", victim.query_id, victim.user.name, victim.sql))
                else:
                    victim.cancelled = True
                    if mode == "SYNC":
                        wait_for = victim
                    else:
                        rows.append(("waiting", victim.query_id, victim.user.name, victim.sql))
            elif victim is not None and victim.phase == "running":
                # Hold state_lock: the victim cannot leave "running" (its thread waits for this
                # lock when the engine returns), so the engine query found is the victim's.
                engine_id = None
                deadline = time.monotonic() + 2.0
                while engine_id is None and time.monotonic() < deadline:
                    out = e.control_query(
                        "SELECT query_id FROM system.processes WHERE query_id != queryID() "
                        "AND is_initial_query ORDER BY elapsed DESC LIMIT 1").decode().strip()
                    engine_id = out or None
                    if engine_id is None:
                        time.sleep(0.02)
                if engine_id is not None:
                    out = e.control_query(
                        f"KILL QUERY WHERE query_id = {quote_string(engine_id)} {mode} FORMAT JSONEachRow")
                    for line in out.decode().splitlines():
                        status = json.loads(line).get("kill_status", "unknown_status")
                        rows.append((status, victim.query_id, victim.user.name, victim.sql))
        if wait_for is not None:
            wait_for.done.wait(60)
            rows.append(("finished", wait_for.query_id, wait_for.user.name, wait_for.sql))
        try:
            if rows:
                selects = " UNION ALL ".join(
                    f"SELECT {{s{i}:String}} AS kill_status, {{q{i}:String}} AS query_id, "
                    f"{{u{i}:String}} AS user, {{t{i}:String}} AS query" for i in range(len(rows)))
                params = {}
                for i, (s, q, u, t) in enumerate(rows):
                    params.update({f"s{i}": s, f"q{i}": q, f"u{i}": u, f"t{i}": t})
                body = e.control_query(f"{selects} FORMAT {quote_ident(fmt)}", "TabSeparated", params)
            else:
                # Nothing of ours matched: the engine's own answer for "no such query".
                body = e.control_query(f"KILL QUERY WHERE query_id = {quote_string(target)} {mode} "
                                       f"FORMAT {quote_ident(fmt)}")
        except Exception as exc:
            raise self.messages.parse_engine(str(exc)) from None
        return Result(body, fmt, empty_summary())

    def kill_everything(self) -> None:
        """At shutdown: cancel whatever runs on the main connection."""
        try:
            self.engine.control_query("KILL QUERY WHERE query_id != queryID() ASYNC")
        except Exception:
            pass


def empty_summary() -> dict:
    return {k: 0 for k in ("read_rows", "read_bytes", "written_rows", "written_bytes",
                           "total_rows_to_read", "result_rows", "result_bytes", "elapsed_ns")}


def summary_header(summary: dict) -> str:
    # ProgressValues::writeJSON(): every number as a string, in this order.
    keys = ("read_rows", "read_bytes", "written_rows", "written_bytes", "total_rows_to_read",
            "result_rows", "result_bytes", "elapsed_ns")
    return "{" + ",".join(f'"{k}":"{int(summary.get(k, 0))}"' for k in keys) + "}"


NOT_FOUND_TEXT = (
    "There is no handle {path}\n\n"
    "Use / or /ping for health checks.\n"
    "Or /replicas_status for more sophisticated health checks.\n\n"
    "Send queries from your program with POST method or GET /?query=...\n\n"
    "Use clickhouse-client:\n\n"
    "For interactive data analysis:\n"
    "    clickhouse-client\n\n"
    "For batch query processing:\n"
    "    clickhouse-client --query='SELECT 1' > result\n"
    "    clickhouse-client < query > result\n"
)


class BodyError(Exception):
    """The request body could not be read (client gone, bad chunking): drop the connection."""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ClickHouse"
    front: Front  # set on the class by serve()

    def setup(self):
        super().setup()
        self.connection.settimeout(KEEP_ALIVE_TIMEOUT * 3)

    def handle(self):
        try:
            super().handle()
        except (ConnectionError, TimeoutError, socket.timeout, OSError):
            pass

    def log_message(self, format, *args):   # noqa: A002  (we log queries ourselves)
        pass

    def send_response(self, code, message=None):
        # No "Server:" header (ClickHouse sends none); keep the Date.
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    # ---

    def dispatch(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        pairs = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        path = url.path or "/"
        try:
            if method in ("GET", "HEAD") and path in ("/ping", "/replicas_status"):
                self.read_body(method)
                return self.reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            if method in ("GET", "HEAD") and path == "/" and not pairs:
                self.read_body(method)
                return self.reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            if method == "POST" or pairs:
                return self.query(method, pairs)
            self.read_body(method)
            self.reply(404, NOT_FOUND_TEXT.format(path=path).encode(), {"Content-Type": "text/plain; charset=UTF-8"})
        except BodyError:
            self.close_connection = True
        except (ConnectionError, TimeoutError, socket.timeout):
            self.close_connection = True

    def read_body(self, method: str) -> bytes:
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise BodyError("client went away in a chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while True:   # trailers
                        t = self.rfile.readline(65537)
                        if not t or t in (b"\r\n", b"\n"):
                            break
                    break
                data = self.rfile.read(size)
                if len(data) < size:
                    raise BodyError("client went away in a chunked body")
                chunks.append(data)
                self.rfile.readline(3)
            return b"".join(chunks)
        length = self.headers.get("Content-Length")
        if length is None:
            if method == "POST":
                return None  # type: ignore[return-value]   # HTTP_LENGTH_REQUIRED, decided by the caller
            return b""
        try:
            n = int(length)
        except ValueError:
            raise BodyError("bad Content-Length") from None
        data = self.rfile.read(n) if n > 0 else b""
        if len(data) < n:
            raise BodyError("client went away in the body")
        return data

    def query(self, method: str, pairs: list[tuple[str, str]]) -> None:
        front = self.front
        params: dict[str, str] = {}
        for k, v in pairs:
            params.setdefault(k, v)   # Poco's NameValueCollection::get(): the first one
        query_id = params.get("query_id") or self.headers.get("X-ClickHouse-Query-Id") or str(uuid.uuid4())
        t0 = time.monotonic()
        user_name = "-"
        try:
            body = self.read_body(method)
            if body is None:
                raise QueryFailure(HTTP_LENGTH_REQUIRED, "The Transfer-Encoding is not chunked and there "
                                   "is no Content-Length header for POST request")
            body = self.decompress(body)
            user = front.authenticate(self.headers, params)
            user_name = user.name
            r = self.build_request(method, params, pairs, body, user, query_id)
            result = front.run(r)
        except QueryFailure as f:
            user_name = getattr(f, "user", user_name) or user_name
            message = front.messages.format(f.code, f.message) + getattr(f, "stack", "")
            status = http_status_for(f.code)
            front.log.write("Error", f"query_id={query_id} user={user_name} code={f.code} http={status} "
                            f"elapsed={time.monotonic() - t0:.3f}s: {message.splitlines()[0]}")
            headers = {"Content-Type": "text/plain; charset=UTF-8",
                       "X-ClickHouse-Query-Id": query_id,
                       "X-ClickHouse-Timezone": front.timezone,
                       "X-ClickHouse-Exception-Code": str(f.code),
                       "X-ClickHouse-Summary": summary_header(empty_summary())}
            if f.code == 194:
                headers["WWW-Authenticate"] = 'Basic realm="ClickHouse server HTTP API"'
            return self.reply(status, (message + "\n").encode(), headers)
        front.log.write("Information", f"query_id={query_id} user={user_name} http=200 "
                        f"elapsed={time.monotonic() - t0:.3f}s rows_read={result.summary.get('read_rows', 0)}")
        headers = {"Content-Type": content_type_for(result.fmt) if result.fmt else "text/plain; charset=UTF-8",
                   "X-ClickHouse-Query-Id": query_id,
                   "X-ClickHouse-Timezone": front.timezone,
                   "X-ClickHouse-Summary": summary_header(result.summary)}
        if result.fmt:
            headers["X-ClickHouse-Format"] = result.fmt
        payload = result.body
        encoding = self.response_encoding(params)
        if encoding == "gzip":
            level = int(params.get("http_zlib_compression_level", "3") or 3)
            payload = gzip.compress(payload, compresslevel=max(1, min(9, level)))
            headers["Content-Encoding"] = "gzip"
        elif encoding == "deflate":
            payload = zlib.compress(payload)
            headers["Content-Encoding"] = "deflate"
        self.reply(200, payload, headers)

    def build_request(self, method, params, pairs, body, user, query_id) -> Request:
        query_param = params.get(QUERY_PARAM, "")
        sql = (query_param + "\n" if query_param else "") + body.decode("utf-8", "replace")
        settings: dict[str, str] = {}
        query_params: dict[str, str] = {}
        for k, v in pairs:   # every pair in order, as HTTPHandler::processQuery: the last one wins
            if not k or k in RESERVED_PARAMS or k == QUERY_PARAM:
                continue
            if k.startswith(PARAM_PREFIX):
                query_params.setdefault(k[len(PARAM_PREFIX):], v)   # the first, as customizeQueryParam
            else:
                settings.pop(k, None)
                settings[k] = v
        r = Request(
            query_id=query_id, user=user, sql=sql, method=method,
            database=self.headers.get("X-ClickHouse-Database") or params.get("database") or None,
            default_format=self.headers.get("X-ClickHouse-Format") or params.get("default_format") or None,
            settings=list(settings.items()), query_params=query_params, session_key=None,
            stacktrace=params.get("stacktrace", "0") in ("1", "true"))
        if params.get("session_id"):
            timeout_text = params.get("session_timeout")
            timeout = DEFAULT_SESSION_TIMEOUT
            if timeout_text is not None:
                if not timeout_text.isdigit():
                    raise QueryFailure(INVALID_SESSION_TIMEOUT, f"Invalid session timeout: '{timeout_text}'")
                timeout = int(timeout_text)
                if timeout > MAX_SESSION_TIMEOUT:
                    raise QueryFailure(INVALID_SESSION_TIMEOUT,
                                       f"Session timeout '{timeout_text}' is larger than max_session_timeout: "
                                       f"{MAX_SESSION_TIMEOUT}. Maximum session timeout could be modified in "
                                       "configuration file.")
            r.session_key = (user.name, params["session_id"])
            r.session_timeout = timeout
            r.session_check = params.get("session_check") == "1"
            r.close_session = params.get("close_session") in ("1", "true")
        return r

    def decompress(self, body: bytes) -> bytes:
        enc = (self.headers.get("Content-Encoding") or "").strip().lower()
        if not enc or enc == "identity" or not body:
            return body
        try:
            if enc in ("gzip", "x-gzip"):
                return gzip.decompress(body)
            if enc == "deflate":
                return zlib.decompress(body)
        except (OSError, zlib.error, EOFError) as e:
            raise QueryFailure(UNKNOWN_COMPRESSION_METHOD, f"Cannot decompress the request body ({enc}): {e}") from None
        raise QueryFailure(UNKNOWN_COMPRESSION_METHOD, f"Unknown compression method: {enc}")

    def response_encoding(self, params: dict[str, str]) -> str | None:
        accept = (self.headers.get("Accept-Encoding") or "").lower()
        if not accept:
            return None
        enabled = params.get("enable_http_compression", self.front.baseline.get("enable_http_compression", "0"))
        if enabled not in ("1", "true"):
            return None
        if "gzip" in accept:
            return "gzip"
        if "deflate" in accept:
            return "deflate"
        return None

    def reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            self.send_header("X-ClickHouse-Server-Display-Name", self.front.display_name)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection or (self.headers.get("Connection", "").lower() == "close"):
                self.send_header("Connection", "close")
                self.close_connection = True
            else:
                self.send_header("Connection", "Keep-Alive")
                self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_TIMEOUT}")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            self.wfile.flush()
        except (ConnectionError, TimeoutError, socket.timeout, OSError):
            # The client left (BrokenPipe, ConnectionReset): nothing to answer to.
            self.close_connection = True


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def serve(args) -> int:
    log = Log(args.log)
    try:
        users = load_users(args.users)
    except (OSError, ValueError) as e:
        msg = f"chfront: refusing to start: users file: {e}"
        log.write("Fatal", msg)
        print(msg, file=sys.stderr, flush=True)
        return 2
    t0 = time.monotonic()
    try:
        engine = Engine(args.path, args.config)
        front = Front(engine, users, log)
    except Exception as e:
        msg = f"chfront: cannot open the engine at {args.path} with {args.config}: {e}"
        log.write("Fatal", msg)
        print(msg, file=sys.stderr, flush=True)
        return 1
    Handler.front = front
    try:
        httpd = Server((args.host, args.port), Handler)
    except OSError as e:
        msg = f"chfront: cannot listen on {args.host}:{args.port}: {e.strerror or e}"
        log.write("Fatal", msg)
        print(msg, file=sys.stderr, flush=True)
        engine.close()
        return 1

    stopping = threading.Event()

    def on_signal(signum, _frame):
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    log.write("Information", f"chfront: listening on {args.host}:{args.port}, ClickHouse {front.version} "
              f"(engine {args.path}, {len(users)} users, ready in {time.monotonic() - t0:.2f} s)")
    if not log.stdout_is_log:
        print(f"chfront: listening on {args.host}:{args.port}, ClickHouse {front.version}", flush=True)
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()
        # Close the session cleanly: wait for the running query, cancel it if it lingers.
        got = front.engine_lock.acquire(timeout=1.0)
        if not got:
            front.kill_everything()
            got = front.engine_lock.acquire(timeout=2.0)
        engine.close()
        log.write("Information", "chfront: stopped" + ("" if got else " (a query was still running)"))
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description="ClickHouse's HTTP interface around an embedded chdb engine")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--path", required=True, help="engine data directory")
    ap.add_argument("--config", required=True, help="ClickHouse config file (config.d/ next to it is merged)")
    ap.add_argument("--users", required=True, help="users JSON (mode 0600)")
    ap.add_argument("--log", default=None, help="log file (appended)")
    args = ap.parse_args(argv[1:])
    code = serve(args)
    sys.stdout.flush()
    # chdb's engine threads can outlive the session; the process has nothing left to do.
    os._exit(code)


if __name__ == "__main__":
    main(sys.argv)
