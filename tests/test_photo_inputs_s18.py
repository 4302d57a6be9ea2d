"""Bugs found by a hunt with unusual photo inputs through ``deepphoto edit`` and ``deepphoto batch``,
and batch workers asked for that the machine cannot hold (they waited 10 minutes without a word)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError


def photo(path: Path, size: tuple[int, int] = (16, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((size[1], size[0], 3), 128, np.uint8))
    return path


# ---------------------------------------------------------------- batch: workers that do not fit


def _cluster(monkeypatch: pytest.MonkeyPatch, nodes: list[float]) -> None:
    ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": sum(nodes)})
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": c}} for c in nodes])


@pytest.mark.parametrize(("nodes", "workers", "per"), [([2.0], 3, 2.0), ([2.0], 2, 1.5), ([3.0, 3.0], 3, 2.0)])
def test_workers_and_cpus_per_worker_that_do_not_fit_are_refused(monkeypatch, nodes, workers, per):
    """--workers 3 --cpus-per-worker 2 on 2 CPUs: Ray placed one worker, the batch waited 10 minutes
    for the others and only then said so; now one line at once."""
    from deepphoto.batch.cluster import worker_shape

    _cluster(monkeypatch, nodes)
    with pytest.raises(DeepPhotoError, match=rf"--workers {workers} with --cpus-per-worker {per:g} needs"):
        worker_shape(workers, per, 0.0)


@pytest.mark.parametrize(
    ("nodes", "workers", "per", "expect"),
    [([2.0], 2, 1.0, 2), ([2.0], None, 1.0, 2), ([3.0, 3.0], None, 2.0, 2), ([2.0], 20, 0.1, 20), ([4.0], 1, 4.0, 1)],
)
def test_workers_that_fit_are_started(monkeypatch, nodes, workers, per, expect):
    """Those that fit are kept (2 // 0.1 is 19 in floating point; Ray places 20); by default no more
    workers than the machines can each hold (two 3-CPU machines hold two 2-CPU workers, not three)."""
    from deepphoto.batch.cluster import worker_shape

    _cluster(monkeypatch, nodes)
    assert worker_shape(workers, per, 0.0) == (expect, per, 0.0)


def test_workers_asked_for_more_gpus_than_the_cluster_holds_are_refused(monkeypatch):
    """--workers 3 --gpus-per-worker 1 on one GPU: two of them would have waited 10 minutes."""
    ray = pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.cluster import worker_shape

    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 16.0, "GPU": 1.0})
    monkeypatch.setattr(ray, "nodes", lambda: [{"Alive": True, "Resources": {"CPU": 16.0, "GPU": 1.0}}])
    with pytest.raises(DeepPhotoError, match="--workers 3 with --gpus-per-worker 1 needs 3 GPUs"):
        worker_shape(3, None, 1.0)
    assert worker_shape(2, None, 0.5)[0] == 2  # two halves of one GPU fit
    assert worker_shape(None, 1.0, 0.5) == (2, 1.0, 0.5)
    assert worker_shape(None, 1.0, 0.1)[0] == 10  # Ray places ten tenths of a GPU (1 // 0.1 is 9.0)
    two = [{"Alive": True, "Resources": {"CPU": 16.0, "GPU": 0.5}}] * 2  # half a GPU on each of two machines
    monkeypatch.setattr(ray, "cluster_resources", lambda: {"CPU": 32.0, "GPU": 1.0})
    monkeypatch.setattr(ray, "nodes", lambda: two)
    assert worker_shape(None, 1.0, 0.4)[0] == 2  # one a machine (the total's 1 // 0.4 said 2 as well)
    assert worker_shape(None, 1.0, 0.3)[0] == 2  # the total's 1 // 0.3 said 3: the third would wait


def test_batch_refuses_workers_that_do_not_fit_before_ray_starts(tmp_path, monkeypatch, capsys):
    """The command says it in one line with status 2, starting neither Ray nor the output folder."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    import deepphoto.batch.cluster as cluster
    import deepphoto.batch.runner as runner

    monkeypatch.setattr(cluster, "local_cpus", lambda: 2.0)
    monkeypatch.setattr(runner, "run_batch", lambda *a: pytest.fail("the batch started"))
    monkeypatch.setattr(cluster, "connect", lambda *a: pytest.fail("Ray started"))
    src, out = photo(tmp_path / "in" / "a.jpg"), tmp_path / "out"
    args = ["batch", str(src.parent), "--out", str(out), "--style", "wave", "--quiet"]
    assert main([*args, "--workers", "3", "--cpus-per-worker", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "room for 1 such worker" in err
    assert main([*args, "--cpus-per-worker", "3"]) == 2
    assert "--cpus-per-worker 3: more than any machine has" in capsys.readouterr().err
    assert main([*args, "--cpus-per-worker", "0.00001"]) == 2  # Ray's traceback, after it had started
    assert "0.0001 or more" in capsys.readouterr().err
    assert not out.exists()


# ---------------------------------------------------------------- batch: a photo painted as edit paints it


class _FakePipe:
    """What ``paint_photo`` asks of a pipeline; a stream's frame (``pipe(image)``) is refused."""

    def __init__(self, region: str = "background") -> None:
        from deepphoto.settings import Settings

        self.settings = Settings(effect="grey", region=region)
        self.person_share: float | None = None
        self.calls: list[str] = []

    def reset(self) -> None:
        self.calls.append("reset")

    def photo(
        self,
        image: np.ndarray,
        painted: np.ndarray | None = None,
        kept: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
        *,
        keep_mask: bool = True,
    ) -> np.ndarray:
        self.calls.append("photo")
        self.person_share = 0.0
        return image

    def __call__(self, image: np.ndarray) -> np.ndarray:
        pytest.fail("painted as a stream's frame (no person fill, no windows), not as edit paints a photo")


def _cut_jpeg(path: Path) -> Path:
    yy, xx = np.mgrid[0:96, 0:128]
    picture = np.dstack([xx * 2, yy * 2, (xx + yy)]).astype(np.uint8)
    ok, data = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, 95])
    path.write_bytes(data.tobytes()[: len(data) * 6 // 10])
    return path


def test_a_batch_photo_is_painted_as_edit_paints_it_and_says_what_edit_warns_of(tmp_path, capsys):
    """A batch worker painted a photo as a stream's frame: no person fill before painting (a rim of
    paint along the person; up to 133 levels from edit's picture with a style on the background)
    and no windows for a photo of aspect 1.6-1.9; and edit's warnings (a file cut off, no person
    found) went to the worker's stderr, which Ray does not show: the table said only 'done'."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.actors import paint_photo

    pipe = _FakePipe()
    out = tmp_path / "out.png"
    assert paint_photo(pipe, _cut_jpeg(tmp_path / "cut.jpg"), out) == (
        1,
        "the file ends early (cut off); what it holds is used, the rest grey; "
        "no person found; the photo is painted whole",
    )
    assert pipe.calls == ["reset", "photo"] and cv2.imread(str(out)).shape == (96, 128, 3)
    assert capsys.readouterr().err == ""  # said in the report, not on a worker's stderr
    assert paint_photo(_FakePipe("person"), photo(tmp_path / "p.jpg"), tmp_path / "p.png")[1] == (
        "no person found; the photo is left as it was"
    )


def test_the_batch_table_carries_a_photos_note(tmp_path):
    """The worker's note reaches the report's row (beside an animation's)."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    from deepphoto.batch.inputs import WorkItem
    from deepphoto.batch.runner import BatchOptions, BatchRunner, ItemState, Task
    from deepphoto.settings import Settings

    src = _cut_jpeg(tmp_path / "cut.jpg")
    runner = BatchRunner([str(src)], Settings(effect="grey"), BatchOptions(out=tmp_path / "out"))
    runner.states = {0: ItemState(WorkItem(src, tmp_path / "out" / "cut.png", "image", 1, 1))}
    runner.work = tmp_path / "work"
    finished = []
    runner._finish = lambda st, task, made, frames, note: finished.append((frames, note))
    runner._on_result(Task(0, -1), (1, "the file ends early (cut off)"))
    assert finished == [(1, "the file ends early (cut off)")] and runner.done_frames == 1


def test_a_batch_photo_equals_edits_picture_with_a_style_on_the_background(tmp_path):
    """With the real networks: a portrait of the shared data, Wave on the background."""
    pytest.importorskip("ray", reason="deepphoto batch needs the 'cluster' extra (Ray)")
    portraits = Path(__file__).resolve().parents[2] / "shared" / "data" / "seg" / "portraits" / "images"
    if not (portraits / "1.jpg").is_file():
        pytest.skip(f"needs the shared data's portraits ({portraits}), absent here")
    from deepphoto.batch.actors import paint_photo
    from deepphoto.frames import read_image
    from deepphoto.pipeline import Pipeline
    from deepphoto.settings import Settings

    settings = Settings(
        style="wave", region="background", style_scale=1.0, backend="onnx", precision="fp32", seg_input=(160, 128)
    )
    with Pipeline(settings) as pipe:
        edited = pipe.photo(read_image(portraits / "1.jpg"))
        pipe.reset()
        pipe(read_image(portraits / "1.jpg"))  # a stream's frame before it: nothing of it is held over
        assert paint_photo(pipe, portraits / "1.jpg", tmp_path / "b.png")[0] == 1
    assert np.array_equal(cv2.imread(str(tmp_path / "b.png")), edited)


# ---------------------------------------------------------------- OpenCV's own warnings


def test_a_damaged_png_is_one_line_without_opencvs_warning(tmp_path, capfd):
    """'[ WARN:0@2.7] global grfmt_png.cpp:793 ... PNG input buffer is incomplete' came before the
    one-line error. (A PNG cut off is read as far as it goes since hunt 29: this one is damaged inside.)"""
    from deepphoto.frames import read_image_alpha

    ok, data = cv2.imencode(".png", np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8))
    damaged = bytearray(data.tobytes())
    damaged[len(damaged) // 2 : len(damaged) // 2 + 16] = bytes(16)
    (tmp_path / "cut.png").write_bytes(bytes(damaged))
    with pytest.raises(DeepPhotoError, match="not a readable image"):
        read_image_alpha(tmp_path / "cut.png")
    assert "WARN" not in capfd.readouterr().err


# ---------------------------------------------------------------- edit: transparency an output cannot hold


class _Pipe:
    """A stand-in for the pipeline: the photo as it came (the networks are not the point here)."""

    person_share = None

    def __init__(self, settings: object) -> None:
        pass

    def __enter__(self) -> _Pipe:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def describe(self) -> str:
        return "grey on the background"

    def photo(
        self,
        image: np.ndarray,
        painted: np.ndarray | None = None,
        kept: np.ndarray | None = None,
        alpha: np.ndarray | None = None,
        *,
        keep_mask: bool = True,
    ) -> np.ndarray:
        return image


@pytest.mark.parametrize(
    ("suffix", "kind", "lost"), [(".jpg", "JPEG", True), (".bmp", "BMP", True), (".png", "", False)]
)
def test_edit_says_when_the_output_cannot_hold_the_photos_transparency(
    tmp_path, monkeypatch, capsys, suffix, kind, lost
):
    """An RGBA photo into a JPEG or BMP: its transparent parts came out white without a word."""
    import deepphoto.pipeline

    monkeypatch.setattr(deepphoto.pipeline, "Pipeline", _Pipe)
    rgba = np.full((24, 32, 4), 200, np.uint8)
    rgba[:, :8, 3] = 0
    cv2.imwrite(str(tmp_path / "cut-out.png"), rgba)
    out = tmp_path / f"out{suffix}"
    assert main(["edit", str(tmp_path / "cut-out.png"), str(out), "--effect", "grey"]) == 0
    err = capsys.readouterr().err
    assert (f"its transparency is lost in a {kind} file" in err) == lost, err
    written = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert written.shape[2] == (3 if lost else 4)
    assert written[:, :6, :3].min() > 240  # on white where it was transparent
