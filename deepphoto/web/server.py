"""Running the studio: bind the address (one-line error when it is taken), print it, serve with
uvicorn until Ctrl-C / SIGTERM / SIGHUP, and always clean up (the app removes its temporary folder
and closes its jobs, sessions and runs on the way out)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import socket
import ssl
import sys
import threading
import webbrowser
from collections import Counter
from types import FrameType
from typing import Any

from deepphoto.errors import DeepPhotoError
from deepphoto.stream.stopping import ignored
from deepphoto.web.app import StudioConfig, create_app, is_loopback
from deepphoto.web.tls import Certificate

SHUTDOWN_GRACE_S = 3.0  # a request still open at a stop (an upload a client never finishes) is cut after this
HEADERS_WITHIN_S = 20.0  # a connection whose request has not arrived whole (its headers) by then is closed
BACKLOG = 128  # connections waiting to be accepted
MAX_CONNECTIONS_PER_ADDRESS = 64  # a browser opens about 6 per site; loopback (a reverse proxy) is not counted


class QuietShutdown(logging.Filter):
    """Drops uvicorn's report of the requests a stop cancelled (a traceback each, and a line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, asyncio.CancelledError) and "graceful shutdown" not in record.getMessage()


class Held(socket.socket):
    """An accepted connection, counted against its address until it is closed."""

    held: Counter[str]
    host = ""

    def _real_close(self, *args: Any) -> None:  # socket.close's last step, once the socket is not in use
        if self.host:
            self.held[self.host] -= 1
            if self.held[self.host] <= 0:
                del self.held[self.host]
            self.host = ""
        super()._real_close(*args)  # type: ignore[misc]


