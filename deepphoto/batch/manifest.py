"""What a batch has finished, kept in the output folder so that running it again skips that work.

One JSON file, ``deepphoto-batch.json``: for every finished input its path, size, modification
time, the hash of the settings it was made with, and its output. An input counts as done only
while all of these still hold and the output file exists; anything else is done again. The file
is replaced atomically (written beside it, flushed, renamed), so a batch killed at any moment
leaves either the old manifest or the new one.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict
from pathlib import Path

from deepphoto.batch.inputs import MANIFEST_NAME, WorkItem
from deepphoto.errors import DeepPhotoError
from deepphoto.settings import Settings
from deepphoto.stream.output_safety import replace_with_text

FORMAT = 1
# Changes whenever what a batch writes for the same settings changes (the cut, the encoding;
# batch-2: photos painted as edit paints them, the person filled in).
RECIPE = "batch-2"


def models_in_use(settings: Settings) -> dict[str, str]:
    """SHA-256 of the weights that decide the output: the shipped networks, and each user style the
    look names (a style learnt again with ``add-style --replace`` under its name is new work)."""
    from deepphoto.assets import sha256_of
    from deepphoto.models.shipped import SHIPPED, user_styles_for
    from deepphoto.settings import parse_blend

    used = {name: sha256_of(path) for name, path in SHIPPED.items() if path.is_file()}
    if settings.style:
        named = {name for name, _ in parse_blend(settings.style)}
        used |= {f"style:{s.name}": sha256_of(s.path) for s in user_styles_for() if s.name in named}
    return used


def settings_hash(settings: Settings) -> str:
    """A short digest of every setting that decides the output, of the weights it is made with
    (``models_in_use``) and of the batch recipe."""
    values = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
    if settings.background is not None and settings.background.is_file():
        st = settings.background.stat()  # a new background picture under the same name is new work
        values["background_file"] = [st.st_size, st.st_mtime_ns]
    models = models_in_use(settings)
    text = json.dumps({"recipe": RECIPE, "settings": values, "models": models}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# The fields an entry is read by, and their types (bool is no int here: JSON's true is not a size).
FIELDS: dict[str, type] = {"status": str, "size": int, "mtime_ns": int, "settings": str, "output": str}


def _entries(data: object) -> dict[str, dict[str, object]]:
    """The entries of a manifest file's JSON, checked: a file edited by hand into another shape is
    refused (TypeError, KeyError: the caller's one-line error) rather than crashing the batch later."""
    if not isinstance(data, dict):
        raise TypeError("not a JSON object")
    if data.get("format", FORMAT) != FORMAT:
        raise TypeError(f"format {data['format']!r}, not {FORMAT}")
    entries = data["entries"]
    if not isinstance(entries, dict):
        raise TypeError("entries is not an object")
    for key, entry in entries.items():
        if not isinstance(entry, dict):
            raise TypeError(f"entry {key!r} is not an object")
        for name, kind in FIELDS.items():
            value = entry.get(name, kind())
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"entry {key!r}: {name} is not a {'string' if kind is str else 'whole number'}")
    return entries


def _text(key: str, entry: dict[str, object]) -> str:
    """One entry of the manifest's JSON, on one line."""
    return f"{json.dumps(key)}: {json.dumps(entry, sort_keys=True)}"


def _rebased(entry: dict[str, object], was: Path, here: Path) -> dict[str, object]:
    """``entry`` with its output, written into the folder ``was``, in the folder ``here`` instead."""
    output = entry.get("output")
    if not isinstance(output, str) or not Path(output).is_relative_to(was):
        return entry
    return {**entry, "output": str(here / Path(output).relative_to(was))}


