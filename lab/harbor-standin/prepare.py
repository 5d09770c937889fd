#!/usr/bin/env python3
"""The berth lab's STAND-IN for Harbor's prepare (not Harbor's code).

Runs in the stand-in prepare image with the real one's mounts (/input/harbor.yml,
/data = data_volume, /config = common/config, /compose_location = the installer
directory, /hostfs = the host's /). It behaves as the real prepare does where
berth's tests depend on it:
- it refuses a harbor.yml that lacks a key the real prepare of this release
  requires (the table below, read from each release's make/photon/prepare;
  roles/harbor-node/PREPARE-FACTS.md gives file:line), with a KeyError;
- it makes NEW random CORE_SECRET, JOBSERVICE_SECRET, CSRF_KEY,
  REGISTRY_CREDENTIAL_PASSWORD and ROBOT_SCANNER_NAME_PREFIX on every run;
- it keeps data_volume/secret/keys/secretkey, secret/core/private_key.pem and
  secret/registry/root.crt when present and makes them once otherwise;
- it writes common/config/*/env and docker-compose.yml for the stand-in
  services (registry: Debian's distribution; core: core.py; nginx).
"""
import os
import random
import shutil
import string
import subprocess
import sys
from urllib.parse import quote

import yaml

VERSION = os.environ["HARBOR_VERSION"]  # e.g. 2.11.2, set in the image
MINOR = int(VERSION.split(".")[1])
IMAGE_TAG = "v" + VERSION


def required_keys(minor):
    keys = ["hostname", "data_volume", "harbor_admin_password", "jobservice.max_job_workers",
            "notification.webhook_job_max_retry", "log.level", "log.local"]
    if minor >= 8:
        keys += ["jobservice.logger_sweeper_duration", "notification.webhook_job_http_client_timeout"]
    if minor >= 9:
        keys += ["jobservice.job_loggers"]
    return keys


def lookup(cfg, dotted):
    v = cfg
    for part in dotted.split("."):
        if not isinstance(v, dict) or part not in v:
            return None
        v = v[part]
    return v


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def rand(n, alphabet=string.ascii_letters + string.digits):
    r = random.SystemRandom()
    return "".join(r.choice(alphabet) for _ in range(n))


def write(path, text, mode=0o600, uid=10000):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    os.chown(path, uid, uid)


def env_file(values):
    return "".join(f"{k}={v}\n" for k, v in values.items())


def keep_or_make(path, make, mode):
    if os.path.exists(path):
        print(f"kept {path[len('/data'):] or path}")
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    make(path)
    os.chmod(path, mode)
    os.chown(path, 10000, 10000)
    print(f"generated {path}")


