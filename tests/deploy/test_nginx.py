"""deploy/nginx.conf in a real nginx: it loads (`nginx -t`), and requests for the bot reach the
replicas as the README says: Telegram's webhook, Slack's events and /healthz to their upstreams
with the headers the bot checks, the other replica when one is down, plain HTTP redirected.

The file is used as shipped, only moved to free ports and given a throwaway certificate.
`.ci/run` installs nginx (Debian's nginx-light); without it the test is skipped, or fails when
REFERENT_BOT_REQUIRE_SERVERS says everything must run.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from tests.support.services import unavailable

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
#: The upstream ports of the shipped file: replica a, replica b.
UPSTREAMS = {"telegram": (8443, 8444), "slack": (3000, 3001), "health": (8081, 8082)}

pytestmark = pytest.mark.asyncio


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Replica:
    """One port of one replica: records what reaches it."""

    name: str
    port: int
    seen: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def record(request: web.Request) -> web.Response:
            self.seen.append((request.path, dict(request.headers), await request.read()))
            return web.json_response({"replica": self.name})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


@dataclass
class Proxy:
    http: int
    https: int
    replicas: dict[tuple[str, str], Replica]

    def url(self, path: str, tls: bool = True) -> str:
        return (
            f"https://127.0.0.1:{self.https}{path}"
            if tls
            else f"http://127.0.0.1:{self.http}{path}"
        )


def _require_nginx() -> str:
    if NGINX is None:
        unavailable("nginx is not installed (.ci/run installs nginx-light)")
    return NGINX


def _configuration(folder: Path, http: int, https: int, ports: dict[int, int]) -> Path:
    """The shipped file on free ports, with a throwaway certificate, in a minimal nginx.conf."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=bot.example.org", "-keyout", str(folder / "privkey.pem"),
         "-out", str(folder / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    text = (DEPLOY / "nginx.conf").read_text("utf-8")
    text = text.replace("/etc/letsencrypt/live/bot.example.org", str(folder))
    text = text.replace("listen 80;", f"listen 127.0.0.1:{http};")
    text = text.replace("listen [::]:80;", "").replace("listen [::]:443 ssl http2;", "")
    text = text.replace("listen 443 ssl", f"listen 127.0.0.1:{https} ssl")
    for shipped, free in ports.items():
        text = text.replace(f"server 127.0.0.1:{shipped} ", f"server 127.0.0.1:{free} ")
    (folder / "referent-bot.conf").write_text(text, "utf-8")
    temp = folder / "temp"
    temp.mkdir()
    user = "user root;\n" if os.geteuid() == 0 else ""
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        f"  client_body_temp_path {temp}/body; proxy_temp_path {temp}/proxy;\n"
        f"  fastcgi_temp_path {temp}/fastcgi; uwsgi_temp_path {temp}/uwsgi;\n"
        f"  scgi_temp_path {temp}/scgi;\n"
        f"  access_log off;\n  include {folder}/referent-bot.conf;\n"
        "}\n",
        "utf-8",
    )
    return main


@pytest_asyncio.fixture
async def proxy(tmp_path) -> AsyncIterator[Proxy]:
    nginx = _require_nginx()
    replicas: dict[tuple[str, str], Replica] = {}
    ports: dict[int, int] = {}
    for kind, shipped in UPSTREAMS.items():
        for name, port in zip("ab", shipped, strict=True):
            replicas[(kind, name)] = Replica(f"{kind}-{name}", _free_port())
            ports[port] = replicas[(kind, name)].port
    for replica in replicas.values():
        await replica.start()
    http, https = _free_port(), _free_port()
    main = _configuration(tmp_path, http, https, ports)
    check = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(main)],
                           capture_output=True, text=True)  # fmt: skip
    assert check.returncode == 0, check.stderr
    process = subprocess.Popen(
        [nginx, "-p", str(tmp_path), "-c", str(main), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        for _ in range(100):
            assert process.poll() is None, process.stderr.read().decode(errors="replace")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", https)
                writer.close()
                break
            except OSError:
                await asyncio.sleep(0.05)
        yield Proxy(http, https, replicas)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for replica in replicas.values():
            await replica.stop()


async def _post(session: aiohttp.ClientSession, url: str, **kwargs) -> tuple[int, dict]:
    async with session.post(url, ssl=False, **kwargs) as answer:
        body = await answer.json() if answer.content_type == "application/json" else {}
        return answer.status, body


async def test_the_shipped_configuration_routes_every_path_to_the_replicas(proxy):
    headers = {"Host": "bot.example.org", "X-Telegram-Bot-Api-Secret-Token": "s3cret"}
    update = b'{"update_id": 1}'
    async with aiohttp.ClientSession() as session:
        answers = [
            await _post(session, proxy.url("/telegram/webhook"), data=update, headers=headers)
            for _ in range(4)
        ]
        slack = await _post(
            session, proxy.url("/slack/events"), data=b"command=%2Fpasspass",
            headers={"Host": "bot.example.org", "X-Slack-Signature": "v0=abc",
                     "X-Slack-Request-Timestamp": "1700000000"},
        )  # fmt: skip
        async with session.get(proxy.url("/healthz"), ssl=False,
                               headers={"Host": "bot.example.org"}) as health:  # fmt: skip
            health_body = await health.json()
        async with session.get(proxy.url("/other"), ssl=False) as other:
            other_status = other.status
        async with session.get(proxy.url("/telegram/webhook", tls=False), allow_redirects=False,
                               headers={"Host": "bot.example.org"}) as plain:  # fmt: skip
            redirect = (plain.status, plain.headers.get("Location"))
    assert all(status == 200 for status, _ in answers)
    # Both replicas take webhook updates (round robin), each with the secret the bot checks.
    assert {body["replica"] for _, body in answers} == {"telegram-a", "telegram-b"}
    for name in "ab":
        for path, seen_headers, body in proxy.replicas[("telegram", name)].seen:
            assert path == "/telegram/webhook" and body == update
            assert seen_headers["X-Telegram-Bot-Api-Secret-Token"] == "s3cret"
            assert seen_headers["X-Forwarded-Proto"] == "https"
    assert slack[0] == 200 and slack[1]["replica"].startswith("slack-")
    (slack_request,) = [r for name in "ab" for r in proxy.replicas[("slack", name)].seen]
    assert slack_request[0] == "/slack/events" and slack_request[2] == b"command=%2Fpasspass"
    assert slack_request[1]["X-Slack-Signature"] == "v0=abc"  # the bot verifies it
    assert health.status == 200 and health_body["replica"].startswith("health-")
    assert other_status == 404
    assert redirect == (301, "https://bot.example.org/telegram/webhook")


async def test_a_replica_down_its_requests_go_to_the_other(proxy):
    await proxy.replicas[("telegram", "a")].stop()
    await proxy.replicas[("slack", "b")].stop()
    headers = {"Host": "bot.example.org"}
    async with aiohttp.ClientSession() as session:
        telegram = [
            await _post(session, proxy.url("/telegram/webhook"), data=b"{}", headers=headers)
            for _ in range(4)
        ]
        slack = [
            await _post(session, proxy.url("/slack/events"), data=b"x=1", headers=headers)
            for _ in range(4)
        ]
    assert telegram == [(200, {"replica": "telegram-b"})] * 4
    assert slack == [(200, {"replica": "slack-a"})] * 4
