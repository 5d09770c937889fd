#!/usr/bin/env python3
"""The berth lab's STAND-IN for Harbor's core (not Harbor's code).

Behaves as the real core does where berth's tests depend on it:
- connects to PostgreSQL with the env prepare wrote, retrying for 60 s, then exits;
- keeps a golang-migrate style schema_migrations(version, dirty) table under a
  pg_advisory_lock, so it fails at start on a read-only standby and stops on a
  dirty version;
- sets the admin password from HARBOR_ADMIN_PASSWORD only on first start;
- serves /api/v2.0/ping and /api/v2.0/health (always HTTP 200, JSON body with
  core, database, redis and registry components before the overall status, in
  Harbor's key order);
- keeps login sessions in Redis db 0 (_REDIS_URL_CORE), so every node sharing
  Redis shares them;
- issues CSRF tokens signed with CSRF_KEY (X-Harbor-Csrf-Token) and requires one
  on writes made with a session: two nodes with different keys reject each
  other's tokens;
- answers nginx's auth_request for the registry (docker login) from the admin
  user in the database.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import psycopg2
import redis

ENV = os.environ
SCHEMA_VERSION = 100
MIGRATE_LOCK = 7394624  # any constant: every node takes the same advisory lock
SESSION_TTL = 1800


def log(message):
    print(f"core: {message}", flush=True)


def connect(timeout=5):
    return psycopg2.connect(host=ENV["POSTGRESQL_HOST"], port=ENV["POSTGRESQL_PORT"], user=ENV["POSTGRESQL_USERNAME"],
                            password=ENV["POSTGRESQL_PASSWORD"], dbname=ENV["POSTGRESQL_DATABASE"],
                            sslmode=ENV.get("POSTGRESQL_SSLMODE", "disable"), connect_timeout=timeout)


def wait_for_database():
    deadline = time.monotonic() + 60
    while True:
        try:
            return connect()
        except psycopg2.OperationalError as e:
            if time.monotonic() > deadline:
                log(f"failed to connect to the database for 60 s, giving up: {str(e).strip()}")
                sys.exit(1)
            time.sleep(2)


def password_hash(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 4096).hex()


def migrate(conn):
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        # As golang-migrate: on a read-only standby this is where start fails.
        cur.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)")
        cur.execute("SELECT version, dirty FROM schema_migrations LIMIT 1")
        row = cur.fetchone()
        if row and row[1]:
            log(f"Dirty database version {row[0]}. Fix and force version.")
            sys.exit(1)
        if row and row[0] >= SCHEMA_VERSION:
            return
        cur.execute("TRUNCATE schema_migrations")
        cur.execute("INSERT INTO schema_migrations VALUES (%s, true)", (SCHEMA_VERSION,))
        cur.execute("CREATE TABLE IF NOT EXISTS harbor_user (user_id serial PRIMARY KEY, username text UNIQUE NOT NULL, "
                    "password text NOT NULL DEFAULT '', salt text NOT NULL DEFAULT '')")
        cur.execute("INSERT INTO harbor_user (username) VALUES ('admin') ON CONFLICT DO NOTHING")
        cur.execute("CREATE TABLE IF NOT EXISTS project (project_id serial PRIMARY KEY, name text UNIQUE NOT NULL, "
                    "owner_id int NOT NULL, creation_time timestamptz NOT NULL DEFAULT now())")
        cur.execute("UPDATE schema_migrations SET dirty = false")
        log(f"schema migrated to version {SCHEMA_VERSION}")
    finally:
        cur.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))


def set_admin_password_once(conn):
    cur = conn.cursor()
    cur.execute("SELECT salt FROM harbor_user WHERE username = 'admin'")
    if cur.fetchone()[0]:
        return  # set before: harbor_admin_password applies on first start only
    salt = secrets.token_hex(16)
    cur.execute("UPDATE harbor_user SET password = %s, salt = %s WHERE username = 'admin' AND salt = ''",
                (password_hash(ENV["HARBOR_ADMIN_PASSWORD"], salt), salt))
    log("admin password set (first start)")


def check_user(username, password):
    conn = connect()
    try:
        cur = conn.cursor()
        cur.execute("SELECT user_id, password, salt FROM harbor_user WHERE username = %s", (username,))
        row = cur.fetchone()
        return row[0] if row and row[2] and hmac.compare_digest(row[1], password_hash(password, row[2])) else None
    finally:
        conn.close()


SESSIONS = redis.Redis.from_url(ENV["_REDIS_URL_CORE"].split("?")[0], socket_timeout=3)
CSRF_KEY = ENV["CSRF_KEY"].encode()


def csrf_token():
    nonce = secrets.token_hex(16)
    return f"{nonce}.{hmac.new(CSRF_KEY, nonce.encode(), hashlib.sha256).hexdigest()}"


def csrf_valid(token):
    nonce, _, mac = (token or "").partition(".")
    return bool(nonce) and hmac.compare_digest(mac, hmac.new(CSRF_KEY, nonce.encode(), hashlib.sha256).hexdigest())


def component(name, probe):
    try:
        probe()
        return {"name": name, "status": "healthy"}
    except Exception as e:  # the health API reports any failure as the component's error
        return {"name": name, "status": "unhealthy", "error": str(e).strip()[:200]}


def db_probe():
    conn = connect(timeout=3)
    try:
        conn.cursor().execute("SELECT 1")
    finally:
        conn.close()


def registry_probe():
    with urllib.request.urlopen(ENV["REGISTRY_URL"] + "/v2/", timeout=3) as r:
        if r.status != 200:
            raise RuntimeError(f"registry answered {r.status}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, content_type="application/json", headers=()):
        data = body if isinstance(body, bytes) else (body if isinstance(body, str) else json.dumps(body)).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Harbor-Csrf-Token", csrf_token())
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.send(status, {"errors": [{"code": code, "message": message}]})

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def basic_user(self):
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Basic "):
            return None
        try:
            user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
        except ValueError:
            return None
        user_id = check_user(user, password)
        return (user, user_id) if user_id else None

    def session_user(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            k, _, v = part.strip().partition("=")
            if k == "sid" and v:
                user = SESSIONS.get(f"session:{v}")
                return user.decode() if user else None
        return None

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/api/v2.0/ping":
            return self.send(200, "Pong", "text/plain")
        if path == "/api/v2.0/health":
            parts = [{"name": "core", "status": "healthy"}, component("database", db_probe),
                     component("redis", SESSIONS.ping), component("registry", registry_probe)]
            status = "healthy" if all(c["status"] == "healthy" for c in parts) else "unhealthy"
            # Key order as Harbor 2.x sends it (go-swagger sorts fields): components first, status last.
            return self.send(200, {"components": parts, "status": status})
        if path == "/service/auth":
            return self.send(200, "") if self.basic_user() else self.send(401, "")
        user = self.session_user() or (self.basic_user() or (None,))[0]
        if path == "/api/v2.0/users/current":
            return self.send(200, {"username": user}) if user else self.error(401, "UNAUTHORIZED", "unauthorized")
        if path.startswith("/api/v2.0/projects/"):
            if not user:
                return self.error(401, "UNAUTHORIZED", "unauthorized")
            conn = connect()
            try:
                cur = conn.cursor()
                cur.execute("SELECT project_id, name, creation_time FROM project WHERE name = %s", (path.rsplit("/", 1)[1],))
                row = cur.fetchone()
            finally:
                conn.close()
            if not row:
                return self.error(404, "NOT_FOUND", "project not found")
            return self.send(200, {"project_id": row[0], "name": row[1], "creation_time": row[2].isoformat()})
        return self.error(404, "NOT_FOUND", "not found")

    def do_POST(self):
        path = urlparse(self.path).path
        if path == "/c/login":
            form = parse_qs(self.body().decode())
            user = (form.get("principal") or [""])[0]
            if not check_user(user, (form.get("password") or [""])[0]):
                return self.error(401, "UNAUTHORIZED", "invalid credentials")
            sid = secrets.token_hex(16)
            SESSIONS.set(f"session:{sid}", user, ex=SESSION_TTL)
            return self.send(200, "", headers=[("Set-Cookie", f"sid={sid}; Path=/; HttpOnly")])
        session = self.session_user()
        basic = self.basic_user()
        if not session and not basic:
            return self.error(401, "UNAUTHORIZED", "unauthorized")
        # A session's writes need a token signed with this node's CSRF key; Basic auth needs none.
        if session and not csrf_valid(self.headers.get("X-Harbor-Csrf-Token")):
            return self.error(403, "FORBIDDEN", "CSRF token invalid")
        if path == "/api/v2.0/projects":
            try:
                name = json.loads(self.body() or b"{}")["project_name"]
            except (ValueError, KeyError):
                return self.error(400, "BAD_REQUEST", "project_name is required")
            conn = connect()
            conn.autocommit = True
            try:
                conn.cursor().execute("INSERT INTO project (name, owner_id) SELECT %s, user_id FROM harbor_user WHERE username = %s",
                                      (name, session or basic[0]))
            except psycopg2.errors.UniqueViolation:
                return self.error(409, "CONFLICT", f"project {name} already exists")
            finally:
                conn.close()
            return self.send(201, "", headers=[("Location", f"/api/v2.0/projects/{name}")])
        return self.error(404, "NOT_FOUND", "not found")


def main():
    conn = wait_for_database()
    try:
        migrate(conn)
    except psycopg2.Error as e:
        log(f"failed to migrate the database: {str(e).strip()}")
        sys.exit(1)
    conn.autocommit = True
    set_admin_password_once(conn)
    conn.close()
    log("serving on 127.0.0.1:8080")
    ThreadingHTTPServer(("127.0.0.1", 8080), Handler).serve_forever()


if __name__ == "__main__":
    main()