def main(argv):
    if not argv or argv[0] != "prepare":
        fail("usage: prepare [--with-trivy]")
    with open("/input/harbor.yml") as f:
        cfg = yaml.safe_load(f) or {}
    for key in required_keys(MINOR):
        value = lookup(cfg, key)
        if value is None or value == {}:
            fail(f"KeyError: '{key.split('.')[-1]}' (harbor.yml needs {key} for Harbor {VERSION})")
    if cfg["hostname"] in ("127.0.0.1", "reg.mydomain.com"):
        fail("Error happened in config validation...\nPlease change the hostname to a valid one")
    if cfg["log"]["level"] not in ("debug", "info", "warning", "error", "fatal"):
        fail("log level must be one of debug, info, warning, error, fatal")
    db = (cfg.get("external_database") or {}).get("harbor")
    if not db:
        fail("the lab's stand-in runs no database of its own: harbor.yml needs external_database")
    for k in ("host", "port", "db_name", "username", "password", "ssl_mode"):
        if k not in db:
            fail(f"KeyError: '{k}' (external_database.harbor.{k})")
    redis = cfg.get("external_redis") or {}
    if not redis.get("host"):
        fail("the lab's stand-in runs no Redis of its own: harbor.yml needs external_redis")
    https = cfg.get("https") or {}
    for k in ("certificate", "private_key"):
        if https and not os.path.isfile("/hostfs" + https[k]):
            fail(f"Error happened in config validation...\nThe path for {k} does not exist: {https[k]}")

    http_port = (cfg.get("http") or {}).get("port", 80)
    data_volume = cfg["data_volume"]
    scheme = "https" if https else "http"
    ext_endpoint = cfg.get("external_url") or f"{scheme}://{cfg['hostname']}"
    pw = quote(str(redis.get("password") or ""), safe="")
    auth = f":{pw}@" if pw else ""

    def redis_url(index):
        return f"redis://{auth}{redis['host']}{'/' + str(index) if index else ''}?idle_timeout_seconds={redis.get('idle_timeout_seconds', 30)}"

    # New on every run, as the real prepare makes them.
    core_secret, jobservice_secret = rand(16), rand(16)
    csrf_key, registry_password = rand(32), rand(32)
    scanner_prefix = rand(8, string.ascii_lowercase + string.digits)

    # Kept across runs: the key that encrypts secrets in the database, and the token key pair.
    keep_or_make("/data/secret/keys/secretkey", lambda p: open(p, "w").write(rand(16)), 0o600)
    keep_or_make("/data/secret/core/private_key.pem",
                 lambda p: subprocess.run(["openssl", "genrsa", "-out", p, "2048"], check=True, capture_output=True), 0o600)
    keep_or_make("/data/secret/registry/root.crt",
                 lambda p: subprocess.run(["openssl", "req", "-new", "-x509", "-key", "/data/secret/core/private_key.pem",
                                           "-out", p, "-days", "3650", "-subj", "/CN=harbor-token-issuer"], check=True, capture_output=True), 0o644)

    for d in os.listdir("/config"):
        shutil.rmtree(os.path.join("/config", d), ignore_errors=True)
    for d, uid, mode in (("registry", 10000, 0o755), ("job_logs", 10000, 0o755), ("ca_download", 10000, 0o755),
                         ("database", 999, 0o700), ("redis", 999, 0o755)):
        os.makedirs(f"/data/{d}", exist_ok=True)
        os.chown(f"/data/{d}", uid, uid)
        os.chmod(f"/data/{d}", mode)

    core_env = {
        "CONFIG_PATH": "/etc/core/app.conf",
        "EXT_ENDPOINT": ext_endpoint,
        "CORE_URL": "http://127.0.0.1:8080",
        "REGISTRY_URL": "http://127.0.0.1:5000",
        "POSTGRESQL_HOST": db["host"],
        "POSTGRESQL_PORT": db["port"],
        "POSTGRESQL_USERNAME": db["username"],
        "POSTGRESQL_PASSWORD": db["password"],
        "POSTGRESQL_DATABASE": db["db_name"],
        "POSTGRESQL_SSLMODE": db["ssl_mode"],
        "_REDIS_URL_CORE": redis_url(None),
        "_REDIS_URL_REG": redis_url(redis.get("registry_db_index", 1)),
        "HARBOR_ADMIN_PASSWORD": cfg["harbor_admin_password"],
        "CORE_SECRET": core_secret,
        "JOBSERVICE_SECRET": jobservice_secret,
        "CSRF_KEY": csrf_key,
        "REGISTRY_CREDENTIAL_USERNAME": "harbor_registry_user",
        "REGISTRY_CREDENTIAL_PASSWORD": registry_password,
    }
    if MINOR >= 8:
        core_env["ROBOT_SCANNER_NAME_PREFIX"] = scanner_prefix
    write("/config/core/env", env_file(core_env))
    write("/config/jobservice/env", env_file({"CORE_SECRET": core_secret, "JOBSERVICE_SECRET": jobservice_secret,
                                             "REGISTRY_CREDENTIAL_PASSWORD": registry_password}))
    write("/config/registryctl/env", env_file({"CORE_SECRET": core_secret, "JOBSERVICE_SECRET": jobservice_secret}))
    write("/config/db/env", env_file({"POSTGRES_PASSWORD": db["password"]}), uid=999)
    write("/config/registry/config.yml", yaml.safe_dump({
        "version": 0.1,
        "log": {"level": "info"},
        "storage": {"filesystem": {"rootdirectory": "/storage"}, "delete": {"enabled": True},
                    "redirect": {"disable": True}},
        "http": {"addr": "127.0.0.1:5000", "secret": "placeholder"},
    }), mode=0o644)
    write("/config/nginx/nginx.conf", NGINX_CONF.replace("HTTP_PORT", str(http_port)), mode=0o644, uid=0)
    write("/compose_location/docker-compose.yml", COMPOSE.replace("DATA_VOLUME", data_volume).replace("TAG", IMAGE_TAG),
          mode=0o644, uid=0)
    print(f"Generated configuration for the lab's stand-in Harbor {VERSION}")


# nginx in front, as Harbor's proxy: /v2/ to the registry after core said yes
# to the client's credentials (auth_request), the API and login to core.
NGINX_CONF = r"""
worker_processes 1;
pid /tmp/nginx.pid;
events { worker_connections 512; }
http {
  access_log off;
  client_max_body_size 0;
  proxy_http_version 1.1;
  server {
    listen HTTP_PORT;
    location = /_core_auth {
      internal;
      proxy_pass http://127.0.0.1:8080/service/auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Authorization $http_authorization;
    }
    location /v2/ {
      auth_request /_core_auth;
      error_page 401 = @unauthorized;
      proxy_pass http://127.0.0.1:5000;
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_request_buffering off;
      proxy_buffering off;
    }
    location @unauthorized {
      add_header WWW-Authenticate 'Basic realm="harbor"' always;
      add_header Docker-Distribution-Api-Version registry/2.0 always;
      return 401 '{"errors":[{"code":"UNAUTHORIZED","message":"unauthorized"}]}';
    }
    location / {
      proxy_pass http://127.0.0.1:8080;
      proxy_set_header Host $http_host;
    }
  }
}
"""

COMPOSE = """version: '2.3'
services:
  registry:
    image: berth-lab/harbor-registry:TAG
    container_name: registry
    restart: always
    network_mode: host
    user: "10000:10000"
    volumes:
      - DATA_VOLUME/registry:/storage
      - ./common/config/registry/:/etc/registry/:ro
  core:
    image: berth-lab/harbor-core:TAG
    container_name: harbor-core
    restart: always
    network_mode: host
    env_file:
      - ./common/config/core/env
    volumes:
      - DATA_VOLUME/secret/core/private_key.pem:/etc/core/private_key.pem:ro
      - DATA_VOLUME/secret/keys/secretkey:/etc/core/key:ro
    depends_on:
      - registry
  proxy:
    image: berth-lab/harbor-nginx:TAG
    container_name: nginx
    restart: always
    network_mode: host
    volumes:
      - ./common/config/nginx/:/etc/nginx/harbor/:ro
    depends_on:
      - registry
      - core
"""

if __name__ == "__main__":
    main(sys.argv[1:])
