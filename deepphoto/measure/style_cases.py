"""Which styles ``eval-style`` judges, and the painting each was learnt from.

Every style of the StyleNet weights (``deepphoto.models.shipped.style_names``; the shipped file
also lists the user's ``add-style`` styles that fit it), then every shared painting
(``deepphoto.models.paintings.PAINTINGS``) the network has no slot for: those are judged on the
teacher and the optimiser only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from deepphoto.models.paintings import PAINTINGS
from deepphoto.models.shipped import style_names, user_styles_for


@dataclass(frozen=True)
class StyleCase:
    name: str
    slot: bool  # the network paints this style
    painting: Path | None  # the painting it is after (None: not found; no teacher for it)


def style_cases(data: Path, weights: Path | None = None) -> list[StyleCase]:
    """The network's styles (in its order), then the shared paintings without a slot."""
    names = style_names(weights)
    known = {s.name: data / "styles" / s.file for s in PAINTINGS}
    if weights is None:
        known.update({s.name: s.painting for s in user_styles_for()})
    found = {name: path for name, path in known.items() if path.is_file()}
    cases = [StyleCase(name, True, found.get(name)) for name in names]
    cases += [StyleCase(s.name, False, found[s.name]) for s in PAINTINGS if s.name not in names and s.name in found]
    return cases
