"""The FastAPI application of DeepPhoto Studio: ``create_app(StudioConfig(...))``.

Every route goes through the library (``Settings``, ``Pipeline``); the page is static HTML, CSS
and JavaScript from ``deepphoto/web/static``. Safe by default:

- an access token on every request when the server listens beyond this machine (a cookie after
  the first visit with ``?token=``), and only loopback host names otherwise (DNS rebinding);
- every API call carries the header ``X-DeepPhoto-Client`` (a web page of another origin cannot
  send it without asking, and is never allowed to): the page's id, given by ``/api/hello``;
- uploads capped in bytes and pixels and checked by content (``limits``), kept per page
  (``store``); requests per second per client capped; renders, jobs and live sessions bounded;
- errors are one line of JSON, ``{"error": "..."}``, with 4xx statuses, never a traceback.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import shutil
import sys
import tempfile
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from deepphoto.errors import DeepPhotoError
from deepphoto.settings import Settings, choice
from deepphoto.web import gallery
from deepphoto.web.camera import CameraDesk
from deepphoto.web.errors import WebError
from deepphoto.web.jobs import SIZES, BestQuality, torch_available
from deepphoto.web.limits import RateLimit, UploadLimits, decode_upload, read_body
from deepphoto.web.photo import PhotoStudio, encode
from deepphoto.web.store import UPLOAD_KINDS, Clients, Uploads

STATIC = Path(__file__).parent / "static"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this computer only: a loopback name or address (127.0.0.2 and ::1 too,
    and ::ffff:127.0.0.1, as a client of a server on '::' is seen)."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (getattr(address, "ipv4_mapped", None) or address).is_loopback


TOKEN_COOKIE = "deepphoto_token"
JSON_LIMIT = UploadLimits(max_bytes=256 * 1024)  # settings, offers: small
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; "
    "connect-src 'self'; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class StudioConfig:
    settings: Settings = field(default_factory=Settings)  # engines (backend, precision, threads, segmenter)
    host: str = "127.0.0.1"
    token: str | None = None  # required on every request when set (serve sets it for non-loopback hosts)
    # host names let in besides this computer's own (a reverse proxy's, which passes the name the
    # browser opened); serve then requires the token, as whoever reaches the proxy reaches the studio
    allowed_hosts: tuple[str, ...] = ()
    limits: UploadLimits = field(default_factory=UploadLimits)
    rate: float = 20.0  # requests per second per client address, on average
    burst: int = 60
    max_live: int = 2
    max_jobs: int = 2
    max_renders: int = 4
    max_uploads: int = 48
    max_decoding: int = 2  # uploads decoded at once (a 50-megapixel one takes about 230 MB); more wait their turn
    client_timeout: float = 60.0  # a page not heard from for this long is closed with all it has
    best_iterations: tuple[int, int] = (20, 10)  # deepphoto.optimizer.DEFAULT_ITERATIONS (no torch here)
    camera: str | None = None  # '[HOST:]PORT' of a 'deepphoto run --control' to steer
    warm: bool = True  # open the photo networks and paint the thumbnails at start


class Studio:
    """Everything one running app holds; made at start-up, closed at shutdown."""

    def __init__(self, config: StudioConfig) -> None:
        self.config = config
        self.folder = Path(tempfile.mkdtemp(prefix="deepphoto-studio-"))
        self.uploads = Uploads(self.folder, config.max_uploads)
        self.photos = PhotoStudio(config.settings, self.uploads, config.max_renders)
        self.best = BestQuality(self.photos, config.max_jobs, config.best_iterations)
        self.camera = CameraDesk(config.settings, config.camera)
        self.live: Any = None  # LiveDesk, when aiortc is installed
        self.live_error = ""
        try:
            from deepphoto.web.live import LiveDesk

            self.live = LiveDesk(config.settings, config.max_live)
        except ImportError as exc:
            self.live_error = f"live needs aiortc ({exc.name or exc}): pip install -e '.[web]'"
        self.clients = Clients(config.client_timeout, self.gone)
        self.rate = RateLimit(config.rate, config.burst)
        self.decoding = asyncio.Semaphore(max(1, config.max_decoding))
        self.loop: asyncio.AbstractEventLoop | None = None

    def gone(self, client: str) -> None:
        """A page went away: its uploads, jobs, live sessions and preview-only camera run go too."""
        self.uploads.drop_client(client)
        self.best.drop_client(client)
        self.camera.drop_client(client)
        if self.live is not None and self.loop is not None and not self.loop.is_closed():
            asyncio.run_coroutine_threadsafe(self.live.drop_client(client), self.loop)

    async def close(self) -> None:
        if self.live is not None:
            await self.live.close()
        self.clients.close()
        await run_in_threadpool(self.best.close)
        await run_in_threadpool(self.camera.close)
        await run_in_threadpool(self.photos.close)
        self.uploads.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def token_cookie(request: Request) -> str:
    """The name of the cookie that keeps the access token: the port the studio listens on is in
    it, as a browser keeps one set of cookies per host, whatever the port (two studios on one
    computer would otherwise each sign the other's page out)."""
    server = request.scope.get("server") or ()
    port = server[1] if len(server) > 1 and server[1] else 0
    return f"{TOKEN_COOKIE}_{port}"


def right_token(given: str, token: str) -> bool:
    """Whether ``given`` is ``token`` (in constant time)."""
    return hmac.compare_digest(given.encode(), token.encode())


def host_name(header: str) -> str:
    """The name in a Host header, without its port: 'localhost:8000' -> 'localhost', '[::1]' -> '::1'."""
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0]


