"""The batch itself: inputs expanded, videos planned, work handed to Ray actors, retried, joined, recorded.

Without an address an embedded Ray starts on this machine; ``auto`` or ``ray://HOST:PORT`` joins an
existing cluster (every node sees the inputs and the output folder at the same paths and has
DeepPhoto installed). The unit of work is a chunk of a video or one photo, handed to whichever
worker is free. A call that raises is tried again (a damaged file, which would fail the same way,
is reported at once); a worker that dies is replaced and its call tried again; after ``retries``
further tries the input is reported as failed and the batch goes on. A finished output is renamed
into place and recorded in the manifest at once, so an interrupted batch resumes where it stopped;
a video's finished chunks are kept until it is joined (``batch.kept``), so one stopped midway
resumes from its first unfinished chunk.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
from tqdm import tqdm

from deepphoto.batch.chunks import ChunkResult, VideoPlan, plan_video, probe_video
from deepphoto.batch.cluster import (
    UNUSABLE,
    WORK_FOLDER,
    clean_stale_work,
    connect,
    failure,
    remove_work,
    work_folder,
    worker_shape,
)
from deepphoto.batch.inputs import PHOTO_SUFFIXES, WorkItem, expand_inputs, passed_over_note
from deepphoto.batch.join import finish_video
from deepphoto.batch.kept import KeptChunks, identity, sweep_kept
from deepphoto.batch.manifest import MANIFEST_NAME, Manifest, settings_hash
from deepphoto.batch.report import RESUMED, BatchReport, Outcome, resumed_note
from deepphoto.errors import DeepPhotoError, bar_width, caught_warnings, progress_shown
from deepphoto.frames import check_photo
from deepphoto.settings import IMAGE_SUFFIXES, Settings, counted
from deepphoto.stream.animation import has_frames
from deepphoto.stream.output_safety import DISK_FULL, cannot_write, move_into_place, same_file
from deepphoto.stream.stopping import ending_signals, signals_held
from deepphoto.stream.video_container import video_by_content


@dataclass
class BatchOptions:
    out: Path
    workers: int | None = None  # None: as many as the cluster's CPUs allow
    address: str | None = None  # None: an embedded Ray on this machine
    cpus_per_worker: float | None = None  # None: 2, or fewer where the machines have fewer
    gpus_per_worker: float = 0.0
    chunk_seconds: float = 60.0
    warmup_seconds: float = 3.0
    retries: int = 2  # tries again of a failed call, after the first
    overwrite: bool = False
    progress: bool = True
    # Photos painted at this fraction of their size (the command: 1 as edit paints them, unless
    # --style-scale is given); None: the settings' style_scale, as videos.
    photo_style_scale: float | None = None


@dataclass
class Task:
    item: int  # index into the items
    chunk: int  # chunk index; -1 for a photo
    attempt: int = 0

    def key(self) -> str:
        return f"{self.item}:{self.chunk}:{self.attempt}"


@dataclass
class ItemState:
    item: WorkItem
    estimate: int = 1  # frames, until planned
    plan: VideoPlan | None = None
    results: dict[int, ChunkResult] = field(default_factory=dict)
    started: float = 0.0
    finished: bool = False
    done: int = 0  # frames made so far (what the progress bar counts for it once it is finished)
    kept: KeptChunks | None = None  # a video's finished chunks, kept until it is joined (once planned)
    reused: int = 0  # chunks an earlier batch had finished, used again
    reused_frames: int = 0
    notes: list[str] = field(default_factory=list)  # its warnings (run's and edit's), each printed once


@dataclass
class Slot:
    actor: Any
    task: Task | None = None
    pid: int = 0
    host: str = ""


class BatchRunner:
    """One batch; ``run()`` returns its report. ``after_result(runner, task)``, when set, is called
    after each finished call (tests kill a worker from it)."""

    def __init__(self, inputs: list[str], settings: Settings, options: BatchOptions) -> None:
        self.inputs, self.settings, self.options = inputs, settings, options
        scale = options.photo_style_scale
        painted = scale is not None and settings.style is not None  # an effect has no scale
        self.photo_settings = settings.changed(style_scale=scale) if painted else settings
        self.out = Path(options.out).expanduser().resolve()
        self.slots: list[Slot] = []
        self.after_result = None
        self.report = BatchReport()
        self.outcomes: dict[str, Outcome] = {}
        self.states: dict[int, ItemState] = {}
        self.tasks: deque[Task] = deque()
        self.plans: dict[int, Future] = {}
        self.done_frames = 0
        self.bar: tqdm | None = None
        self.in_flight: dict[Any, Slot] = {}  # calls handed out, by their Ray reference

    # ------------------------------------------------------------------ before Ray

    def run(self) -> BatchReport:
        made = [p for p in (self.out, *self.out.parents) if not p.exists()]  # deepest first
        self._prepare_out()
        lock = None
        try:
            lock = _lock_folder(self.out)  # two batches into one folder: two sources of one name
            report = self._run(time.perf_counter())
            if report.interrupted:  # stopped before any output: the folders made for it go too
                _remove_empty([self.out / WORK_FOLDER, *made])
            return report
        except (DeepPhotoError, KeyboardInterrupt):  # refused or stopped early: no empty folders left
            _remove_empty([self.out / WORK_FOLDER, *made])
            raise
        finally:
            if lock is not None:
                os.close(lock)

    def _leads_out(self, item: WorkItem) -> str | None:
        """Why ``item``'s output may not be written: it is the source itself, or its folder is a link
        out of ``--out`` (into an input folder, say), so even ``--overwrite`` cannot replace a source
        or write beside one; None when it is inside ``--out``."""
        if same_file(item.output, item.source):
            return f"{item.output}: is the source itself (through a link): give another --out"
        parent = Path(item.output).parent.resolve()
        if parent != self.out and self.out not in parent.parents:
            return f"{item.output}: its folder is a link out of --out (to {parent}): give another --out"
        return None

    def _run(self, started: float) -> BatchReport:
        self.manifest = Manifest(self.out)
        left_out: list[Path] = []
        passed_over: list[Path] = []
        moved: dict[str, str] = {}  # sources of the manifest moved since (a folder renamed): new -> old path
        items, problems = expand_inputs(
            self.inputs, self.out, self.manifest.outputs(), left_out, passed_over, self.manifest.made_from(), moved
        )
        self.manifest.rename(moved)
        if not items:  # nothing to work on at all: a one-line error, not a table
            first = problems[0] if problems else None
            raise DeepPhotoError(f"{first.source}: {first.reason}" if first else "no inputs given")
        self.outcomes = {p.source: Outcome(p.source, "failed", reason=p.reason) for p in problems}
        if left_out:
            names = ", ".join(self._name(f) for f in left_out)
            self.report.notes.append(f"left out {names}: an earlier batch's output (holds {MANIFEST_NAME})")
        if passed_over:  # a stray text or document: said, but never a reason to refuse the batch
            self.report.notes.append(passed_over_note(passed_over, self._name))
        self.digests = {"video": settings_hash(self.settings), "image": settings_hash(self.photo_settings)}
        clean_stale_work(self.out)
        for i, item in enumerate(items):
            if escape := self._leads_out(item):  # a folder under --out that is a link to elsewhere
                self._fail(ItemState(item), escape)
            elif self.manifest.done(item, self.digests[item.kind]):
                note = "; ".join(n for n in ("done before, same settings", self.manifest.note(item)) if n)
                self.outcomes[item.key] = Outcome(self._name(item), "skipped", str(item.output), note=note)
            elif os.path.lexists(item.output) and not (self.options.overwrite or self.manifest.owns(item)):
                self._fail(ItemState(item), f"{item.output}: already exists (use --overwrite to replace it)")
            elif item.kind == "video":
                try:  # a file that is no video fails here, without starting Ray
                    with caught_warnings() as said:  # told once with the workers' (opening it again)
                        self.states[i] = ItemState(item, estimate=probe_video(item.source))
                    if item.source.suffix.lower() in PHOTO_SUFFIXES:  # played, as run plays it, and said so
                        said.insert(0, f"is a video ({video_by_content(item.source)}), not an image; read as a video")
                    self._warned(self.states[i], said)
                except DeepPhotoError as exc:
                    self._fail(ItemState(item), str(exc))
            else:
                try:  # a file that is no readable photo fails here too, without starting Ray
                    with caught_warnings() as said:
                        check_photo(item.source)
                        self.states[i] = ItemState(item)
                    self._warned(self.states[i], said)
                except DeepPhotoError as exc:
                    self._fail(ItemState(item), str(exc))
        planned = {str(st.item.source) for st in self.states.values() if st.item.kind == "video"}
        sweep_kept(self.out, planned, {str(item.source) for item in items} - planned)
        if self.states:
            with ending_signals():
                self._build_engines_here()
                self._process()
        self.report.outcomes = [self.outcomes[k] for k in [p.source for p in problems] + [it.key for it in items]]
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _build_engines_here(self) -> None:
        """The workers' networks opened once here first, where the workers are this machine's (Ray
        started here, on its CPUs), so that the engines they build on a first batch (LightNet's
        INT8: a minute or more, 1.4 GB) are built once, and said with their progress, not by
        every worker at the same time out of sight (Ray's workers' lines are not shown)."""
        if self.options.address is not None or self.options.gpus_per_worker:
            return  # other machines' caches and CPUs; a GPU: its engines as the workers build them
        from deepphoto.pipeline import Pipeline

        Pipeline(self.settings).close()

    def _prepare_out(self) -> None:
        if self.out.exists() and not self.out.is_dir():
            raise DeepPhotoError(f"{self.out}: exists and is not a folder")
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DeepPhotoError(f"{self.out}: cannot create the output folder ({exc.strerror or exc})") from None
        probe = self.out / f".deepphoto-write-test-{id(self)}"
        try:
            probe.touch()
            probe.unlink()
        except OSError:
            raise DeepPhotoError(f"{self.out}: output folder is not writable") from None

    def _name(self, item: WorkItem | Path) -> str:
        path = item.source if isinstance(item, WorkItem) else Path(item).absolute()
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def _fail(self, st: ItemState, reason: str) -> None:
        st.finished = True
        self.outcomes[st.item.key] = Outcome(self._name(st.item), "failed", reason=reason)
        self._retotal()

    def _stateful_look(self) -> bool:
        """A looping background video cannot start mid-stream as in one run: such videos are not cut."""
        bg = self.settings.background
        return self.settings.effect == "replace" and bg is not None and bg.suffix.lower() not in IMAGE_SUFFIXES

    # ------------------------------------------------------------------ with Ray

    def _process(self) -> None:
        import ray

        started_ray = connect(self.options.address)
        self.work = work_folder(self.out)
        planner = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deepphoto-plan")
        self.bar = None
        try:
            with ending_signals():  # again: an embedded Ray has just put in its own SIGTERM handler
                self._start(planner)
                self._loop()
        except KeyboardInterrupt:
            self.report.interrupted = True
            self._keep_finished()
            self._say_stopping()
        finally:
            planner.shutdown(wait=True, cancel_futures=True)
            if self.bar is not None:
                self.bar.close()
            self._collect_usage()
            for slot in self.slots:
                try:
                    ray.kill(slot.actor)
                except Exception:  # already gone
                    pass
            self.slots = []
            self._drop_unused_kept()
            remove_work(self.work)
            if started_ray:
                ray.shutdown()
        for st in self.states.values():
            if st.item.key not in self.outcomes:
                reason = "interrupted"
                if st.results and st.plan is not None:  # what the same command again starts from
                    reason += f" ({len(st.results)} of {counted(len(st.plan.chunks), 'chunk')} kept)"
                self.outcomes[st.item.key] = Outcome(self._name(st.item), "interrupted", reason=reason)

    def _keep_finished(self) -> None:
        """At a stop: the chunks that were finished when it came, their results not read yet, kept too
        (asked without waiting; a second stop ends the asking)."""
        import ray

        if not self.in_flight:
            return
        try:
            done, _ = ray.wait(list(self.in_flight), num_returns=len(self.in_flight), timeout=0)
            for ref in done:
                task = self.in_flight[ref].task
                st = self.states[task.item] if task is not None else None
                if st is None or st.finished or st.kept is None or task.chunk < 0:
                    continue
                try:
                    value = ray.get(ref, timeout=5)
                except Exception:  # noqa: BLE001 - failed or lost: nothing to keep
                    continue
                if isinstance(value, ChunkResult):
                    st.results[task.chunk] = value
                    st.kept.keep(st.plan.chunks[task.chunk], value)
        except (KeyboardInterrupt, Exception):  # noqa: BLE001 - a second stop, or Ray already going
            pass

    def _drop_unused_kept(self) -> None:
        """The kept-chunk folders of videos stopped before any chunk was finished removed (so a stop
        leaves no hidden folder that holds nothing to resume)."""
        for st in self.states.values():
            if st.item.kind == "video" and not st.finished:
                kept = st.kept or KeptChunks(self.out, st.item.source)
                if not kept.chunk_files():
                    kept.remove()

    def _warned(self, st: ItemState, notes: list[str] | tuple[str, ...]) -> None:
        """What a worker (or the driver, opening the file) was warned of about ``st``'s file, as
        ``run`` or ``edit`` would have printed it: each printed once, named by the file (a long
        video's chunks say the same), and kept for its line of the table."""
        for note in notes:
            if note and note not in st.notes:
                st.notes.append(note)
                self._say(f"deepphoto: warning: {self._name(st.item)}: {note}")

    def _say(self, line: str) -> None:
        """One line on stderr, above the progress bar where one is drawn."""
        if self.bar is not None and not self.bar.disable:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr, flush=True)

    def _say_stopping(self) -> None:
        """One line at once on a stop (Ctrl-C, SIGTERM, SIGHUP): the workers and Ray take seconds to
        shut down, and the batch said nothing meanwhile."""
        if self.bar is not None:
            self.bar.close()  # the line below the bar, not through it
        kept = sum(1 for st in self.states.values() if self.outcomes.get(st.item.key, Outcome("", "")).status == "done")
        unfinished = [st for st in self.states.values() if not st.finished]
        chunks = sum(len(st.results) for st in unfinished if st.plan is not None)
        held = f"; {counted(chunks, 'finished chunk')} of them kept" if chunks else ""
        print(
            f"deepphoto: stopping: {counted(kept, 'finished output')} kept, {counted(len(unfinished), 'input')} "
            f"unfinished{held} ({RESUMED}); shutting Ray down...",
            file=sys.stderr,
            flush=True,
        )

    def _start(self, planner: ThreadPoolExecutor) -> None:
        """Workers started, videos handed to the planner, the progress bar made."""
        from deepphoto.batch.actors import ProgressBoard

        self.board = ProgressBoard.remote()
        n, self.per, self.gpu = worker_shape(
            self.options.workers, self.options.cpus_per_worker, self.options.gpus_per_worker
        )
        self.report.workers = n
        self.slots = [self._start_worker() for _ in range(n)]
        ready = {s.actor.ready.remote(): s for s in self.slots}  # networks open while videos are planned
        for i, st in self.states.items():
            if st.item.kind == "image":
                self.tasks.append(Task(i, -1))
            else:
                o = self.options
                split = not self._stateful_look()
                args = (st.item.source, o.chunk_seconds, o.warmup_seconds, self.settings.seg_every, split)
                self.plans[i] = planner.submit(self._plan, st.item, args)
        self.work.mkdir(parents=True, exist_ok=True)
        self._check_workers(ready)
        total = sum(st.estimate for st in self.states.values())
        shown = progress_shown(self.options.progress)  # not into a log file: one line a redraw
        self.bar = tqdm(total=total, desc="batch", unit="frame", disable=not shown, **bar_width())

    def _collect_usage(self) -> None:
        """The workers' CPU time, asked of those still running (briefly: a stuck one is not waited for)."""
        import ray

        refs = [s.actor.usage.remote() for s in self.slots]
        done, _ = ray.wait(refs, num_returns=len(refs), timeout=5.0) if refs else ([], [])
        for ref in done:
            try:
                self.report.worker_cpu_seconds += float(ray.get(ref))
            except ray.exceptions.RayError:
                pass

    def _start_worker(self) -> Slot:
        from deepphoto.batch.actors import BatchWorker

        scale = self.photo_settings.style_scale
        shape = BatchWorker.options(num_cpus=self.per, num_gpus=self.gpu)
        return Slot(shape.remote(self.settings, self.board, scale))

    def _check_workers(self, ready: dict) -> None:
        import ray

        errors = []
        for ref, slot in ready.items():
            try:
                info = ray.get(ref, timeout=600)
            except ray.exceptions.GetTimeoutError:
                raise DeepPhotoError("Ray could not place the workers in 10 minutes (too few CPUs or GPUs?)") from None
            except ray.exceptions.RayError as exc:  # on a cluster: often DeepPhoto missing on a node
                errors.append(
                    f"a worker died while starting ({type(exc).__name__}; is deepphoto installed on every node?)"
                )
                slot.actor = None
                continue
            slot.pid, slot.host = int(info["pid"]), str(info["host"])
            if info["error"]:
                errors.append(str(info["error"]))
                slot.actor = None
        self.slots = [s for s in self.slots if s.actor is not None]
        if not self.slots:
            raise DeepPhotoError(f"no worker could open the pipeline: {errors[0]}")

    def _plan(
        self, item: WorkItem, args: tuple
    ) -> tuple[VideoPlan, KeptChunks, dict[int, ChunkResult], str, list[str]]:
        """In a planner thread: the video's chunks, its kept-chunk folder made ready (what was kept for
        other settings or an older source discarded: the line that says so), the chunks an
        earlier batch finished that can be used again, and the warnings opening the video gave."""
        with caught_warnings() as warned:  # printed by the main thread, above the bar
            plan = plan_video(*args)
        kept = KeptChunks(self.out, item.source)
        cut = {"chunk_seconds": args[1], "warmup_seconds": args[2], "split": args[4]}
        try:
            said = kept.open(identity(item, self.digests["video"], cut))
            return plan, kept, kept.reusable(plan, item.output.suffix), said, warned
        except OSError as exc:
            raise cannot_write(item.output, exc) from None

    def _collect_plans(self) -> None:
        """Chunks of the videos planned so far join the queue, in input order."""
        for i in list(self.plans):
            future = self.plans[i]
            if not future.done():
                break  # keep input order: later videos wait for earlier ones
            del self.plans[i]
            st = self.states[i]
            try:
                st.plan, st.kept, reused, said, warned = future.result()
            except Exception as exc:  # one file that cannot be planned never stops the batch
                self._fail(st, str(exc) if isinstance(exc, DeepPhotoError) else f"{type(exc).__name__}: {exc}")
                self._retotal()
                continue
            if said:
                self._say(f"deepphoto: {self._name(st.item)}: {said}")
            self._warned(st, warned)
            st.estimate = st.plan.frames
            if reused:
                self._reuse(st, reused)
            self.tasks.extend(Task(i, c.index) for c in st.plan.chunks if c.index not in reused)
            self._retotal()
            if len(st.results) == len(st.plan.chunks):  # every chunk kept: joined at once
                st.started = time.perf_counter()
                self._video_done(st, Task(i, 0))

    def _reuse(self, st: ItemState, reused: dict[int, ChunkResult]) -> None:
        """Chunks an earlier batch finished (and kept) counted as made: in the bar, said beside it."""
        st.results.update(reused)
        for index in sorted(reused):  # what their renders warned of, told as this batch's
            self._warned(st, reused[index].notes)
        st.reused = len(reused)
        st.reused_frames = frames = sum(r.frames for r in reused.values())
        st.done += frames
        self.done_frames += frames
        self.report.reused_chunks += len(reused)
        self.report.resumed_chunks += len(st.plan.chunks)
        if self.bar is not None and not self.bar.disable:
            self.bar.initial += frames  # the rate and the time left: of the frames made now only
            self.bar.n = self.done_frames
            self.bar.set_postfix_str(self.report.resumed())

    def _retotal(self) -> None:
        """The bar's total: the frames made of each finished input (a photo or video that failed, one
        with frames it could not decode), the estimate of the others, so that a batch ends at it."""
        if self.bar is None:
            return
        # none at all (every input failed): kept, as 0 is no total to tqdm ('batch: : 0frame')
        self.bar.total = sum(st.done if st.finished else st.estimate for st in self.states.values()) or self.bar.total
        self.bar.refresh()

    def _path(self, task: Task) -> Path:
        st = self.states[task.item]
        if task.chunk >= 0 and st.kept is not None:  # a video's chunks: kept until it is joined
            return st.kept.path(task.chunk, st.item.output.suffix)
        return self.work / f"{task.item:06d}" / f"image{st.item.output.suffix}"

    def _hand_out(self, in_flight: dict) -> None:
        for slot in self.slots:
            while slot.task is None and self.tasks:
                task = self.tasks.popleft()
                st = self.states[task.item]
                if st.finished:
                    continue
                st.started = st.started or time.perf_counter()
                path = self._path(task)
                path.parent.mkdir(parents=True, exist_ok=True)
                if task.chunk < 0:
                    ref = slot.actor.image.remote(task.key(), str(st.item.source), str(path))
                else:
                    ref = slot.actor.chunk.remote(task.key(), st.plan, st.plan.chunks[task.chunk], str(path))
                slot.task = task
                in_flight[ref] = slot

    def _loop(self) -> None:
        import ray

        in_flight = self.in_flight
        last_poll = 0.0
        self.unusable = ""
        self.replacements = 2 * len(self.slots) + self.options.retries + 1
        while self.tasks or in_flight or self.plans:
            self._collect_plans()
            self._hand_out(in_flight)
            if not in_flight:
                if self.plans:
                    wait([next(iter(self.plans.values()))], timeout=0.3)  # for the next plan
                    continue
                if self.tasks and not self.slots:
                    for t in self.tasks:
                        if not self.states[t.item].finished:
                            self._fail(self.states[t.item], self.unusable or "no worker left")
                    self.tasks.clear()
                break
            done, _ = ray.wait(list(in_flight), num_returns=1, timeout=0.3)
            now = time.monotonic()
            if done or now - last_poll > 0.5:
                last_poll = now
                counts = ray.get(self.board.snapshot.remote())
                running = sum(counts.get(s.task.key(), 0) for s in self.slots if s.task is not None)
                self.bar.n = self.done_frames + running
                self.bar.refresh()
            for ref in done:
                slot = in_flight.pop(ref)
                task, slot.task = slot.task, None
                self.board.forget.remote([task.key()])
                try:
                    value = ray.get(ref)
                except Exception as exc:  # RayTaskError, RayActorError, ...
                    self._on_error(task, slot, exc)
                    continue
                self._on_result(task, value)
                if self.after_result is not None:
                    self.after_result(self, task)
        self.bar.n = self.done_frames
        self.bar.refresh()

    def _on_error(self, task: Task, slot: Slot, exc: Exception) -> None:
        import ray

        reason, again, worker_gone = failure(exc)
        reason = self._as_output(task, reason)
        unusable = reason.startswith(UNUSABLE)
        if worker_gone:
            self.slots.remove(slot)
            try:
                ray.kill(slot.actor)
            except Exception:  # already gone
                pass
            if unusable:
                self.unusable = reason
            else:
                self.report.workers_lost += 1
                if self.replacements > 0:
                    self.replacements -= 1
                    self.slots.append(self._start_worker())
        st = self.states[task.item]
        if st.finished:
            return
        if unusable:  # not this file's fault: another worker takes it, same attempt
            self.tasks.appendleft(task)
        elif again and task.attempt < self.options.retries:
            self.report.retried += 1
            self.tasks.appendleft(Task(task.item, task.chunk, task.attempt + 1))
        else:
            full = ": the disk is full (" in reason  # (cannot_write's words)
            tries = f" (after {task.attempt + 1} tries)" if task.attempt else ""
            self._fail(st, reason + tries + (self._kept_for_later(st) if full else ""))
            shutil.rmtree(self.work / f"{task.item:06d}", ignore_errors=True)
            if st.kept is not None and not full:  # a failed video is rendered whole again next time
                st.kept.remove()

    def _kept_for_later(self, st: ItemState) -> str:
        """What a video that failed for a full disk keeps: its finished chunks (rendered again, they
        were hours lost once the user had made room), said as the reason's end ('' for none)."""
        if st.kept is None or st.plan is None:
            return ""
        recorded = len(st.kept.chunk_files())  # not a chunk whose record the full disk refused
        if not recorded:
            return ""
        chunks = counted(len(st.plan.chunks), "chunk")
        return f"; {recorded} of {chunks} kept: the same command again, with room made, resumes it"

    def _as_output(self, task: Task, reason: str) -> str:
        """A reason that names a file of the item's hidden work folder (a chunk, a chunk's temporary
        file) names the item's output instead, as the user knows it."""
        st = self.states[task.item]
        for where in (self.work / f"{task.item:06d}", st.kept.folder if st.kept is not None else None):
            folder = f"{where}{os.sep}"
            if where is not None and reason.startswith(folder):
                _, said, rest = reason[len(folder) :].partition(": ")
                if said:
                    return f"{st.item.output}: {rest}"
        return reason

    def _on_result(self, task: Task, value: Any) -> None:
        st = self.states[task.item]
        if st.finished:
            return
        if task.chunk < 0:
            frames, said = (value, []) if isinstance(value, int) else value  # (1, what edit would warn of)
            self._warned(st, [said] if isinstance(said, str) else said)
            self.done_frames += int(frames)
            st.done += int(frames)
            animation = "an animation: its first frame ('deepphoto run' paints them all)"
            note = "; ".join(n for n in (*st.notes, animation if has_frames(st.item.source) else "") if n)
            self._finish(st, task, self._path(task), int(frames), note)
            return
        st.results[task.chunk] = value
        self._warned(st, value.notes)
        if st.kept is not None:  # recorded: a batch stopped from now on keeps it
            st.kept.keep(st.plan.chunks[task.chunk], value)
        self.done_frames += value.frames
        st.done += value.frames
        if len(st.results) < len(st.plan.chunks):
            return
        self._video_done(st, task)

    def _video_done(self, st: ItemState, task: Task) -> None:
        """Every chunk of a video made (or kept from an earlier batch): joined, with what they said."""
        plan = st.plan
        results = [st.results[c.index] for c in plan.chunks]
        cut = next((r.ended_early for r in results if r.ended_early), "")
        notes = [n for n in st.notes if not (cut and n.startswith(cut))]  # the cut as the table says it, below
        if bad := sum(r.bad_packets for r in results):
            notes.append(f"{counted(bad, 'damaged packet')} skipped")
        if failed := sum(r.failed for r in results):
            notes.append(f"{counted(failed, 'frame')} passed through after errors")
        frames = sum(r.frames for r in results)
        if cut:  # as run says it
            notes.append(f"{cut}: the file is cut short or damaged; the frames before that are used")
        elif frames < plan.frames:
            notes.append(f"{plan.frames - frames} of {counted(plan.frames, 'frame')} could not be decoded")
        if st.reused:
            notes.append(resumed_note(st.reused, len(plan.chunks)))
        self._finish(st, task, results, frames, "; ".join(notes))

    def _finish(self, st: ItemState, task: Task, made: Path | list[ChunkResult], frames: int, note: str) -> None:
        """The output renamed into place (a video joined from its chunks first) and recorded. A
        video that cannot be joined for a full disk keeps its chunks (``_kept_for_later``)."""
        st.finished = True
        item = st.item
        full = False
        try:
            with signals_held():  # the rename and the manifest entry go together
                item.output.parent.mkdir(parents=True, exist_ok=True)
                self.manifest.claim(item)
                if isinstance(made, Path):
                    move_into_place(made, item.output)
                else:
                    plan = st.plan
                    audio = plan.source if plan.has_audio or plan.carries_more else None  # and its tags
                    shifts = [c.shift for c in plan.chunks]
                    with caught_warnings() as said:
                        audio_note = finish_video([r.path for r in made], shifts, plan.time_base, audio, item.output)
                    self._warned(st, said)
                    note = "; ".join(n for n in (audio_note, note) if n)
                seconds = time.perf_counter() - st.started
                kept = "; ".join(n for n in note.split("; ") if not n.startswith("resumed: "))  # of this batch only
                self.manifest.record(item, self.digests[item.kind], frames, seconds, kept)
                # recorded as done before the hold ends: a stop that arrived meanwhile is raised then
                if st.plan is not None and st.plan.fps:  # made now: what the workers' CPU time went to
                    self.report.video_seconds += max(0, frames - st.reused_frames) / float(st.plan.fps)
                self.report.reused_frames += st.reused_frames
                done = Outcome(self._name(item), "done", str(item.output), frames=frames, seconds=seconds, note=note)
                self.outcomes[item.key] = done
        except (DeepPhotoError, OSError, ValueError, av.error.FFmpegError) as exc:
            if isinstance(exc, OSError):  # a full disk: said as such, without the temporary file's name
                full = exc.errno in DISK_FULL
                self._fail(st, str(cannot_write(item.output, exc)) + (self._kept_for_later(st) if full else ""))
            else:
                self._fail(st, f"{item.output}: cannot be written ({' '.join(str(exc).split())})")
            return
        finally:
            shutil.rmtree(self.work / f"{task.item:06d}", ignore_errors=True)
            if st.kept is not None and not full:  # joined, or failed: its chunks are not needed again
                st.kept.remove()
            self._retotal()


def run_batch(inputs: list[str], settings: Settings, options: BatchOptions) -> BatchReport:
    """Every input styled with ``settings`` into ``options.out`` (see the module's description)."""
    return BatchRunner(inputs, settings, options).run()


def _remove_empty(folders: list[Path]) -> None:
    """Each of ``folders`` (deepest first) that is empty removed; the others kept."""
    for folder in folders:
        try:
            folder.rmdir()  # only when empty
        except OSError:
            pass


def _lock_folder(folder: Path) -> int | None:
    """An exclusive lock on the output folder for as long as the returned descriptor is open, or a
    one-line error when another batch holds it (one machine: not across a network file system);
    None where the system has no such locks (Windows)."""
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise DeepPhotoError(
            f"{folder}: another batch is writing into this folder (let it finish, or give another --out)"
        ) from None
    return fd
