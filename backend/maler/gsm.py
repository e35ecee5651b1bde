"""SMS length by GSM 03.38: which encoding a text needs and how many segments it costs.

A text that fits the GSM 7-bit alphabet (its basic table, which has æøåÆØÅ, plus the extension
table, whose characters take an escape and so count two septets) goes as GSM-7: 160 septets in
one segment, 153 per segment when split. Anything else goes as UCS-2 (UTF-16): 70 code units in
one segment, 67 per segment when split. Handsets reassemble split messages, but a segment never
ends in the middle of an escape pair or a surrogate pair, so those move whole to the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# The basic table, in code order (0x1B, the escape to the extension table, is left out).
BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
EXTENSION = "\f^{}\\[~]|€"

_BASIC = frozenset(BASIC)
_EXTENSION = frozenset(EXTENSION)

SINGLE = {GSM7: 160, UCS2: 70}
PER_PART = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class Length:
    encoding: str
    characters: int  # what a person counts (Unicode code points)
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int

    def as_dict(self) -> dict[str, object]:
        return {
            "encoding": self.encoding,
            "characters": self.characters,
            "units": self.units,
            "segments": self.segments,
        }


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXTENSION for ch in text)


def _unit_widths(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if ch in _EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def measure(text: str) -> Length:
    encoding = GSM7 if is_gsm7(text) else UCS2
    widths = _unit_widths(text, encoding)
    units = sum(widths)
    if units == 0:
        segments = 0
    elif units <= SINGLE[encoding]:
        segments = 1
    else:
        # Pack greedily: a character that does not fit whole starts the next segment.
        size, segments, used = PER_PART[encoding], 1, 0
        for width in widths:
            if used + width > size:
                segments, used = segments + 1, 0
            used += width
    return Length(encoding=encoding, characters=len(text), units=units, segments=segments)
