"""The modern ClickHouse node: the real 26.9 engine (chdb) behind chfront.py, with moto as S3.

    python3 -m unittest discover -s scripts/localenv/tests -p 'test_chfront*.py' -v

One moto_server and one front for the whole class (setUpClass), both stopped in
tearDownClass (the last test stops the front with SIGTERM itself and checks it exits
cleanly). Needs the local environment's venv (scripts/localenv/pyvenv.py ensure); without it
the class is skipped and says why.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCALENV = HERE.parent
sys.path.insert(0, str(LOCALENV))

import chfront  # noqa: E402
import modern  # noqa: E402
import pyvenv  # noqa: E402
import s3  # noqa: E402
import sandboxlib as lib  # noqa: E402

# A bound that catches a front that hangs, not a performance target (those are benchmarks): it
# starts in 3-8 s, and a cold page cache on a fresh CI machine (the engine is a 555 MB library)
# took 13.6 s once.
START_BUDGET_S = 30.0
RSS_BUDGET_MB = 600.0
VERSION = "26.9.2.1"

# (statement, ClickHouse code, HTTP status read off exceptionCodeToHTTPStatus.cpp by hand).
# The test checks the front's answer against both this column and chfront.http_status_for().
ERROR_CASES = [
    ("SELEC 1", 62, 400),
    ("SELECT * FROM luminate.nope", 60, 404),
    ("SELECT * FROM nodb.t", 81, 404),
    ("SELECT nope FROM system.one", 47, 404),
    ("SELECT nofunc(1)", 46, 404),
    ("SELECT CAST((1, 2) AS Tuple(UInt8))", 53, 400),
    ("CREATE TABLE luminate.metrics (x UInt8) ENGINE = Memory", 57, 500),
    ("SELECT throwIf(1)", 395, 500),
    ("SELECT sleepEachRow(0.05) FROM numbers(100) SETTINGS max_block_size = 1, max_execution_time = 0.3",
     159, 408),
    ("SELECT toUInt8('abc')", 6, 400),
    ("SELECT toDateTime('nope')", 41, 400),
    ("SELECT 1 FORMAT Nope", 73, 404),
    ("SELECT CAST(1 AS NopeType)", 50, 404),
    ("CREATE TABLE luminate.no_engine (x UInt8) ENGINE = NopeEngine", 56, 404),
    ("SELECT 1 + 'a'", 43, 500),
    ("SELECT number FROM numbers(10) SETTINGS max_result_rows = 2", 396, 500),
    ("BACKUP TABLE luminate.metrics TO File('/tmp/not-an-allowed-path/x')", 36, 400),
    ("SELECT match('a', '(')", 427, 400),
]


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.raw = body
        self.body = body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def __repr__(self):
        return f"<{self.status} {self.body[:300]!r}>"


class ChfrontCase(unittest.TestCase):
    tmp: Path
    front: subprocess.Popen | None = None
    moto: subprocess.Popen | None = None

    @classmethod
    def setUpClass(cls):
        if not pyvenv.is_complete():
            msg = (f"the local environment's venv is not installed ({pyvenv.directory()}): "
                   "run scripts/localenv/pyvenv.py ensure")
            print(f"\n    SKIP test_chfront: {msg}", file=sys.stderr)
            raise unittest.SkipTest(msg)
        cls.tmp = Path(tempfile.mkdtemp(prefix="luminate-chfront-test-"))
        try:
            s3_port, front_port = lib.pick_free_ports(2)
            cls.s3 = s3.prepare(cls.tmp / "s3", s3_port)
            cls.moto = s3.start(cls.s3)
            s3.wait_ready(cls.s3, cls.moto)
            s3.create_buckets(cls.s3)
            cls.plan = modern.prepare(cls.tmp / "modern", front_port, cls.s3)
            t = time.monotonic()
            cls.front = modern.start(cls.plan)
            modern.wait_ready(cls.plan, cls.front)
            cls.start_seconds = time.monotonic() - t
            t = time.monotonic()
            cls.seed = modern.seed(cls.plan)
            cls.seed_seconds = time.monotonic() - t
        except BaseException:
            cls.tearDownClass()
            raise
        cls.url = cls.plan["url"]
        cls.ops_pw = modern.password(cls.plan, "ops")
        cls.reader_pw = modern.password(cls.plan, "reader")

    @classmethod
    def tearDownClass(cls):
        procs = [p for p in (cls.front, cls.moto) if p is not None]
        lib.stop_processes([lib.proc_record(p.pid, p.args) for p in procs if p.poll() is None])
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def request(self, sql: str | None = None, user: str | None = "ops", password: str | None = None,
                params: dict | None = None, headers: dict | None = None, method: str = "POST",
                path: str = "/", timeout: float = 60) -> Response:
        hdrs = dict(headers or {})
        if user is not None:
            hdrs["X-ClickHouse-User"] = user
            hdrs["X-ClickHouse-Key"] = password if password is not None else self.password(user)
        url = self.url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = sql.encode() if sql is not None else None
        req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return Response(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.headers, e.read())

    def password(self, user: str) -> str:
        return {"ops": self.ops_pw, "reader": self.reader_pw}.get(user, "whatever")

    def ok(self, sql: str, **kw) -> str:
        r = self.request(sql, **kw)
        self.assertEqual(r.status, 200, r)
        return r.body

    def assert_error(self, r: Response, code: int, status: int | None = None, message: str | None = None):
        """The modern form: one `Code: N. DB::Exception: ... (NAME) (version V)` and a line break,
        the code in X-ClickHouse-Exception-Code, the status of ClickHouse's table."""
        expected_status = chfront.http_status_for(code)
        if status is not None:
            self.assertEqual(expected_status, status, f"the front's table maps {code} to {expected_status}")
        self.assertEqual(r.status, expected_status, r)
        self.assertEqual(r.header("X-ClickHouse-Exception-Code"), str(code), r)
        self.assertRegex(r.body, rf"(?s)^Code: {code}\. DB::Exception: .+ \([A-Z_0-9]+\) \(version {re.escape(VERSION)}\)\n\Z")
        self.assertNotIn("Stack trace", r.body)
        self.assertTrue(r.header("Content-Type").startswith("text/plain"), r.header("Content-Type"))
        if message is not None:
            self.assertEqual(r.body, message)

    # ------------------------------------------------------------------ start, memory

    def test_00_start_time_and_memory(self):
        rss = lib.proc_rss_mb(self.front.pid)
        moto_rss = lib.proc_rss_mb(self.moto.pid)
        print(f"\n    chfront ready in {self.start_seconds:.2f} s, seeded in {self.seed_seconds:.2f} s; "
              f"RSS chfront {rss:.0f} MB, moto {moto_rss:.0f} MB", file=sys.stderr)
        self.assertLess(self.start_seconds, START_BUDGET_S)
        self.assertLess(rss, RSS_BUDGET_MB)
        # `import chdb` would load pyarrow and numpy (~40 MB) if it could: the front blocks them.
        maps = Path(f"/proc/{self.front.pid}/maps").read_text()
        self.assertNotIn("pyarrow", maps)
        self.assertNotIn("numpy", maps)
        with open(self.plan["log"]) as f:
            self.assertIn(f"chfront: listening on 127.0.0.1:{self.plan['port']}, ClickHouse {VERSION}", f.read())

    def test_01_seed(self):
        self.assertEqual((self.seed["partitions"], self.seed["total_rows"]), (60, 120000))
        body = self.ok("SELECT partition_id, sum(rows) FROM system.parts WHERE active AND database = 'luminate' "
                       "AND table = 'metrics' GROUP BY partition_id ORDER BY partition_id FORMAT TSV")
        rows = [line.split("\t") for line in body.splitlines()]
        self.assertEqual([r[0] for r in rows], self.seed["partition_ids"])
        self.assertEqual({int(r[1]) for r in rows}, {self.seed["rows_per_day"]})
        self.assertEqual(self.ok("SELECT version()").strip(), VERSION)
        # Seeding again (a restarted node keeps its engine dir) does not double the rows.
        self.assertEqual(modern.seed(self.plan), self.seed)
        self.assertEqual(self.ok("SELECT count() FROM luminate.metrics").strip(), "120000")

    # ------------------------------------------------------------------ the HTTP contract

    def test_10_query_in_body_param_and_both(self):
        self.assertEqual(self.ok("SELECT 1 + 1").strip(), "2")
        r = self.request(None, params={"query": "SELECT 2 + 2"}, method="GET")
        self.assertEqual((r.status, r.body), (200, "4\n"))
        # The parameter, a line break, then the body.
        self.assertEqual(self.ok("3 * 3", params={"query": "SELECT"}).strip(), "9")
        self.ok("CREATE TABLE luminate.ins_probe (x UInt32, s String) ENGINE = MergeTree ORDER BY x")
        try:
            r = self.request("1\ta\n2\tb\n", params={"query": "INSERT INTO luminate.ins_probe FORMAT TSV"})
            self.assertEqual(r.status, 200, r)
            summary = json.loads(r.header("X-ClickHouse-Summary"))
            self.assertEqual(summary["written_rows"], "2")
            self.assertIsNone(r.header("X-ClickHouse-Format"))   # no output
            self.assertEqual(self.ok("SELECT count(), sum(x) FROM luminate.ins_probe").split(), ["2", "3"])
        finally:
            self.ok("DROP TABLE luminate.ins_probe")

    def test_11_database_default_format_query_id(self):
        self.assertEqual(self.ok("SELECT currentDatabase()").strip(), "default")
        self.assertEqual(self.ok("SELECT currentDatabase()", params={"database": "luminate"}).strip(), "luminate")
        self.assertEqual(self.ok("SELECT count() FROM metrics", headers={"X-ClickHouse-Database": "luminate"}).strip(),
                         "120000")
        # The next request is back in `default`: no state leaks between requests.
        self.assertEqual(self.ok("SELECT currentDatabase()").strip(), "default")
        r = self.request("SELECT 1 AS x", params={"default_format": "JSONCompact", "query_id": "probe-qid-1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["data"], [[1]])
        self.assertEqual(r.header("X-ClickHouse-Query-Id"), "probe-qid-1")
        self.assertEqual(r.header("X-ClickHouse-Format"), "JSONCompact")
        self.assertEqual(r.header("Content-Type"), "application/json; charset=UTF-8")
        self.assertEqual(r.header("X-ClickHouse-Server-Display-Name"), "clickhouse-modern")
        self.assertEqual(r.header("X-ClickHouse-Timezone"), "UTC")
        summary = json.loads(r.header("X-ClickHouse-Summary"))
        self.assertEqual(list(summary), ["read_rows", "read_bytes", "written_rows", "written_bytes",
                                         "total_rows_to_read", "result_rows", "result_bytes", "elapsed_ns"])
        # A FORMAT clause wins over default_format; without query_id the server makes a UUID.
        r = self.request("SELECT 1 AS x FORMAT TSV", params={"default_format": "JSON"})
        self.assertEqual((r.body, r.header("X-ClickHouse-Format")), ("1\n", "TSV"))
        uuid.UUID(r.header("X-ClickHouse-Query-Id"))
        r = self.request("SELECT 1", headers={"X-ClickHouse-Query-Id": "probe-qid-2"})
        self.assertEqual(r.header("X-ClickHouse-Query-Id"), "probe-qid-2")
        self.assert_error(self.request("SELECT 1", params={"database": "nodb"}), 81, 404)

    def test_12_json_64bit_integers(self):
        sql = "SELECT toUInt64(18446744073709551615) AS u, toInt64(-5) AS i FORMAT JSONEachRow"
        # 26.x default (since 25.8): unquoted.
        self.assertEqual(self.ok(sql), '{"u":18446744073709551615,"i":-5}\n')
        self.assertEqual(self.ok(sql, params={"output_format_json_quote_64bit_integers": "1"}),
                         '{"u":"18446744073709551615","i":"-5"}\n')
        self.assertEqual(self.ok(sql, params={"output_format_json_quote_64bit_integers": "0"}),
                         '{"u":18446744073709551615,"i":-5}\n')
        body = json.loads(self.ok("SELECT toUInt64(7) AS u FORMAT JSON",
                                  params={"output_format_json_quote_64bit_integers": "1"}))
        self.assertEqual(body["data"], [{"u": "7"}])
        # The setting applied to that request only.
        self.assertEqual(self.ok(sql), '{"u":18446744073709551615,"i":-5}\n')
        self.assertEqual(self.ok("SELECT getSetting('output_format_json_quote_64bit_integers')").strip(), "false")

    def test_13_formats(self):
        sql = "SELECT number AS n, toString(number) AS s FROM numbers(2)"
        r = self.request(sql + " FORMAT JSON")
        body = json.loads(r.body)
        self.assertEqual(body["meta"], [{"name": "n", "type": "UInt64"}, {"name": "s", "type": "String"}])
        self.assertEqual(body["data"], [{"n": 0, "s": "0"}, {"n": 1, "s": "1"}])
        self.assertEqual(body["rows"], 2)
        self.assertEqual(set(body["statistics"]), {"elapsed", "rows_read", "bytes_read"})
        self.assertEqual(r.header("Content-Type"), "application/json; charset=UTF-8")
        r = self.request(sql + " FORMAT JSONEachRow")
        self.assertEqual(r.body, '{"n":0,"s":"0"}\n{"n":1,"s":"1"}\n')
        self.assertEqual(r.header("Content-Type"), "application/x-ndjson; charset=UTF-8")
        r = self.request(sql + " FORMAT TSV")
        self.assertEqual(r.body, "0\t0\n1\t1\n")
        self.assertEqual(r.header("Content-Type"), "text/tab-separated-values; charset=UTF-8")
        r = self.request(sql)   # no FORMAT, no default_format: TabSeparated
        self.assertEqual((r.body, r.header("X-ClickHouse-Format")), ("0\t0\n1\t1\n", "TabSeparated"))
        r = self.request(sql + " FORMAT JSONCompact")
        self.assertEqual(json.loads(r.body)["data"], [[0, "0"], [1, "1"]])
        r = self.request(sql + " FORMAT TSVWithNames")
        self.assertEqual(r.body, "n\ts\n0\t0\n1\t1\n")
        # A column called `format` is not a FORMAT clause.
        r = self.request("SELECT 'a' AS format")
        self.assertEqual((r.status, r.body, r.header("X-ClickHouse-Format")), (200, "a\n", "TabSeparated"))
        # default_format only matters without a FORMAT clause.
        r = self.request("SELECT 5 FORMAT JSONEachRow", params={"default_format": "Nope"})
        self.assertEqual((r.status, r.body), (200, '{"5":5}\n'))
        self.assert_error(self.request("SELECT 5", params={"default_format": "Nope"}), 73, 404)

    def test_14_ping_replicas_status_root(self):
        for path in ("/ping", "/replicas_status", "/"):
            r = self.request(None, user=None, method="GET", path=path)
            self.assertEqual((r.status, r.body), (200, "Ok.\n"), path)
        r = self.request(None, user=None, method="GET", path="/nothing-here")
        self.assertEqual(r.status, 404)
        self.assertTrue(r.body.startswith("There is no handle /nothing-here"))

    def test_15_empty_and_multi_statement(self):
        self.assert_error(self.request(""), 62, 400,
                          f"Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR) (version {VERSION})\n")
        r = self.request("SELECT 1; SELECT 2")
        self.assert_error(r, 62, 400)
        self.assertIn("Syntax error (Multi-statements are not allowed): failed at position 9 (end of query)", r.body)
        self.assertEqual(self.ok("SELECT 1;").strip(), "1")   # a trailing ';' is fine

    def test_16_compressed_and_chunked_bodies(self):
        import gzip
        import http.client
        body = gzip.compress(b"SELECT 'zipped'")
        req = urllib.request.Request(self.url + "/", data=body, method="POST", headers={
            "X-ClickHouse-User": "ops", "X-ClickHouse-Key": self.ops_pw, "Content-Encoding": "gzip",
            "Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.assertEqual(resp.headers.get("Content-Encoding"), "gzip")
            self.assertEqual(gzip.decompress(resp.read()), b"zipped\n")
        conn = http.client.HTTPConnection("127.0.0.1", self.plan["port"], timeout=30)
        try:
            conn.request("POST", "/", body=iter([b"SELECT ", b"'chun", b"ked'"]), encode_chunked=True,
                         headers={"X-ClickHouse-User": "ops", "X-ClickHouse-Key": self.ops_pw,
                                  "Transfer-Encoding": "chunked"})
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, b"chunked\n"))
            # Keep-alive: a second request on the same connection.
            conn.request("POST", "/", body=b"SELECT 2", headers={"X-ClickHouse-User": "ops",
                                                                 "X-ClickHouse-Key": self.ops_pw})
            resp = conn.getresponse()
            self.assertEqual((resp.status, resp.read()), (200, b"2\n"))
        finally:
            conn.close()

    # ------------------------------------------------------------------ users

    def test_20_authentication(self):
        self.assertEqual(self.ok("SELECT 1").strip(), "1")
        wrong = (f"Code: 516. DB::Exception: ops: Authentication failed: password is incorrect, or there is "
                 f"no user with such name. (AUTHENTICATION_FAILED) (version {VERSION})\n")
        self.assert_error(self.request("SELECT 1", password="wrong"), 516, 403, wrong)
        self.assert_error(self.request("SELECT 1", user="nobody"), 516, 403,
                          wrong.replace("DB::Exception: ops:", "DB::Exception: nobody:"))
        # No credentials at all: the `default` user, which this node does not have.
        # AccessControl adds its "forgot password" hint for that user (so the text spans lines).
        r = self.request("SELECT 1", user=None)
        self.assertEqual((r.status, r.header("X-ClickHouse-Exception-Code")), (403, "516"))
        self.assertTrue(r.body.startswith("Code: 516. DB::Exception: default: Authentication failed: password is "
                                          "incorrect, or there is no user with such name.\n\nIf you have installed"), r)
        self.assertTrue(r.body.endswith(f"installed.\n\n. (AUTHENTICATION_FAILED) (version {VERSION})\n"), r)
        # HTTP Basic and parameters work too...
        basic = "Basic " + base64.b64encode(f"ops:{self.ops_pw}".encode()).decode()
        self.assertEqual(self.request("SELECT 1", user=None, headers={"Authorization": basic}).body, "1\n")
        self.assertEqual(self.request("SELECT 1", user=None,
                                      params={"user": "ops", "password": self.ops_pw}).body, "1\n")
        bad_basic = "Basic " + base64.b64encode(b"ops:nope").decode()
        self.assert_error(self.request("SELECT 1", user=None, headers={"Authorization": bad_basic}), 516, 403, wrong)
        # ...but never two methods at once.
        self.assert_error(self.request("SELECT 1", headers={"Authorization": basic}), 516, 403,
                          "Code: 516. DB::Exception: Invalid authentication: it is not allowed to use X-ClickHouse "
                          "HTTP headers and Authorization HTTP header simultaneously. (AUTHENTICATION_FAILED) "
                          f"(version {VERSION})\n")
        self.assert_error(self.request("SELECT 1", params={"user": "ops"}), 516, 403)
        self.assert_error(self.request("SELECT 1", user=None, headers={"Authorization": basic},
                                       params={"password": "x"}), 516, 403)

    def test_21_reader_is_readonly(self):
        def reader(sql, **kw):
            return self.request(sql, user="reader", **kw)
        self.assertEqual(reader("SELECT count() FROM luminate.metrics").body, "120000\n")
        self.assertEqual(reader("WITH 2 AS x SELECT x * 21").body, "42\n")
        self.assertIn("metrics", reader("SHOW TABLES FROM luminate").body.split())
        self.assertIn("timestamp\tDateTime", reader("DESCRIBE TABLE luminate.metrics").body)
        self.assertEqual(reader("EXISTS TABLE luminate.metrics").body, "1\n")
        refused = (f"Code: 164. DB::Exception: reader: Cannot execute query in readonly mode. (READONLY) "
                   f"(version {VERSION})\n")
        for sql in ("INSERT INTO luminate.metrics VALUES (now(), 'x', 'y', '{}', 1)",
                    "CREATE TABLE luminate.reader_made (x UInt8) ENGINE = Memory",
                    "ALTER TABLE luminate.metrics DROP PARTITION 20261127",
                    "OPTIMIZE TABLE luminate.metrics",
                    "SYSTEM DROP MARK CACHE",
                    "BACKUP TABLE luminate.metrics TO Disk('backups', 'reader/x/')",
                    "KILL QUERY WHERE query_id = 'x'"):
            self.assert_error(reader(sql), 164, 500, refused)
        self.assertEqual(self.ok("SELECT count() FROM luminate.metrics").strip(), "120000")
        # readonly = 1: no setting may change (luminatectl then retries without its own)...
        self.assert_error(reader("SELECT 1", params={"max_execution_time": "30"}), 164, 500,
                          f"Code: 164. DB::Exception: Cannot modify 'max_execution_time' setting in readonly mode. "
                          f"(READONLY) (version {VERSION})\n")
        self.assert_error(reader("SET max_threads = 1"), 164, 500)
        # ...except to the value it already has.
        self.assertEqual(reader("SELECT toUInt64(1) AS u FORMAT JSONEachRow",
                                params={"output_format_json_quote_64bit_integers": "0"}).body, '{"u":1}\n')
        # GET implies readonly for everyone (readonly = 2: settings may change).
        r = self.request(None, params={"query": "CREATE TABLE luminate.get_made (x UInt8) ENGINE = Memory"},
                         method="GET")
        self.assert_error(r, 164, 500,
                          "Code: 164. DB::Exception: ops: Cannot execute query in readonly mode. For queries over "
                          "HTTP, method GET implies readonly. You should use method POST for modifying queries. "
                          f"(READONLY) (version {VERSION})\n")
        r = self.request(None, params={"query": "SELECT getSetting('max_threads')", "max_threads": "1"}, method="GET")
        self.assertEqual((r.status, r.body), (200, "1\n"))

    def test_22_front_refuses_a_readable_users_file(self):
        users = self.tmp / "users-0644.json"
        users.write_text(json.dumps({"users": {"ops": {"password_sha256_hex": hashlib.sha256(b"x").hexdigest()}}}))
        os.chmod(users, 0o644)
        port = lib.pick_free_ports(1)[0]
        proc = subprocess.run(
            [pyvenv.python(), str(modern.CHFRONT), "--port", str(port), "--path", str(self.tmp / "unused-engine"),
             "--config", self.plan["config"], "--users", str(users)],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertIn("mode 0644", proc.stderr)
        self.assertFalse(lib.port_open(port))
        self.assertFalse((self.tmp / "unused-engine").exists())
        # The sandbox's own users file is 0600 and holds hashes only.
        self.assertEqual(os.stat(self.plan["users_file"]).st_mode & 0o777, 0o600)
        self.assertNotIn(self.ops_pw, Path(self.plan["users_file"]).read_text())
        for user in ("ops", "reader"):
            self.assertEqual(os.stat(self.plan["users"][user]["password_file"]).st_mode & 0o777, 0o600)

    # ------------------------------------------------------------------ errors

    def test_30_error_codes_map_to_clickhouses_statuses(self):
        seen = set()
        for sql, code, status in ERROR_CASES:
            with self.subTest(sql=sql):
                self.assert_error(self.request(sql), code, status)
                seen.add(code)
        self.assert_error(self.request("SELECT 1", params={"nope_setting": "1"}), 115, 404)
        self.assertGreaterEqual(len(seen), 8)
        self.assertGreaterEqual(len({s for _, _, s in ERROR_CASES}), 4)

    def test_31_status_table_names_are_the_engines(self):
        codes = sorted(chfront.HTTP_STATUS_BY_NAME)
        sql = "SELECT " + ", ".join(f"errorCodeToName({c})" for c in codes) + " FORMAT JSONCompact"
        names = json.loads(self.ok(sql))["data"][0]
        self.assertEqual(dict(zip(codes, names)), {c: chfront.HTTP_STATUS_BY_NAME[c][0] for c in codes})
        self.assertEqual(chfront.http_status_for(164), 500)   # not in the table: 500
        self.assertEqual(chfront.http_status_for(516), 403)
        self.assertEqual(chfront.http_status_for(159), 408)

    def test_32_log_names_the_failed_query(self):
        qid = f"log-probe-{uuid.uuid4().hex[:8]}"
        self.request("SELECT * FROM luminate.no_such_table", params={"query_id": qid})
        self.request("SELECT 1", password="a-wrong-password", params={"query_id": qid + "-auth"})
        log = ""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and qid + "-auth" not in log:
            log = Path(self.plan["log"]).read_text()
            time.sleep(0.05)
        line = next(ln for ln in log.splitlines() if f"query_id={qid} " in ln)
        self.assertIn("user=ops code=60 http=404", line)
        self.assertIn("Code: 60. DB::Exception: Unknown table expression identifier 'luminate.no_such_table'", line)
        self.assertIn(f"query_id={qid}-auth user=ops code=516 http=403", log)
        self.assertNotIn(self.ops_pw, log)
        self.assertNotIn("a-wrong-password", log)
        self.assertNotIn(s3.secret(self.s3), log)

    # ------------------------------------------------------------------ concurrency

    def test_40_concurrent_clients_get_their_own_answers(self):
        errors: list[str] = []

        def client(i: int):
            db = "luminate" if i % 2 else "default"
            for rep in range(5):
                r = self.request("SELECT currentDatabase(), getSetting('max_result_rows'), {n:UInt32}",
                                 params={"database": db, "max_result_rows": str(1000 + i), "param_n": str(i * 10 + rep)})
                want = f"{db}\t{1000 + i}\t{i * 10 + rep}\n"
                if (r.status, r.body) != (200, want):
                    errors.append(f"client {i} rep {rep}: {r.status} {r.body!r} != {want!r}")
                r = self.request("SELECT toUInt64(1) AS u FORMAT JSONEachRow",
                                 params={"output_format_json_quote_64bit_integers": str(i % 2)})
                want = '{"u":"1"}\n' if i % 2 else '{"u":1}\n'
                if r.body != want:
                    errors.append(f"client {i} rep {rep}: {r.body!r} != {want!r}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(self.ok("SELECT getSetting('max_result_rows')").strip(), "0")

    def test_41_a_client_that_leaves_does_not_wedge_the_front(self):
        port = self.plan["port"]
        head = (f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-ClickHouse-User: ops\r\n"
                f"X-ClickHouse-Key: {self.ops_pw}\r\n")
        # 1. Leaves in the middle of its body.
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall((head + "Content-Length: 1000\r\n\r\nSELECT").encode())
        # 2. Sends a slow query and leaves at once (RST), while it runs.
        slow = "SELECT sleepEachRow(0.1) FROM numbers(8) SETTINGS max_block_size = 1 FORMAT Null"
        s = socket.create_connection(("127.0.0.1", port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall((head + f"Content-Length: {len(slow)}\r\n\r\n{slow}").encode())
        time.sleep(0.2)
        s.close()
        # 3. Reads half an answer and leaves.
        big = "SELECT number FROM numbers(300000)"
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall((head + f"Content-Length: {len(big)}\r\n\r\n{big}").encode())
        s.recv(100)
        s.close()
        t = time.monotonic()
        self.assertEqual(self.ok("SELECT 'still here'", timeout=10).strip(), "still here")
        self.assertLess(time.monotonic() - t, 5)
        self.assertIsNone(self.front.poll())
        self.assertEqual(self.request(None, user=None, method="GET", path="/ping").body, "Ok.\n")

    def test_42_kill_query(self):
        results: dict = {}

        def run(name, qid, sql):
            results[name] = self.request(sql, params={"query_id": qid}, timeout=30)

        # Written as luminatectl sends it, FORMAT on a line of its own: the kill's answer echoes
        # the text, newline and all.
        slow = "SELECT sleepEachRow(0.1) FROM numbers(100) SETTINGS max_block_size = 1\nFORMAT Null"
        victim = threading.Thread(target=run, args=("victim", "kill-victim", slow))
        victim.start()
        time.sleep(0.4)
        queued = threading.Thread(target=run, args=("queued", "kill-queued", "SELECT 42"))
        queued.start()
        time.sleep(0.2)
        # Waiting for the lock: cancelled before it starts.
        r = self.request("KILL QUERY WHERE query_id = 'kill-queued' ASYNC FORMAT JSONEachRow")
        self.assertEqual(json.loads(r.body), {"kill_status": "waiting", "query_id": "kill-queued",
                                              "user": "ops", "query": "SELECT 42"})
        # Running: found and killed on the engine; SYNC waits until it has stopped.
        t = time.monotonic()
        r = self.request("KILL QUERY WHERE query_id = 'kill-victim' SYNC FORMAT JSON")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["data"], [{"kill_status": "finished", "query_id": "kill-victim",
                                                       "user": "ops", "query": slow}])
        victim.join(30)
        queued.join(30)
        self.assertLess(time.monotonic() - t, 5)
        self.assert_error(results["victim"], 394, 500)
        self.assertIn("Query was cancelled", results["victim"].body)
        self.assert_error(results["queued"], 394, 500)
        # Nothing by that id: an empty answer, as the engine gives it.
        r = self.request("KILL QUERY WHERE query_id = 'kill-victim' SYNC FORMAT JSON")
        self.assertEqual((r.status, r.body), (200, ""))

    def test_43_session_id(self):
        p = {"session_id": "probe-session"}
        self.ok("SET max_result_rows = 3", params=p)
        self.assertEqual(self.ok("SELECT getSetting('max_result_rows')", params=p).strip(), "3")
        self.assertEqual(self.ok("SELECT getSetting('max_result_rows')").strip(), "0")
        self.ok("USE luminate", params=p)
        self.assertEqual(self.ok("SELECT currentDatabase()", params=p).strip(), "luminate")
        self.assertEqual(self.ok("SELECT currentDatabase()").strip(), "default")
        self.ok("SELECT 1", params={**p, "close_session": "1"})
        self.assertEqual(self.ok("SELECT getSetting('max_result_rows')", params=p).strip(), "0")
        self.assert_error(self.request("SELECT 1", params={"session_id": "never-made", "session_check": "1"}), 372)
        self.assert_error(self.request("SELECT 1", params={"session_id": "x", "session_timeout": "99999"}), 374)

    # ------------------------------------------------------------------ modern features

    def test_50_backup_restore_through_the_s3_disk(self):
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        name = f"luminate/{stamp}/"
        r = self.request(f"BACKUP DATABASE luminate TO Disk('backups', '{name}') FORMAT JSONEachRow")
        self.assertEqual(r.status, 200, r)
        backup = json.loads(r.body)
        self.assertEqual(backup["status"], "BACKUP_CREATED")
        row = json.loads(self.ok(f"SELECT status, num_files, error FROM system.backups WHERE id = '{backup['id']}' "
                                 "FORMAT JSONEachRow"))
        self.assertEqual((row["status"], row["error"]), ("BACKUP_CREATED", ""))
        self.assertGreater(row["num_files"], 0)
        # The objects are in moto's bucket, under the disk's prefix.
        keys = s3.list_keys(self.s3, modern.BACKUP_BUCKET, modern.BACKUP_PREFIX + name)
        self.assertIn(modern.BACKUP_PREFIX + name + ".backup", keys)
        self.assertTrue(any("/data/luminate/metrics/" in k for k in keys), keys[:5])
        # Restore into another database: identical rows, partition by partition.
        target = f"restored_{stamp.lower()}"
        r = self.request(f"RESTORE DATABASE luminate AS {target} FROM Disk('backups', '{name}') FORMAT JSONEachRow")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.body)["status"], "RESTORED")
        try:
            per_partition = ("SELECT partition_id, sum(rows) FROM system.parts WHERE active AND database = '{db}' "
                             "AND table = 'metrics' GROUP BY partition_id ORDER BY partition_id FORMAT TSV")
            original = self.ok(per_partition.format(db="luminate"))
            self.assertEqual(self.ok(per_partition.format(db=target)), original)
            self.assertEqual(len(original.splitlines()), 60)
            digest = "SELECT count(), sum(cityHash64(timestamp, tenant, metric_name, labels, value)) FROM {db}.metrics"
            self.assertEqual(self.ok(digest.format(db=target)), self.ok(digest.format(db="luminate")))
        finally:
            self.ok(f"DROP DATABASE IF EXISTS {target}")

    def test_51_backup_async_is_polled_in_system_backups(self):
        name = f"luminate/async-{uuid.uuid4().hex[:8]}/"
        r = self.request(f"BACKUP TABLE luminate.metrics TO Disk('backups', '{name}') ASYNC FORMAT JSONEachRow")
        self.assertEqual(r.status, 200, r)
        started = json.loads(r.body)
        self.assertIn(started["status"], ("CREATING_BACKUP", "BACKUP_CREATED"))
        status = started["status"]
        deadline = time.monotonic() + 20
        while status == "CREATING_BACKUP" and time.monotonic() < deadline:
            time.sleep(0.1)
            status = self.ok(f"SELECT status FROM system.backups WHERE id = '{started['id']}'").strip()
        self.assertEqual(status, "BACKUP_CREATED")
        # An incremental on top of it (base_backup).
        inc = name.rstrip("/") + "-inc/"
        r = self.request(f"BACKUP TABLE luminate.metrics TO Disk('backups', '{inc}') "
                         f"SETTINGS base_backup = Disk('backups', '{name}') FORMAT JSONEachRow")
        self.assertEqual(json.loads(r.body)["status"], "BACKUP_CREATED", r)

    def test_52_modify_ttl(self):
        self.ok("CREATE TABLE luminate.ttl_probe AS luminate.metrics")
        try:
            self.ok("INSERT INTO luminate.ttl_probe SELECT * FROM luminate.metrics WHERE toDate(timestamp) = '2026-11-27'")
            self.ok("ALTER TABLE luminate.ttl_probe MODIFY TTL timestamp + INTERVAL 30 DAY")
            engine_full = self.ok("SELECT engine_full FROM system.tables WHERE database = 'luminate' "
                                  "AND name = 'ttl_probe'")
            self.assertIn("TTL timestamp + toIntervalDay(30)", engine_full)
            self.assertIn("TTL timestamp + toIntervalDay(30)", self.ok("SHOW CREATE TABLE luminate.ttl_probe"))
        finally:
            self.ok("DROP TABLE IF EXISTS luminate.ttl_probe")

    # ------------------------------------------------------------------ shutdown (last)

    def test_99_sigterm_stops_the_front_cleanly(self):
        print(f"\n    RSS after the tests: chfront {lib.proc_rss_mb(self.front.pid):.0f} MB, "
              f"moto {lib.proc_rss_mb(self.moto.pid):.0f} MB", file=sys.stderr)
        rec = lib.proc_record(self.front.pid, self.front.args)
        t = time.monotonic()
        killed = lib.stop_processes([rec], grace=5.0)
        self.assertEqual(killed, [], "the front needed SIGKILL")
        self.assertEqual(self.front.wait(5), 0)
        self.assertLess(time.monotonic() - t, 5)
        self.assertIn("chfront: stopped", Path(self.plan["log"]).read_text())
        self.assertFalse(lib.port_open(self.plan["port"]))


if __name__ == "__main__":
    unittest.main()
