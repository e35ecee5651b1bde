"""Norwegian identifiers and phone numbers, and the numbers in form fields."""

from __future__ import annotations

import datetime as dt
import functools
from urllib.parse import urlsplit

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_WEIGHTS_1 = (3, 7, 6, 1, 8, 9, 4, 5, 2)
_WEIGHTS_2 = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _check_digit(digits: list[int], weights: tuple[int, ...]) -> int | None:
    remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


def national_id_check_digits(first_nine: str) -> tuple[int, int] | None:
    """The two check digits for the first nine digits, or None if no valid number exists."""
    digits = [int(c) for c in first_nine]
    k1 = _check_digit(digits, _WEIGHTS_1)
    if k1 is None:
        return None
    k2 = _check_digit([*digits, k1], _WEIGHTS_2)
    if k2 is None:
        return None
    return k1, k2


def national_id_birth_day_month(value: str) -> tuple[int, int]:
    """Day and month encoded in a fødselsnummer or D-number (day + 40)."""
    day, month = int(value[0:2]), int(value[2:4])
    if day > 40:
        day -= 40
    return day, month


def validate_national_id(value: str) -> str:
    """A fødselsnummer or D-number: 11 digits, a real day and month, both mod-11 check digits."""
    if len(value) != 11 or not value.isdigit():
        raise ValidationError(_("Fødselsnummeret må være 11 siffer."), code="invalid_national_id")
    day, month = national_id_birth_day_month(value)
    try:
        dt.date(2000, month, day)  # a leap year, so 29 February passes
    except ValueError:
        raise ValidationError(
            _("Fødselsnummeret har ikke en gyldig dato."), code="invalid_national_id"
        ) from None
    expected = national_id_check_digits(value[:9])
    if expected is None or (int(value[9]), int(value[10])) != expected:
        raise ValidationError(
            _("Fødselsnummeret har feil kontrollsiffer."), code="invalid_national_id"
        )
    return value


def mask_national_id(value: str) -> str:
    """Show the birth date part only."""
    if not value:
        return ""
    return value[:6] + "*****"


def normalise_phone(value: str) -> str:
    """A phone number as E.164. Norwegian numbers may be given without +47."""
    raw = (value or "").strip()
    try:
        parsed = phonenumbers.parse(raw, "NO")
    except phonenumbers.NumberParseException:
        raise ValidationError(_("Ugyldig telefonnummer."), code="invalid_phone") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(_("Ugyldig telefonnummer."), code="invalid_phone")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


@functools.lru_cache(maxsize=1024)
def try_normalise_phone(value: str) -> str:
    """E.164 if the number parses, else the raw value (Twilio may send short codes, 'anonymous').
    The last numbers are remembered: every webhook asks for its section's and caller's."""
    try:
        return normalise_phone(value)
    except ValidationError:
        return (value or "").strip()[:32]


# Twilio keeps recordings on its API host; a RecordingUrl anywhere else (or not https) is not a
# recording, and must never become a link on a coordinator's screen.
RECORDING_HOSTS = frozenset({"api.twilio.com"})


def safe_recording_url(url: str | None) -> str:
    """`url` if it is an https URL on Twilio's recording host, else ""."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return ""
    ok = parts.scheme == "https" and parts.hostname in RECORDING_HOSTS and not parts.username
    return parts.geturl() if ok and parts.port in (None, 443) else ""


def int_or_none(value: str | None) -> int | None:
    """A form field's whole number; None if it is missing, empty or not one."""
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None
