"""Hunt 31 (cliux): the command line as a new user meets it, in the environments users have."""

from __future__ import annotations

import pytest

# ---------------------------------------------------------------- a name that is not UTF-8, on Ray


def test_a_batch_whose_command_line_names_a_file_that_is_not_utf8_starts_ray(monkeypatch):
    """`deepphoto batch $'v\\xfe.mp4' --out styled`: Ray records the command line (from /proc) as the
    job's entrypoint, a UTF-8 string, and every such batch failed as 'cannot start or reach Ray'."""
    pytest.importorskip("ray")
    import ray
    import ray._private.utils as ray_utils

    from deepphoto.batch import cluster

    command_line = "deepphoto batch v" + b"\xfe".decode("utf-8", "surrogateescape") + ".mp4 --out styled"
    recorded: list[bytes] = []

    def init(**kwargs: object) -> None:  # Ray's own: the entrypoint goes into a protobuf string
        recorded.append(ray._private.utils.get_entrypoint_name().encode("utf-8"))

    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    monkeypatch.setattr(ray, "init", init)
    monkeypatch.setattr(ray_utils, "get_entrypoint_name", lambda: command_line)
    assert cluster.connect(None)
    assert recorded == [b"deepphoto batch v\\xfe.mp4 --out styled"]
    assert ray_utils.get_entrypoint_name() == command_line  # Ray's own again afterwards
