"""A TCP proxy on 127.0.0.1 between the bot and a database server, cut at a chosen moment.

The bot's engine connects to the proxy; the proxy forwards bytes both ways to the real server.
A test can then make the server vanish the way a restart or a network fault does:

- `cut()`: every open connection is closed at once (a restart);
- `down()` / `up()`: new connections are accepted and closed at once while down (unreachable);
- `cut_when(pattern)`: the next client message holding `pattern` (b"COMMIT", b"INSERT INTO
  bot_audit"...) is never forwarded and its connection is closed: the server rolls back;
- `cut_when(pattern, after=True)`: the message is forwarded and the server's answer is
  swallowed before the connection is closed: the server did it (a COMMIT: committed), the
  client cannot know.

Threads, not asyncio: the engine is synchronous and runs in the tests' thread pools.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from storage.engine import make_engine

CHUNK = 65536


@dataclass
class _Link:
    client: socket.socket
    server: socket.socket
    #: Set once the trigger message went through with after=True: the next answer is dropped.
    swallow: bool = False
    closed: bool = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for sock in (self.client, self.server):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class DbProxy:
    target_host: str
    target_port: int
    port: int = 0
    accepting: bool = True
    #: What the last armed trigger did: "dropped" or "swallowed" (None while armed or unarmed).
    fired: str | None = None
    _pattern: bytes | None = None
    _after: bool = False
    _then_down: bool = False
    _prerequisite: bytes | None = None
    _links: list[_Link] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _listener: socket.socket | None = None
    _fired_event: threading.Event = field(default_factory=threading.Event)

    def start(self) -> DbProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, name="db-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        self.cut()

    # --- what tests use ----------------------------------------------------------------------

    def cut(self) -> None:
        """Close every open connection (the server restarted)."""
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def down(self) -> None:
        """The server is unreachable: open connections cut, new ones closed at once."""
        self.accepting = False
        self.cut()

    def up(self) -> None:
        self.accepting = True

    def cut_when(
        self,
        pattern: bytes,
        *,
        after: bool = False,
        then_down: bool = False,
        once_seen: bytes | None = None,
    ) -> None:
        """Arm a one-shot cut on the next client message containing `pattern` (with
        `once_seen`, only after a message containing that has gone by: the COMMIT of a decision,
        not of the bookkeeping before it); with `then_down` the server stays unreachable from
        that moment until `up()`."""
        with self._lock:
            self._pattern, self._after, self._then_down = pattern, after, then_down
            self._prerequisite = once_seen
            self.fired = None
            self._fired_event.clear()

    def wait_fired(self, timeout: float = 10.0) -> str | None:
        self._fired_event.wait(timeout)
        return self.fired

    def url_for(self, engine: Engine) -> str:
        """The engine's URL, pointed at this proxy (TLS off, so that patterns can be read)."""
        url = make_url(engine.url.render_as_string(hide_password=False))
        url = url.set(host="127.0.0.1", port=self.port)
        if url.get_backend_name() == "postgresql":
            url = url.update_query_dict({"sslmode": "disable"})
        return url.render_as_string(hide_password=False)

    def engine_for(self, engine: Engine, **kwargs) -> Engine:
        """An engine like the bot's own (storage.engine.make_engine), through the proxy."""
        return make_engine(self.url_for(engine), **kwargs)

    # --- forwarding --------------------------------------------------------------------------

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self.accepting:
                with contextlib.suppress(OSError):
                    client.close()
                continue
            try:
                server = socket.create_connection((self.target_host, self.target_port), 5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            link = _Link(client, server)
            with self._lock:
                self._links.append(link)
            threading.Thread(target=self._upstream, args=(link,), daemon=True).start()
            threading.Thread(target=self._downstream, args=(link,), daemon=True).start()

    def _upstream(self, link: _Link) -> None:
        """Client -> server, watching for the armed pattern."""
        while not link.closed:
            try:
                data = link.client.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            with self._lock:
                watched = data
                if self._pattern is not None and self._prerequisite is not None:
                    at = data.find(self._prerequisite)
                    watched = b"" if at < 0 else data[at + len(self._prerequisite) :]
                    if at >= 0:
                        self._prerequisite = None
                armed = self._pattern is not None and self._pattern in watched
                after = self._after
                if armed:
                    self._pattern = None
            if armed and not after:
                self._fire(link, "dropped")
                return
            if armed:
                link.swallow = True
            try:
                link.server.sendall(data)
            except OSError:
                break
        link.close()

    def _downstream(self, link: _Link) -> None:
        """Server -> client; after a forwarded trigger, the answer is dropped and the link cut."""
        while not link.closed:
            try:
                data = link.server.recv(CHUNK)
            except OSError:
                break
            if not data:
                break
            if link.swallow:
                self._fire(link, "swallowed")
                return
            try:
                link.client.sendall(data)
            except OSError:
                break
        link.close()

    def _fire(self, link: _Link, what: str) -> None:
        self.fired = what  # before the client can see the cut
        self._fired_event.set()
        if self._then_down:
            self.down()
        link.close()
        with self._lock:
            if link in self._links:
                self._links.remove(link)


def proxy_for(engine: Engine) -> DbProxy:
    """A started proxy in front of the server `engine` talks to."""
    url = engine.url
    default = 5432 if url.get_backend_name() == "postgresql" else 3306
    return DbProxy(url.host or "127.0.0.1", url.port or default).start()
