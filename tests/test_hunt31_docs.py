"""Hunt 31 (docs): the documentation tells the truth, and cheap checks keep it so.

What a new user reading the README and docs/ met: the GPU benchmark reports under
docs/benchmark/gpu-h200 showed four broken pictures (the plots were never kept beside them), and the
README promised ``make bench`` in "about 3 minutes" while the committed report says it took 273 s
(the Makefile: about 5). These tests also stop the drift that 31 sessions of changes invite: every
relative link (and ``#anchor``) of README.md, docs/ and the model cards resolves, every command line
of the README's and docs' code blocks parses with today's options, and every ``--option`` shown with
a ``deepphoto COMMAND`` belongs to that command."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from deepphoto.commands.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md")), *sorted((ROOT / "deepphoto").rglob("*.md"))]
USER_DOCS = [README, ROOT / "docs" / "gpu.md", ROOT / "docs" / "jetson.md"]
OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*)")
# `--option`s of other programs that the README names (Ray's own command line)
NOT_OURS = {"--head"}


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _anchors(markdown: Path) -> set[str]:
    """The ``#anchors`` GitHub gives a file's headings."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_code = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            in_code = not in_code
        heading = None if in_code else re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).strip().lower()).replace(" ", "-")
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def _links(doc: Path) -> list[tuple[int, str]]:
    text = doc.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start()) + 1, m.group(1))
        for m in re.finditer(r"\]\(([^)\s]+)\)", text)
        if not re.match(r"[a-z][a-z0-9+.-]*:", m.group(1))  # https:, mailto:, ...
    ]


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_relative_link_resolves(doc: Path):
    broken = []
    for line, target in _links(doc):
        path, _, anchor = target.partition("#")
        linked = (doc.parent / path).resolve() if path else doc
        if not linked.exists():
            broken.append(f"{_name(doc)}:{line}: {target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
            broken.append(f"{_name(doc)}:{line}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def _command_lines(doc: Path) -> list[str]:
    """The ``deepphoto ...`` lines of a file's shell code blocks, continuation lines joined."""
    lines: list[str] = []
    for block in re.findall(r"```(?:bash|sh)\n(.*?)```", doc.read_text(encoding="utf-8"), re.S):
        for raw in block.splitlines():
            if raw.startswith(" ") and lines and lines[-1].startswith("deepphoto "):
                lines[-1] += " " + raw.strip()
            elif raw.startswith("deepphoto "):
                lines.append(raw)
    return [re.split(r"\s#\s", line)[0].strip() for line in lines]


def _example_argv(line: str) -> list[str]:
    """A synopsis made runnable: ``[A | B]`` -> A, ``--region whole|background`` -> whole."""
    text = re.sub(r"\[([^\[\]]*)\]", lambda m: m.group(1).split(" | ")[0], line)
    text = re.sub(r"(--[a-z-]+ )([\w:.]+)(?:\|[\w:.]+)+", r"\1\2", text)
    return shlex.split(text.replace("...", ""))[1:]


EXAMPLES = [(doc, line) for doc in USER_DOCS for line in _command_lines(doc)]


def test_the_docs_show_commands():
    assert len(EXAMPLES) > 30 and any(line.startswith("deepphoto run INPUT") for _, line in EXAMPLES)


@pytest.mark.parametrize(("doc", "line"), EXAMPLES, ids=[f"{_name(d)}: {s[:60]}" for d, s in EXAMPLES])
def test_every_command_line_of_the_docs_parses(doc: Path, line: str):
    argv = _example_argv(line)
    assert argv and argv[0] in COMMANDS, f"{_name(doc)}: no command {argv[:1]} in {line!r}"
    try:
        build_parser(argv[0]).parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{_name(doc)}: {line!r} does not parse today (exit {exc.code})")


def _options(command: str) -> set[str]:
    return set(build_parser(command).options) | {"--help"}


@pytest.mark.parametrize("doc", DOCS, ids=_name)
def test_every_option_shown_with_a_command_is_that_commands(doc: Path):
    """``deepphoto CMD ... --opt`` in a line of prose or code: CMD takes --opt."""
    wrong = []
    for number, line in enumerate(doc.read_text(encoding="utf-8").splitlines(), 1):
        for m in re.finditer(r"deepphoto ([a-z][a-z-]+)([^`\n]*)", line):
            command = m.group(1)
            if command not in COMMANDS:
                continue
            shown = re.split(r"\s#\s|[;|]|\bthen\b", m.group(2))[0]
            options = _options(command)
            wrong += [f"{_name(doc)}:{number}: {command} has no {o}" for o in OPTION.findall(shown) if o not in options]
    assert not wrong, "\n".join(wrong)


def test_every_option_the_readme_names_exists():
    known = set().union(*(_options(command) for command in COMMANDS)) | NOT_OURS
    unknown = sorted({o for o in OPTION.findall(README.read_text(encoding="utf-8")) if o not in known})
    assert not unknown, f"README.md names options no command has: {unknown}"


def test_make_bench_takes_as_long_as_the_readme_says():
    report = (ROOT / "docs" / "benchmark" / "report.md").read_text(encoding="utf-8")
    seconds = float(re.search(r"Generated by `deepphoto bench[^`]*` in (\d+) s", report).group(1))
    said = [int(m) for m in re.findall(r"`?make bench`?[^.]{0,80}?about (\d+) minutes", README.read_text())]
    assert said, "the README no longer says how long make bench takes"
    for minutes in said:
        assert abs(minutes * 60 - seconds) <= 90, f"README: about {minutes} minutes; report: {seconds:.0f} s"