def from_beyond(request: Request) -> str | None:
    """Where a request that a reverse proxy on this computer passed on came from, when that may be
    another computer ('from 192.0.2.7'); None for a request from this computer. A proxy says so in
    X-Forwarded-For (uvicorn takes it from 127.0.0.1 as the client's address) or X-Real-IP; nginx as
    it is by default says nothing, but passes requests on in HTTP/1.0, which no browser sends (taken
    as from beyond: where from is not said)."""
    client = request.client.host if request.client else ""
    real = (request.headers.get("x-real-ip") or "").strip()
    for address in (client, real):
        try:
            ipaddress.ip_address(address)
        except ValueError:  # none, or no address (a test client's 'testclient')
            continue
        if not is_loopback(address):
            return f"from {address}"
    # even with an X-Forwarded-For of 127.0.0.1: nginx as it is passes on the browser's own, which says anything
    if request.scope.get("http_version") == "1.0":
        return "in HTTP/1.0, as nginx passes them on (it does not say from where)"
    return None


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status)


async def json_body(request: Request) -> dict[str, Any]:
    import json

    data = await read_body(request.stream(), request.headers.get("content-length"), JSON_LIMIT, "request")
    try:
        value = json.loads(data or b"{}")
    except ValueError:
        raise WebError(422, "the request is not JSON") from None
    except RecursionError:  # thousands of nested brackets: bad input, not a bug of the server
        raise WebError(422, "the request is JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise WebError(422, "the request must be a JSON object")
    return value


def create_app(config: StudioConfig | None = None) -> FastAPI:
    config = config or StudioConfig()
    # no token on this computer's own addresses (serve gives none): host names checked instead, on
    # every loopback address (127.0.0.2 as much as 127.0.0.1: a page of another site rebinding a
    # name of its own to one reaches it as well)
    loopback = is_loopback(config.host)
    local_names = {n.lower() for n in (*LOOPBACK_NAMES, config.host, *config.allowed_hosts)}

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # noqa: ANN202 (FastAPI's lifespan protocol)
        studio = Studio(config)
        studio.loop = asyncio.get_running_loop()
        app.state.studio = studio
        reaper = asyncio.create_task(_reap(studio))
        if config.warm:
            studio.loop.run_in_executor(None, _warm, studio)
        try:
            yield
        finally:
            reaper.cancel()
            await studio.close()

    app = FastAPI(title="DeepPhoto Studio", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    def studio_of(request: Request) -> Studio:
        return request.app.state.studio

    # ------------------------------------------------------------------ safety and errors

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        host = host_name(request.headers.get("host") or "")
        if loopback and host.lower().rstrip(".") not in local_names:
            return error(
                403,
                f"host {host!r} refused: open the studio as http://127.0.0.1 or http://localhost "
                f"(behind a reverse proxy: deepphoto serve --allowed-host {host or 'NAME'})",
            )
        if loopback and not config.token:
            beyond = from_beyond(request)
            if beyond is not None:
                return error(
                    403,
                    f"this studio is for this computer only and a reverse proxy passed it a request {beyond}: "
                    "serve it behind the proxy with 'deepphoto serve --allowed-host NAME' (NAME the proxy's "
                    "host name, passed on: nginx proxy_set_header Host $host;), which asks for the access "
                    "token it prints",
                )
        set_cookie = False
        cookie = token_cookie(request)
        if config.token:
            # any of them right will do: a cookie of an earlier run (another token) must not hide
            # the address just printed
            offered = (
                request.query_params.get("token"),
                request.headers.get("x-deepphoto-token"),
                request.cookies.get(cookie),
            )
            if not any(given and right_token(given, config.token) for given in offered):
                return error(401, "access token missing or wrong: open the address 'deepphoto serve' printed")
            set_cookie = request.cookies.get(cookie) != config.token
        path = request.url.path
        if path.startswith("/api/") and not path.startswith("/api/styles/"):
            try:
                studio_of(request).rate.check(request.client.host if request.client else "?")
            except WebError as exc:
                return error(exc.status, str(exc))
        try:
            response = await call_next(request)
        except ClientDisconnect:  # the client went away mid-request (a page closed during an upload): nobody to tell
            return Response(status_code=400)
        except Exception as exc:  # caught here: Starlette re-raises after on_crash, and uvicorn logs a traceback
            response = crashed(request, exc)
        for key, value in PAGE_HEADERS.items():
            response.headers.setdefault(key, value)
        if set_cookie:
            # Secure over https: never sent to a plain http:// address of the same host
            secure = request.url.scheme == "https"
            response.set_cookie(cookie, config.token or "", httponly=True, samesite="strict", secure=secure)
        return response

    @app.exception_handler(DeepPhotoError)
    async def on_error(request: Request, exc: DeepPhotoError) -> JSONResponse:
        return error(getattr(exc, "status", 422), str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        response = error(exc.status_code, str(exc.detail))
        response.headers.update(exc.headers or {})  # a 405's Allow
        return response

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
        return error(422, f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg", "invalid")))

    def crashed(request: Request, exc: Exception) -> JSONResponse:
        """A bug: one line in the server's log and a one-line 500, never a traceback."""
        print(f"deepphoto serve: {request.method} {request.url.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return error(500, f"internal error ({type(exc).__name__}): {exc}")

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        return crashed(request, exc)

    def client_of(request: Request) -> str:
        return studio_of(request).clients.seen(request.headers.get("x-deepphoto-client"))

    # ------------------------------------------------------------------ page

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)  # HEAD: curl -I, link checkers
    async def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.post("/api/hello")
    async def hello(request: Request) -> dict[str, Any]:
        if request.headers.get("x-deepphoto-client") != "new":
            raise WebError(403, "send the header X-DeepPhoto-Client: new")
        studio = studio_of(request)
        limits = studio.config.limits
        return {
            "client": studio.clients.hello(),
            "styles": gallery.styles(),
            "effects": gallery.effects(),
            "limits": {"bytes": limits.max_bytes, "pixels": limits.max_pixels, "text": limits.describe()},
            "best": {"available": torch_available(), "sizes": list(SIZES)},
            "live": {"available": studio.live is not None, "reason": studio.live_error},
            "heartbeat_s": max(2.0, studio.config.client_timeout / 4),
        }

    @app.post("/api/ping")
    async def ping(request: Request) -> dict[str, bool]:
        client_of(request)
        return {"ok": True}

    @app.post("/api/bye", status_code=204)
    async def bye(request: Request, client: str = "") -> Response:
        studio_of(request).clients.bye(client)  # sent by the page as it goes away (no headers possible)
        return Response(status_code=204)

    @app.get("/api/styles/{name}/thumb.jpg")
    async def thumb(request: Request, name: str) -> Response:
        thumbs = await run_in_threadpool(studio_of(request).photos.thumbnails)
        if name not in thumbs:
            raise WebError(404, f"unknown style {name!r}")
        return Response(thumbs[name], media_type="image/jpeg", headers={"Cache-Control": "max-age=3600"})

    # ------------------------------------------------------------------ photo

    @app.post("/api/uploads/{kind}")
    async def upload(request: Request, kind: str) -> dict[str, Any]:
        client = client_of(request)
        choice("upload kind", kind, UPLOAD_KINDS)
        if request.headers.get("content-type", "").lower().startswith("multipart/"):  # a form never starts as an image
            raise WebError(415, f"send the {kind}'s file itself as the request body, not a multipart form")
        studio = studio_of(request)
        data = await read_body(request.stream(), request.headers.get("content-length"), studio.config.limits, kind)

        def keep() -> dict[str, Any]:
            from deepphoto.web.limits import image_header

            notes: list[str] = []  # what `deepphoto edit` would warn of: shown beside the photo
            image, alpha = decode_upload(data, studio.config.limits, kind, notes)
            item = studio.uploads.add(client, kind, image, image_header(data)[0], alpha)
            h, w = image.shape[:2]
            return {"id": item.id, "kind": kind, "width": w, "height": h, "format": item.format, "notes": notes}

        async with studio.decoding:  # not one thread and 230 MB per upload sent at once
            return await run_in_threadpool(keep)

    @app.post("/api/render")
    async def render(request: Request) -> Response:
        client = client_of(request)
        values = await json_body(request)
        photo_id = values.pop("photo", None)
        size = choice("size", values.pop("size", "preview"), ("preview", "full"))
        view = choice("view", values.pop("view", "result"), ("result", "mask"))
        photos = studio_of(request).photos
        note = ""
        if view == "mask":
            image = await run_in_threadpool(photos.mask, client, photo_id, values)
            data, media = encode(image, "JPEG", 90)
        else:  # a transparent photo's picture comes as a PNG with its alpha (encode)
            image, photo, note = await run_in_threadpool(photos.render, client, photo_id, values, size == "full")
            data, media = encode(image, photo.format if size == "full" else "JPEG", 95 if size == "full" else 88)
        h, w = image.shape[:2]
        headers = {"X-Image-Size": f"{w}x{h}"}
        if note:  # what `deepphoto edit` would warn of (no person found, ...), shown beside the picture
            headers["X-DeepPhoto-Note"] = note.encode("ascii", "replace").decode()
        return Response(data, media_type=media, headers=headers)

    @app.post("/api/jobs")
    async def start_job(request: Request) -> dict[str, Any]:
        client = client_of(request)
        values = await json_body(request)
        photo_id = values.pop("photo", None)
        size = values.pop("size", 512)
        values.pop("view", None)
        job = await run_in_threadpool(studio_of(request).best.start, client, photo_id, values, size)
        return job.public()

    @app.get("/api/jobs/{job_id}")
    async def job_state(request: Request, job_id: str) -> dict[str, Any]:
        return studio_of(request).best.get(client_of(request), job_id).public()

    @app.delete("/api/jobs/{job_id}")
    async def cancel_job(request: Request, job_id: str) -> dict[str, Any]:
        return studio_of(request).best.cancel(client_of(request), job_id).public()

    @app.get("/api/jobs/{job_id}/result")
    async def job_result(request: Request, job_id: str) -> Response:
        job = studio_of(request).best.get(client_of(request), job_id)
        if job.state != "done" or job.result is None:
            raise WebError(409, f"the job is {job.state}{': ' + job.message if job.message else ''}")
        result = job.result
        data, media = await run_in_threadpool(encode, result, job.format, 95)
        h, w = result.shape[:2]
        return Response(data, media_type=media, headers={"X-Image-Size": f"{w}x{h}"})

    # ------------------------------------------------------------------ live

    def live_desk(request: Request) -> Any:
        studio = studio_of(request)
        if studio.live is None:
            raise WebError(503, studio.live_error)
        return studio.live

    @app.post("/api/live/offer")
    async def live_offer(request: Request) -> dict[str, Any]:
        client = client_of(request)
        return await live_desk(request).offer(client, await json_body(request))

    @app.post("/api/live/{session_id}/close")
    async def live_close(request: Request, session_id: str) -> dict[str, bool]:
        await live_desk(request).close_session(client_of(request), session_id)
        return {"closed": True}

    # ------------------------------------------------------------------ camera

    @app.get("/api/camera")
    async def camera_state(request: Request) -> dict[str, Any]:
        client_of(request)
        return await run_in_threadpool(studio_of(request).camera.state)

    @app.post("/api/camera/start")
    async def camera_start(request: Request) -> dict[str, Any]:
        client = client_of(request)
        values = await json_body(request)
        look = values.get("look") or {}
        if not isinstance(look, dict):
            raise WebError(422, "look must be an object")
        desk = studio_of(request).camera
        return await run_in_threadpool(desk.start, values.get("source"), values.get("output"), look, client)

    @app.post("/api/camera/stop")
    async def camera_stop(request: Request) -> dict[str, Any]:
        client_of(request)
        return await run_in_threadpool(studio_of(request).camera.stop)

    @app.post("/api/camera/settings")
    async def camera_settings(request: Request) -> dict[str, Any]:
        client_of(request)
        values = await json_body(request)
        return await run_in_threadpool(studio_of(request).camera.change, values)

    @app.get("/api/camera/preview.jpg")
    async def camera_preview(request: Request) -> Response:
        client_of(request)
        data = await run_in_threadpool(studio_of(request).camera.preview)
        return Response(data, media_type="image/jpeg")

    return app


async def _reap(studio: Studio) -> None:
    while True:
        await asyncio.sleep(max(1.0, studio.config.client_timeout / 6))
        studio.clients.reap()


def _warm(studio: Studio) -> None:
    try:
        studio.photos.warm()
    except Exception as exc:  # reported when a page asks; the server keeps going
        print(f"deepphoto serve: warning: the photo networks did not open ({exc})", file=sys.stderr)
