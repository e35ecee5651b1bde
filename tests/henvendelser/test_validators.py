import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from henvendelser.validators import mask_national_id, normalise_phone, validate_national_id
from tests.factories import valid_national_id

# Published test numbers (the first three) and a D-number (day + 40) with valid checks.
VALID = ["01010750160", "15076500565", "29029900157", "41010750073"]


@pytest.mark.parametrize("value", VALID)
def test_valid_national_ids_and_d_numbers_pass(value):
    assert validate_national_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "01010750161",  # second check digit off by one
        "01010750150",  # first check digit wrong
        "0101075016",  # ten digits
        "010107501600",  # twelve digits
        "0101075016a",  # not a digit
        "32010750160",  # day 32
        "01130750160",  # month 13
        "",
    ],
)
def test_invalid_national_ids_are_refused(value):
    with pytest.raises(ValidationError):
        validate_national_id(value)


def test_every_generated_number_checks_out_and_a_changed_digit_does_not():
    day = dt.date(2015, 1, 1)
    for offset in range(0, 365, 7):
        value = valid_national_id(day + dt.timedelta(days=offset))
        validate_national_id(value)
        changed = value[:7] + str((int(value[7]) + 1) % 10) + value[8:]
        with pytest.raises(ValidationError):
            validate_national_id(changed)


def test_a_national_id_is_masked_to_its_birth_date():
    assert mask_national_id("01010750160") == "010107*****"


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("91234567", "+4791234567"),
        ("912 34 567", "+4791234567"),
        ("+47 912 34 567", "+4791234567"),
        ("004791234567", "+4791234567"),
        ("22 00 00 00", "+4722000000"),
        ("+46 70 123 45 67", "+46701234567"),
    ],
)
def test_phone_numbers_are_normalised_to_e164(raw, e164):
    assert normalise_phone(raw) == e164


@pytest.mark.parametrize("raw", ["123", "abc", "+47 1234", "", "9123456789012345"])
def test_malformed_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalise_phone(raw)
