"""Offline teachers that label training data for LightNet (never imported by run, edit or serve).

RVM (GPL-3.0) lives here because it may only make training labels and serve as a benchmark peer.
"""