class Manifest:
    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / MANIFEST_NAME
        self.folder = Path(folder).resolve()  # written in the file: an output folder moved is known as such
        self.entries: dict[str, dict[str, object]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.entries = _entries(data)
                was = data.get("folder")
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise DeepPhotoError(
                    f"{self.path}: not a readable batch manifest ({exc}); move it away to start afresh"
                ) from None
            if isinstance(was, str) and Path(was) != self.folder:  # moved (a drive mounted elsewhere): its outputs too
                self.entries = {k: _rebased(e, Path(was), self.folder) for k, e in self.entries.items()}
        # each entry's JSON text and each output's source, kept as entries change: a save joins the
        # texts (it serialised every entry, in Python, twice per input: 30 s of writes over a batch
        # of 2,000 inputs; a review)
        self._texts = {k: _text(k, e) for k, e in self.entries.items()}
        self._owner = {str(e["output"]): k for k, e in self.entries.items() if isinstance(e.get("output"), str)}

    def done(self, item: WorkItem, digest: str) -> bool:
        """Whether ``item`` was finished with these settings and neither it nor its output changed since."""
        e = self.entries.get(item.key)
        return bool(
            e
            and e.get("status") == "done"
            and e.get("size") == item.size
            and e.get("mtime_ns") == item.mtime_ns
            and e.get("settings") == digest
            and e.get("output") == str(item.output)
            and item.output.is_file()
        )

    def owns(self, item: WorkItem) -> bool:
        """Whether ``item``'s output was written for its source by an earlier batch into this folder
        (so may be replaced); another source's result never is, without --overwrite."""
        return self.entries.get(item.key, {}).get("output") == str(item.output)

    def note(self, item: WorkItem) -> str:
        """What the table said of ``item`` when it was done ('' if nothing)."""
        note = self.entries.get(item.key, {}).get("note", "")
        return note if isinstance(note, str) else ""

    def outputs(self) -> dict[str, str]:
        """Source -> output, for every source an earlier batch wrote (or began writing)."""
        return {k: str(e["output"]) for k, e in self.entries.items() if isinstance(e.get("output"), str)}

    def made_from(self) -> dict[str, tuple[int, int]]:
        """Source -> (size, mtime_ns) of every entry (what tells a moved source: see ``expand_inputs``)."""
        return {k: (int(e.get("size", -1)), int(e.get("mtime_ns", -1))) for k, e in self.entries.items()}

    def rename(self, moved: dict[str, str]) -> None:
        """Entries of sources moved (new -> old: a folder renamed, a drive mounted elsewhere) kept under
        their new paths, so that a batch of them run again skips what is done."""
        for new, old in moved.items():
            if old in self.entries and new not in self.entries:
                entry = self.entries[old]
                self._drop(old)
                self._set(new, entry)
        if moved:
            self.save()

    def claim(self, item: WorkItem) -> None:
        """Note, before an output is renamed into place, that this batch is writing it (so a batch
        killed between the rename and ``record`` may replace it next time). Another source's entry
        for the same output (replaced with --overwrite) is dropped: its result is gone."""
        owner = self._owner.get(str(item.output))
        if owner is not None and owner != item.key:
            self._drop(owner)
        entry = dict(self.entries.get(item.key, {}))
        entry.update(status="writing", output=str(item.output))
        self._set(item.key, entry)
        self.save()

    def _set(self, key: str, entry: dict[str, object]) -> None:
        old = self.entries.get(key, {}).get("output")
        if isinstance(old, str) and self._owner.get(old) == key:
            del self._owner[old]
        self.entries[key] = entry
        self._texts[key] = _text(key, entry)
        if isinstance(entry.get("output"), str):
            self._owner[str(entry["output"])] = key

    def _drop(self, key: str) -> None:
        entry = self.entries.pop(key, {})
        self._texts.pop(key, None)
        if isinstance(entry.get("output"), str) and self._owner.get(str(entry["output"])) == key:
            del self._owner[str(entry["output"])]

    def record(self, item: WorkItem, digest: str, frames: int, seconds: float, note: str = "") -> None:
        """``item`` done: its output, what it was made from, and ``note`` (what the batch's table said
        of it: its warnings, audio not copied, ...; left out when there is none)."""
        self._set(
            item.key,
            {
                "status": "done",
                "size": item.size,
                "mtime_ns": item.mtime_ns,
                "settings": digest,
                "output": str(item.output),
                "kind": item.kind,
                "frames": frames,
                "seconds": round(seconds, 3),
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                **({"note": note} if note else {}),
            },
        )
        self.save()

    def save(self) -> None:
        body = ",\n".join(self._texts[k] for k in sorted(self._texts))
        folder = json.dumps(str(self.folder))  # where the outputs are: the folder moved, they are found
        text = f'{{"format": {FORMAT}, "folder": {folder}, "entries": {{\n{body}\n}}}}\n'  # one entry a line
        replace_with_text(self.path, text, sync=True)
