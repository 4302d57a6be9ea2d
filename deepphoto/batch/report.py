"""What a batch did, per input, and the table ``deepphoto batch`` prints at the end."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from deepphoto.settings import counted

# what a batch run again does with inputs a stop left unfinished (a video's finished chunks are kept)
RESUMED = "the same command again resumes the batch, a video from its first unfinished chunk"


def resumed_note(kept: int, chunks: int) -> str:
    return f"resumed: {kept} of {counted(chunks, 'chunk')} kept"


def shown_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: a CJK character or an emoji two, an accent that
    combines with the letter before it none (``len`` counted one each: the table's columns went
    askew after a name such as 日本.mp4)."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def padded(text: str, width: int) -> str:
    """``text`` left-aligned in ``width`` terminal columns."""
    return text + " " * max(0, width - shown_width(text))


@dataclass
class Outcome:
    source: str
    status: str  # done, skipped, failed, interrupted
    output: str = ""
    reason: str = ""  # one line, for failed and interrupted inputs
    frames: int = 0
    seconds: float = 0.0
    note: str = ""  # for done inputs: audio not copied, damaged packets skipped, ...


@dataclass
class BatchReport:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    interrupted: bool = False
    retried: int = 0  # calls tried again (after an error or a lost worker)
    workers_lost: int = 0
    worker_cpu_seconds: float = 0.0  # CPU time the workers used (those still alive at the end)
    video_seconds: float = 0.0  # running time of the videos done
    notes: list[str] = field(default_factory=list)  # one line each, above the summary: what was left out
    reused_chunks: int = 0  # chunks an earlier, stopped batch finished, used again
    resumed_chunks: int = 0  # all the chunks of the videos those belong to
    reused_frames: int = 0  # the frames of those, in the videos done (not made by this batch)

    def resumed(self) -> str:
        return resumed_note(self.reused_chunks, self.resumed_chunks) if self.reused_chunks else ""

    @property
    def cpu_per_video_minute(self) -> float:
        """Worker CPU seconds per minute of video done (0 when no video was done)."""
        return self.worker_cpu_seconds / (self.video_seconds / 60) if self.video_seconds else 0.0

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def frames(self) -> int:
        return sum(o.frames for o in self.outcomes if o.status == "done")

    def summary(self) -> str:
        made = self.frames - self.reused_frames  # the speed: of the frames made by this batch
        fps = made / self.seconds if self.seconds else 0.0
        text = (
            f"{counted(len(self.outcomes), 'input')}: {self.count('done')} done, {self.count('skipped')} skipped, "
            f"{self.count('failed')} failed"
        )
        if self.count("interrupted"):
            text += f", {self.count('interrupted')} not finished ({RESUMED})"
        finished = " of finished inputs" if self.count("interrupted") else ""  # the rest: kept chunks
        text += f"; {counted(self.frames, 'frame')}{finished}"
        if self.reused_frames:
            text += f" ({made} made now)"
        text += f" in {self.seconds:.1f} s ({fps:.1f} fps)"
        if self.workers:
            text += f" on {counted(self.workers, 'worker')}"
        if self.video_seconds and self.worker_cpu_seconds:
            text += (
                f"; workers used {self.worker_cpu_seconds:.0f} CPU-s for {self.video_seconds:.0f} s of video "
                f"({self.cpu_per_video_minute:.0f} CPU-s per minute of video)"
            )
        if self.reused_chunks:
            text += f"; {self.resumed()}"
        if self.retried or self.workers_lost:
            text += f"; {counted(self.retried, 'call')} retried, {counted(self.workers_lost, 'worker')} lost"
        return text

    def table(self) -> str:
        rows = [("status", "input", "frames", "seconds", "output / reason")]
        for o in self.outcomes:
            done = o.status == "done"
            text = o.output + (f" ({o.note})" if o.note else "") if o.status in ("done", "skipped") else o.reason
            rows.append((o.status, o.source, str(o.frames) if done else "-", f"{o.seconds:.1f}" if done else "-", text))
        w = [min(60, max(shown_width(r[i]) for r in rows)) for i in range(4)]
        lines = [f"{padded(r[0], w[0])}  {padded(r[1], w[1])}  {r[2]:>{w[2]}}  {r[3]:>{w[3]}}  {r[4]}" for r in rows]
        return "\n".join([*lines, *self.notes, self.summary()])
