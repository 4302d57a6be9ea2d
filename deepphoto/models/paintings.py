"""The paintings the shipped styles were learnt from (names, files in ../shared/data/styles, titles)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StyleSource:
    name: str
    file: str
    title: str


# Public-domain paintings in ../shared/data/styles (jcjohnson/neural-style, fast-neural-style).
STYLE_SOURCES = (
    StyleSource("starry-night", "starry_night.jpg", "The Starry Night, Vincent van Gogh, 1889"),
    StyleSource("scream", "the_scream.jpg", "The Scream, Edvard Munch, 1893"),
    StyleSource("wave", "wave.jpg", "The Great Wave off Kanagawa, Hokusai, c. 1831"),
    StyleSource("udnie", "udnie.jpg", "Udnie, Francis Picabia, 1913"),
    StyleSource("composition-vii", "composition_vii.jpg", "Composition VII, Wassily Kandinsky, 1913"),
)

# Every painting in ../shared/data/styles: the styles StyleNet v2 distils (the five above first, in
# the same order, so their rows keep their places).
PAINTINGS = (
    *STYLE_SOURCES,
    StyleSource("shipwreck", "shipwreck.jpg", "The Shipwreck, J. M. W. Turner, 1805"),
    StyleSource("woman-with-hat", "woman-with-hat-matisse.jpg", "Woman with a Hat, Henri Matisse, 1905"),
)
