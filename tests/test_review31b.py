"""Review of hunt 31's library and frame-processor changes (31b): a pipeline closed by another thread
while it ran a camera (the way to stop a live ``run`` from a UI thread) went on for ever, each frame
passed through unpainted with 'RuntimeError: cannot schedule new futures after shutdown'."""

from __future__ import annotations

import threading

import numpy as np

from deepphoto import Pipeline, Settings

FAST = {"backend": "onnx", "precision": "fp32"}


def test_a_run_closed_from_another_thread_ends_as_a_stop(capsys):
    pipe = Pipeline(Settings(effect="grey", **FAST))
    seen: list[int] = []
    closer: list[threading.Thread] = []

    def observe(image: np.ndarray, frame: object) -> None:
        seen.append(image.shape[0])
        if len(seen) == 3:  # a UI thread's stop button
            closer.append(threading.Thread(target=pipe.close))
            closer[0].start()
            closer[0].join(20)

    # a live source: it never ends of itself (max_frames only a backstop for the old behaviour)
    summary = pipe.run(
        "synthetic://", "null://", progress=False, size=(32, 24), fps=200, max_frames=300, observe=observe
    )
    assert closer and not closer[0].is_alive()
    assert summary.interrupted and summary.failed == 0
    assert summary.frames_out < 300
    assert "cannot schedule" not in capsys.readouterr().err
