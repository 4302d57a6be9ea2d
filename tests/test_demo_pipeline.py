"""File to file on small synthetic clips: every frame written, timing and audio kept, playable."""

import numpy as np
import pytest
from media import make_clip, probe

from deepphoto.commands.cli import main
from deepphoto.errors import DeepPhotoError
from deepphoto.segmenters.lightnet import LightNetSegmenter
from deepphoto.stream.effects import make_effect
from deepphoto.stream.loop import run_stream
from deepphoto.stream.processor import FrameProcessor, Look
from deepphoto.stream.sinks import open_sink
from deepphoto.stream.sources import open_source


def test_file_to_file_keeps_every_frame_and_the_rate(tmp_path):
    src = make_clip(tmp_path / "in.mp4", frames=12)
    out = tmp_path / "out.mkv"
    source = open_source(str(src))
    sink = open_sink(str(out), source.fps, source.time_base)
    processor = FrameProcessor(LightNetSegmenter("onnx"), [Look("blur", make_effect("blur"))])
    summary = run_stream(source, sink, processor, progress=False)
    assert summary.path == out and summary.frames_out == 12 and summary.dropped == 0
    got, want = probe(out), probe(src)
    assert got["frames"] == 12 and got["fps"] == pytest.approx(25) and got["size"] == (96, 64)
    assert got["duration"] == pytest.approx(want["duration"], rel=0.05)
    assert not list(tmp_path.glob(".*partial*"))


def test_run_command_copies_the_audio_through(tmp_path, capsys):
    src = make_clip(tmp_path / "talk.mp4", frames=25, audio=True)
    out = tmp_path / "styled.mp4"
    assert main(["run", str(src), str(out), "--effect", "grey", "--quiet"]) == 0
    got = probe(out)
    assert got["frames"] == 25 and got["audio"]
    assert got["duration"] == pytest.approx(probe(src)["duration"], abs=0.1)
    assert "25 frames" in capsys.readouterr().out


def test_existing_output_is_refused_without_overwrite(tmp_path, capsys):
    src = make_clip(tmp_path / "in.mp4")
    out = tmp_path / "out.mp4"
    out.write_bytes(b"keep me")
    assert main(["run", str(src), str(out), "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert main(["run", str(src), str(out), "--quiet", "--overwrite"]) == 0
    assert probe(out)["frames"] == 12


def test_sink_refuses_a_missing_folder(tmp_path):
    with pytest.raises(DeepPhotoError, match="does not exist"):
        open_sink(str(tmp_path / "no" / "x.mp4"), 30)


@pytest.mark.parametrize("effect", ["blur", "grey", "cartoon", "pencil", "watercolor", "detail"])
def test_every_effect_keeps_size_and_type(effect):
    import numpy as np

    frame = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
    out = make_effect(effect)(frame)
    assert out.shape == frame.shape and out.dtype == np.uint8


def test_unknown_effect_lists_the_valid_ones():
    with pytest.raises(DeepPhotoError, match="blur, cartoon, detail"):
        make_effect("sepia")


def test_bench_recorder_sees_every_frame_and_reuses_the_pipelines_grey(tmp_path):
    from deepphoto.frames import small_grey
    from deepphoto.measure.runner import OUTPUT_GREY, Recorder

    src = make_clip(tmp_path / "in.mp4", frames=10)
    source = open_source(str(src))
    sink = open_sink(str(tmp_path / "out.mkv"), source.fps, source.time_base)
    processor = FrameProcessor(LightNetSegmenter("onnx"), [Look("blur", make_effect("blur"))])
    recorder = Recorder()
    processor.recorder = recorder.masks
    inputs = [f.image for f in open_source(str(src))]
    summary = run_stream(source, sink, processor, progress=False, observe=recorder.output)
    assert summary.frames_out == len(recorder.grey_out) == len(recorder.raw) == 10
    h, w = recorder.raw[0].shape
    for i, frame in enumerate(inputs):  # the pipeline's own grey copy is the one recorded
        assert np.allclose(recorder.grey_low[i], small_grey(frame, (w, h)), atol=1e-6)
        assert np.allclose(recorder.grey_in[i], small_grey(frame, OUTPUT_GREY), atol=1e-6)
    assert not np.allclose(recorder.grey_out[5], recorder.grey_in[5])  # the output is blurred
