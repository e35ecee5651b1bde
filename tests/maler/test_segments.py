"""SMS length by GSM 03.38: what the preview's counter tells the coordinator it will cost."""

import pytest

from maler.gsm import measure

EURO = "€"
EMOJI = "😀"
ZHE = "ж"

# (text, encoding, characters, units, segments). Units are septets for GSM-7 (an extension
# character costs two) and UTF-16 code units for UCS-2 (an emoji costs two).
CASES = [
    ("", "GSM-7", 0, 0, 0),
    ("Hei", "GSM-7", 3, 3, 1),
    ("a" * 160, "GSM-7", 160, 160, 1),
    ("a" * 161, "GSM-7", 161, 161, 2),
    ("a" * 306, "GSM-7", 306, 306, 2),
    ("a" * 307, "GSM-7", 307, 307, 3),
    ("a" * 459, "GSM-7", 459, 459, 3),
    ("a" * 460, "GSM-7", 460, 460, 4),
    ("æøå ÆØÅ", "GSM-7", 7, 7, 1),
    ("Prøvesvaret er klart. Ring oss på 22 00 00 00.", "GSM-7", 46, 46, 1),
    ("ÄÖÜäöüñÑàéèùìòÇ", "GSM-7", 15, 15, 1),
    ("ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 10, 10, 1),
    ("@£$¥¤§¿¡", "GSM-7", 8, 8, 1),
    ("linje 1\nlinje 2", "GSM-7", 15, 15, 1),
    (EURO, "GSM-7", 1, 2, 1),
    ("{[]}", "GSM-7", 4, 8, 1),
    ("^~|\\", "GSM-7", 4, 8, 1),
    (EURO * 80, "GSM-7", 80, 160, 1),
    (EURO * 81, "GSM-7", 81, 162, 2),
    ("a" * 159 + EURO, "GSM-7", 160, 161, 2),
    ("a" * 158 + EURO, "GSM-7", 159, 160, 1),
    # 306 septets would fit two segments, but the euro's escape pair cannot be split at 153.
    ("a" * 152 + EURO + "a" * 152, "GSM-7", 305, 306, 3),
    ("a" * 151 + EURO + "a" * 153, "GSM-7", 305, 306, 2),
    ("Hei " + EMOJI, "UCS-2", 5, 6, 1),
    ("ê", "UCS-2", 1, 1, 1),
    ("Det går fint \u2019", "UCS-2", 14, 14, 1),  # a word processor's apostrophe
    ("tab\there", "UCS-2", 8, 8, 1),
    ("`", "UCS-2", 1, 1, 1),
    ("\u03b1", "UCS-2", 1, 1, 1),  # Greek small alpha: only capitals are GSM-7
    ("ÿ", "UCS-2", 1, 1, 1),
    (ZHE * 70, "UCS-2", 70, 70, 1),
    (ZHE * 71, "UCS-2", 71, 71, 2),
    (ZHE * 134, "UCS-2", 134, 134, 2),
    (ZHE * 135, "UCS-2", 135, 135, 3),
    (ZHE * 66 + EMOJI, "UCS-2", 67, 68, 1),
    # 134 code units would fit two segments, but the emoji's surrogate pair cannot be split.
    (ZHE * 66 + EMOJI + ZHE * 66, "UCS-2", 133, 134, 3),
    ("æøå" * 20 + EMOJI, "UCS-2", 61, 62, 1),
]


@pytest.mark.parametrize(("text", "encoding", "characters", "units", "segments"), CASES)
def test_encoding_and_segments(text, encoding, characters, units, segments):
    length = measure(text)
    assert (length.encoding, length.characters, length.units, length.segments) == (
        encoding,
        characters,
        units,
        segments,
    )


def test_the_table_is_big_enough_to_mean_something():
    assert len(CASES) >= 30
    assert {c[1] for c in CASES} == {"GSM-7", "UCS-2"}
