"""Backends behind one small interface (:class:`deepphoto.engines.base.Engine`)."""

from deepphoto.engines.base import Engine, TensorInfo

__all__ = ["Engine", "TensorInfo"]
