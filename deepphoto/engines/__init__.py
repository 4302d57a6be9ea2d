"""Backends behind one small interface (:class:`deepphoto.engines.base.Engine`)."""

from deepphoto.engines.base import Engine, TensorInfo

BACKENDS = ("torch", "onnx")

__all__ = ["BACKENDS", "Engine", "TensorInfo"]
