"""``deepphoto serve``: DeepPhoto Studio, the local web app (photo, live camera, steering a run)."""

from __future__ import annotations

import argparse
import ipaddress
import re
import socket
from pathlib import Path

from deepphoto.commands.options import count
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import BACKENDS, PRECISIONS, SEGMENTERS, Settings


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; any other prints a warning "
        "and an address with an access token, required on every request)",
    )
    p.add_argument("--port", type=count("--port", 0, 65535), default=8000, help="port (default 8000; 0: a free one)")
    p.add_argument("--open", action="store_true", help="open the studio in the web browser")
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a host name to let in besides this computer's own, e.g. the one a reverse proxy (nginx, Caddy) on "
        "this computer passes on; the studio then asks for the access token it prints (repeatable)",
    )
    p.add_argument(
        "--https",
        action="store_true",
        help="serve over https (browsers give the camera only to https pages, but on this computer): with a "
        "self-signed certificate made once in your data folder, unless --certfile gives one",
    )
    p.add_argument("--certfile", type=Path, metavar="PEM", help="your certificate (PEM) for https (implies --https)")
    p.add_argument("--keyfile", type=Path, metavar="PEM", help="its private key (PEM), unless --certfile holds it")
    p.add_argument(
        "--camera",
        metavar="[HOST:]PORT",
        help="steer the 'deepphoto run ... --control PORT' running there from the Camera tab",
    )
    p.add_argument("--max-mb", type=count("--max-mb", 1, 1024), default=25, help="largest upload, MB (default 25)")
    p.add_argument(
        "--max-megapixels",
        type=count("--max-megapixels", 1, 144),
        default=50,
        help="largest upload in megapixels, read from the file's header before decoding (default 50)",
    )
    p.add_argument("--max-live", type=count("--max-live", 0, 16), default=2, help="live sessions at once (default 2)")
    p.add_argument(
        "--max-jobs",
        type=count("--max-jobs", 0, 16),
        default=2,
        help="best-quality jobs waiting or running (default 2)",
    )
    p.add_argument("--segmenter", default="lightnet", help=f"{', '.join(SEGMENTERS)} (default lightnet)")
    p.add_argument("--backend", default="auto", help=f"{', '.join(BACKENDS)} (default auto)")
    p.add_argument("--precision", default="auto", help=f"{', '.join(PRECISIONS)} (default auto)")
    p.add_argument(
        "--threads",
        type=count("--threads", 1, 256),
        default=None,
        help="inference threads per network (default: as run chooses)",
    )


def run(args: argparse.Namespace) -> int:
    from deepphoto.web.app import StudioConfig
    from deepphoto.web.control import parse_address
    from deepphoto.web.limits import UploadLimits
    from deepphoto.web.server import WILDCARD_HOSTS, outward_address, serve
    from deepphoto.web.tls import load, self_signed

    host = args.host.strip()
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host  # '[::1]', as in a URL
    if not host:  # the socket would listen everywhere and the address shown would be 'http://:8000/'
        raise DeepPhotoError(f"--host {args.host!r}: give an address, e.g. 127.0.0.1 (this computer) or 0.0.0.0 (all)")
    allowed = tuple(host_name_of(name) for name in args.allowed_host)
    settings = Settings.create(
        segmenter=args.segmenter, backend=args.backend, precision=args.precision, threads=args.threads
    )
    if args.camera:
        parse_address(args.camera, "--camera")  # one line now, not when the page asks
    if args.keyfile and not args.certfile:
        raise DeepPhotoError("--keyfile needs --certfile: the certificate it is the key of")
    tls = None
    if args.certfile:
        tls = load(args.certfile, args.keyfile)
    elif args.https:
        lan = outward_address(socket.AF_INET6 if ":" in host else socket.AF_INET)
        tls = self_signed([a for a in (host, lan) if a and a not in WILDCARD_HOSTS])
    config = StudioConfig(
        settings=settings,
        host=host,
        limits=UploadLimits(max_bytes=args.max_mb * 2**20, max_pixels=args.max_megapixels * 1_000_000),
        max_live=args.max_live,
        max_jobs=args.max_jobs,
        camera=args.camera,
        allowed_hosts=allowed,
    )
    serve(config, args.port, open_browser=args.open, tls=tls)
    return 0


HOST_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?")


def host_name_of(name: str) -> str:
    """An ``--allowed-host``: a host name or an address, as a browser's Host header names it
    (without scheme, port or path); one-line error otherwise."""
    given = name.strip()
    plain = given[1:-1] if given.startswith("[") and given.endswith("]") else given
    try:
        return str(ipaddress.ip_address(plain))
    except ValueError:
        pass
    if not plain.isascii():  # fotos.müller.de: the browser sends its ASCII form (xn--mller-kva), as nginx passes it
        try:
            plain = plain.encode("idna").decode("ascii")
        except UnicodeError:
            pass  # no host name: refused below
    if not HOST_NAME.fullmatch(plain) or len(plain) > 253:
        raise DeepPhotoError(
            f"--allowed-host {name!r}: give a host name alone, e.g. photos.example.com (no http://, port or path)"
        )
    return plain.rstrip(".").lower()