class Listener(socket.socket):
    """The listening socket: a connection from an address that already holds
    ``MAX_CONNECTIONS_PER_ADDRESS`` is closed as it is accepted (loopback, a reverse proxy, is not
    counted). Counted here, not in the HTTP protocol: over https the protocol hears of a connection
    only once its TLS handshake is done, and connections that never began one (held 60 s each,
    asyncio's handshake timeout) used up the server's open files, the owner's own page timing out."""

    def __init__(self, family: int) -> None:
        super().__init__(family, socket.SOCK_STREAM)
        self.held: Counter[str] = Counter()

    def accept(self) -> tuple[socket.socket, Any]:
        while True:  # BlockingIOError when none is waiting: asyncio's 'nothing more to accept'
            fd, address = self._accept()  # type: ignore[attr-defined]
            conn = Held(self.family, self.type, self.proto, fileno=fd)
            host = address[0] if isinstance(address, tuple) and address else ""
            if host and not is_loopback(host):
                if self.held[host] >= MAX_CONNECTIONS_PER_ADDRESS:
                    conn.close()
                    continue
                conn.held, conn.host = self.held, host
                self.held[host] += 1
            if socket.getdefaulttimeout() is None and self.gettimeout():
                conn.setblocking(True)  # as socket.accept does
            return conn, address


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port); port 0 picks a free one. See ``Listener``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = Listener(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = (
            "is in use (try --port 0 for a free one)" if exc.errno == 98 else f"cannot be used ({exc.strerror or exc})"
        )
        raise DeepPhotoError(f"{host}:{port} {reason}") from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


WILDCARD_HOSTS = ("0.0.0.0", "::")  # every address of this computer


def url_of(host: str, port: int, token: str | None, scheme: str = "http") -> str:
    """The studio's address as this computer opens it (127.0.0.1 for a wildcard host)."""
    shown = "127.0.0.1" if host in WILDCARD_HOSTS else host
    shown = f"[{shown}]" if ":" in shown else shown
    return f"{scheme}://{shown}:{port}/" + (f"?token={token}" if token else "")


def outward_address(family: int = socket.AF_INET) -> str | None:
    """This computer's address on the network its default route leads to (what another computer
    most likely reaches it by), or None without one. Nothing is sent: a UDP socket only picks a route."""
    probe = ("192.0.2.1", 9) if family == socket.AF_INET else ("2001:db8::1", 9)  # documentation addresses
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(probe)
            address = s.getsockname()[0]
    except OSError:
        return None
    return None if is_loopback(address) or address in WILDCARD_HOSTS else address


def open_in_browser(address: str) -> bool:
    """Open ``address`` in the web browser; where none can be opened (no browser, no display), say
    so on one line with the address, rather than nothing."""
    try:
        opened = webbrowser.open(address)
    except webbrowser.Error:
        opened = False
    if not opened:
        print(f"deepphoto serve: no web browser could be opened: open {address} yourself", file=sys.stderr, flush=True)
    return opened


def guarded_protocol() -> type:
    """uvicorn's HTTP/1.1 protocol (h11), guarded against a client that holds connections open
    without asking for anything (slowloris: anyone on the café's Wi-Fi, without the token, could
    otherwise use up the server's open files and stop the studio answering its owner): a request's
    headers must arrive whole within ``HEADERS_WITHIN_S`` (sending a byte now and then does not
    extend it); ``Listener`` lets one address hold at most ``MAX_CONNECTIONS_PER_ADDRESS`` connections."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):
        deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.arm()

        def arm(self) -> None:
            self.disarm()
            self.deadline = self.loop.call_later(HEADERS_WITHIN_S, self.too_slow)

        def disarm(self) -> None:
            if self.deadline is not None:
                self.deadline.cancel()
                self.deadline = None

        def too_slow(self) -> None:
            self.deadline = None
            if self.conn.their_state is h11.IDLE:  # no whole request yet (a request being served is not cut)
                self.timeout_keep_alive_handler()  # uvicorn's own way to close an idle connection

        def handle_events(self) -> None:
            super().handle_events()
            if self.conn.their_state is not h11.IDLE:  # the request's headers are here
                self.disarm()
            elif self.deadline is None:
                # a body that ends after its response (a 401 or 413 sent before it was read) leaves
                # the connection waiting for its next request with no clock at all: uvicorn's
                # keep-alive timer is cancelled by the body's data, and the deadline was disarmed
                # when its headers came
                self.arm()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self.arm()  # the next request on this connection has as long (disarmed when it comes)
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self.disarm()
            super().connection_lost(exc)

    return GuardedH11


TLS_HANDSHAKE = 0x16  # the first byte a TLS client sends (a record of type 'handshake')
PLAIN_HEAD_LIMIT = 16 * 1024  # bytes of a plain-http request read to answer it
HOST_HEADER = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")
# what a reverse proxy adds to a request it passes on (Caddy by default: X-Forwarded-For, -Proto,
# -Host; nginx as its guides set it up: X-Forwarded-For, -Proto, X-Real-IP; others Forwarded, Via)
PROXY_HEADER = re.compile(r"(?im)^(?:x-forwarded-[a-z-]+|x-real-ip|forwarded|via)\s*:")


def https_only_protocol(context: ssl.SSLContext, guarded: type) -> type:
    """A protocol for the https port that looks at a connection's first byte before anything else:
    a TLS handshake goes on as https (``loop.start_tls``, then ``guarded``, the HTTP protocol);
    anything else is a browser that was given ``http://`` (typed, or an old bookmark), answered in
    plain http: a GET or HEAD redirected to the same address with ``https://``, any other request a
    400 naming it. With uvicorn's own TLS such a request got an empty reply ('connection closed',
    ERR_EMPTY_RESPONSE) and not a word why. The first byte is peeked at (never read): the TLS
    layer reads the handshake whole. A connection that sends nothing is closed after
    ``HEADERS_WITHIN_S``, as one that never finishes its request."""

    class Upgraded(guarded):  # type: ignore[misc, valid-type]
        """``guarded`` made after its TLS handshake: what the TLS layer passes on before
        ``connection_made`` (the request, in the handshake's last packet) is kept until then."""

        made = False

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.early: list[bytes] = []

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.made = True
            for data in self.early:
                super().data_received(data)
            self.early.clear()

        def data_received(self, data: bytes) -> None:
            if self.made:
                super().data_received(data)
            else:
                self.early.append(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if self.made:
                super().connection_lost(exc)

    class HttpsOnly(asyncio.Protocol):
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs
            self.loop: asyncio.AbstractEventLoop = kwargs.get("_loop") or asyncio.get_running_loop()
            self.transport: asyncio.Transport | None = None
            self.peek: socket.socket | None = None
            self.head = b""
            self.deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport  # type: ignore[assignment]
            self.deadline = self.loop.call_later(HEADERS_WITHIN_S, transport.close)
            raw = transport.get_extra_info("socket")
            if raw is None:  # not a socket: nothing to peek at, TLS as before
                self.loop.create_task(self.upgrade())
                return
            transport.pause_reading()  # type: ignore[attr-defined]
            self.peek = socket.socket(fileno=os.dup(raw.fileno()))  # its own descriptor for the loop to watch
            self.peek.setblocking(False)
            self.loop.add_reader(self.peek.fileno(), self.first_byte)

        def stop_peeking(self) -> None:
            if self.peek is not None:
                self.loop.remove_reader(self.peek.fileno())
                self.peek.close()
                self.peek = None

        def first_byte(self) -> None:
            assert self.peek is not None and self.transport is not None
            try:
                first = self.peek.recv(1, socket.MSG_PEEK)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                first = b""
            self.stop_peeking()
            if not first:
                self.transport.close()
            elif first[0] == TLS_HANDSHAKE:
                self.loop.create_task(self.upgrade())
            else:
                self.transport.resume_reading()  # type: ignore[attr-defined]

        async def upgrade(self) -> None:
            assert self.transport is not None
            if self.deadline is not None:
                self.deadline.cancel()  # the handshake has a limit of its own
            protocol = Upgraded(**self.kwargs)
            try:
                secure = await self.loop.start_tls(
                    self.transport, protocol, context, server_side=True, ssl_handshake_timeout=HEADERS_WITHIN_S
                )
            except (OSError, asyncio.TimeoutError):  # a failed or abandoned handshake (ssl.SSLError is an OSError)
                self.transport.close()
                return
            if secure is None:
                self.transport.close()
                return
            protocol.connection_made(secure)

        def data_received(self, data: bytes) -> None:  # plain http, the request's head
            assert self.transport is not None
            self.head += data
            ended = re.search(rb"\r?\n\r?\n", self.head)
            if ended is None and len(self.head) < PLAIN_HEAD_LIMIT:
                return
            self.transport.pause_reading()  # type: ignore[attr-defined]
            self.transport.write(self.answer(self.head[: ended.start() if ended else PLAIN_HEAD_LIMIT]))
            self.transport.close()

        def answer(self, head: bytes) -> bytes:
            """The plain-http answer to ``head``: a redirect to https for a page, else a 400; a 400 that
            says what to change for a reverse proxy that passed on in plain http a request that came to
            it as https (``--https`` behind nginx or Caddy: redirected, the browser would be sent back
            to the address it is at, until it gives up, 'redirected you too many times')."""
            assert self.transport is not None
            lines = head.decode("latin-1").splitlines()
            request = lines[0].split() if lines else []
            host = next((line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("host:")), "")
            local = self.transport.get_extra_info("sockname") or ("127.0.0.1", 0)
            address = str(local[0]).removeprefix("::ffff:")
            here = f"[{address}]:{local[1]}" if ":" in address else f"{address}:{local[1]}"
            host = host if HOST_HEADER.fullmatch(host) else here
            path = request[1] if len(request) == 3 and request[1].startswith("/") else "/"
            url = f"https://{host}{path}"
            text = f"This DeepPhoto Studio is served over https: open {url}\n".encode()
            proxied = self.proxied(lines, host, int(local[1]))
            if proxied:
                text = (
                    "This DeepPhoto Studio is served over https (deepphoto serve --https) and the reverse proxy in "
                    f"front of it passed the request on in plain http: let it pass requests on to https://{here} "
                    f"(nginx: proxy_pass https://{here};), or serve the studio without --https behind it\n"
                ).encode()
            if not proxied and len(request) == 3 and request[0] in ("GET", "HEAD") and request[1].startswith("/"):
                status, extra = "307 Temporary Redirect", f"Location: {url}\r\n"
            else:
                status, extra = "400 Bad Request", ""
            body = b"" if request[:1] == ["HEAD"] else text
            return (
                f"HTTP/1.1 {status}\r\n{extra}Content-Type: text/plain; charset=utf-8\r\n"
                f"Content-Length: {len(text)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
            ).encode("latin-1") + body

        def proxied(self, lines: list[str], host: str, port: int) -> bool:
            """Whether the plain request in ``lines`` (for ``host``) was passed on by a reverse proxy
            rather than typed into a browser: the proxy says so in its headers (X-Forwarded-*,
            X-Real-IP, Forwarded, Via); or, from this computer (a proxy beside the
            studio), it asks in HTTP/1.0 (nginx's proxy_pass unless told proxy_http_version 1.1: a
            browser asks in 1.1) or names a host on another port than the studio's (nginx's
            proxy_set_header Host $host or $http_host: the browser is at the proxy's port). A
            redirect of such a request sends the browser back to the proxy, again and again."""
            if PROXY_HEADER.search("\n".join(lines[1:])):
                return True
            peer = self.transport.get_extra_info("peername") if self.transport is not None else None
            if not (isinstance(peer, tuple) and peer and is_loopback(str(peer[0]))):
                return False  # a router's port forwarding may well put the browser on another port
            request = lines[0].split() if lines else []
            if len(request) == 3 and request[2].upper() == "HTTP/1.0":
                return True
            named = re.search(r":([0-9]{1,5})$", host.rsplit("]", 1)[-1])
            return int(named.group(1) if named else 80) != port

        def connection_lost(self, exc: Exception | None) -> None:
            self.stop_peeking()
            if self.deadline is not None:
                self.deadline.cancel()

    return HttpsOnly


def uvicorn_server(app: Any, tls: Certificate | None = None) -> Any:
    """A ``uvicorn.Server`` for ``app`` that always stops, and stops cleanly: a request left open
    (an upload whose client stopped sending, a slow line) is cancelled ``SHUTDOWN_GRACE_S`` after
    Ctrl-C / SIGTERM rather than waited for forever, quietly (no traceback for the cancelled
    request); a second Ctrl-C does not skip the app's clean-up (its temporary folder, runs and
    sessions), which uvicorn's "force quit" would."""
    import uvicorn

    guarded = guarded_protocol()
    # a signal the process was started to ignore stays ignored, as for every command: uvicorn takes
    # SIGINT and SIGTERM whatever their handler was ('deepphoto serve &' in a script, whose Ctrl-C
    # then stopped the studio it had left running in the background)
    ignoring = {sig for sig in (signal.SIGINT, signal.SIGTERM) if ignored(sig)}

    class StudioServer(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if sig in ignoring:
                return
            super().handle_exit(sig, frame)
            self.force_exit = False  # the wait is bounded by timeout_graceful_shutdown instead

    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        http=https_only_protocol(tls.context(), guarded) if tls else guarded,
        backlog=BACKLOG,  # uvicorn's 2048 accepts that many at once, before any is refused: every open file
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    for name in ("uvicorn.error", "uvicorn.asgi"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, QuietShutdown) for f in logger.filters):
            logger.addFilter(QuietShutdown())
    return StudioServer(config)


def serve(config: StudioConfig, port: int, open_browser: bool = False, tls: Certificate | None = None) -> None:
    """Serve the studio on ``config.host``:``port`` until interrupted; over https with ``tls``."""
    sock = bind(config.host, port)  # first: no warning about an address that cannot be listened on
    if not is_loopback(config.host):
        config.token = config.token or secrets.token_urlsafe(18)
        # over plain http the token crosses the network in every request: an open Wi-Fi's other users read it
        readable = (
            "" if tls else "; over http it crosses the network unencrypted, readable by others there: add --https"
        )
        print(
            f"deepphoto serve: warning: listening on {config.host}, beyond this computer: anyone who can reach it "
            "and has the address below (it holds the access token) can use the studio and your camera runs" + readable,
            file=sys.stderr,
        )
    elif config.allowed_hosts:  # whoever reaches the proxy reaches the studio: the token keeps it the owner's
        config.token = config.token or secrets.token_urlsafe(18)
    port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    address = url_of(config.host, port, config.token, scheme)
    server = uvicorn_server(create_app(config), tls)

    hung_up: list[int] = []

    def hang_up(signum: int, frame: FrameType | None) -> None:
        hung_up.append(signum)
        server.should_exit = True  # SIGHUP ends the studio as Ctrl-C does, cleaning up

    # not where it is ignored: 'nohup deepphoto serve' outlives the terminal it was started from
    before: Any = None
    if (
        hasattr(signal, "SIGHUP")
        and threading.current_thread() is threading.main_thread()
        and not ignored(signal.SIGHUP)
    ):
        before = signal.signal(signal.SIGHUP, hang_up)
    print(f"DeepPhoto Studio: {address}  (Ctrl-C to stop)", flush=True)
    if config.host in WILDCARD_HOSTS:  # the address above works on this computer only
        family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
        there = url_of(outward_address(family) or "THIS-COMPUTERS-ADDRESS", port, config.token, scheme)
        why = "" if tls else "  (its browser gives the camera only to https:// pages: for the camera, add --https)"
        print(f"  from another computer: {there}{why}", flush=True)
    for name in config.allowed_hosts:
        print(f"  through your reverse proxy: its address for {name} with ?token={config.token}", flush=True)
    if tls:
        print(f"  certificate SHA-256 fingerprint (compare it with the browser's): {tls.fingerprint}", flush=True)
    if open_browser:
        threading.Timer(1.0, open_in_browser, args=(address,)).start()
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        if before is not None:
            signal.signal(signal.SIGHUP, before)
    if hung_up and callable(before):  # then ended as uvicorn ends on Ctrl-C and SIGTERM: the signal raised
        # again for the handler before (the command line's: 'interrupted', status 130; it said nothing, 0)
        signal.raise_signal(signal.SIGHUP)


class BackgroundServer:
    """The studio served from a thread on 127.0.0.1 (every address for a wildcard ``config.host``)
    and a free port, over https with ``tls``, for tests and notebooks::

    with BackgroundServer(StudioConfig()) as studio:
        print(studio.url)          # the app itself: studio.app.state.studio
    """

    def __init__(self, config: StudioConfig, timeout: float = 60.0, tls: Certificate | None = None) -> None:
        self.config, self.timeout = config, timeout
        self.app = create_app(config)
        self.server = uvicorn_server(self.app, tls)
        host = config.host if config.host in WILDCARD_HOSTS else "127.0.0.1"
        self.sock = bind(host, 0)
        self.url = url_of(host, self.sock.getsockname()[1], config.token, "https" if tls else "http")
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="deepphoto-studio", daemon=True
        )

    def __enter__(self) -> BackgroundServer:
        import time

        self.thread.start()
        end = time.monotonic() + self.timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise DeepPhotoError("the studio did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(self.timeout)
        self.sock.close()
