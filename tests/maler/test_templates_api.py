import pytest

from maler.models import MessageTemplate, TemplateVersion
from maler.services import load_seed_templates
from tests.conftest import error_code


@pytest.fixture
def seeded(db):
    load_seed_templates()


def test_seed_templates_exist_in_three_languages_and_load_once(seeded):
    keys = set(MessageTemplate.objects.values_list("key", flat=True))
    assert {
        "provesvar_klare",
        "blodprover_fine",
        "behandlingsstart",
        "timepaaminnelse",
        "ringer_tilbake",
        "behovskartlegging_3_mnd",
        "behovskartlegging_12_mnd",
        "generell_informasjon",
    } <= keys
    for template in MessageTemplate.objects.all():
        assert set(template.versions.values_list("language", flat=True)) == {"nb", "nn", "en"}
    assert MessageTemplate.objects.get(key="provesvar_klare").sensitive
    before = TemplateVersion.objects.count()
    assert load_seed_templates() == 0
    assert TemplateVersion.objects.count() == before


def test_the_follow_ups_name_the_municipal_coordinator(seeded):
    for key in ("behovskartlegging_3_mnd", "behovskartlegging_12_mnd"):
        version = TemplateVersion.objects.get(template__key=key, language="nb")
        assert {"kommune", "koordinator_navn", "koordinator_telefon"} <= set(version.variables)


def test_coordinator_lists_templates_with_current_text(api_as, coordinator, seeded):
    response = api_as(coordinator).get("/api/templates/")
    assert response.status_code == 200
    by_key = {t["key"]: t for t in response.json()["results"]}
    assert by_key["ringer_tilbake"]["languages"]["nn"]["body"].startswith("Takk for meldinga")
    assert by_key["ringer_tilbake"]["languages"]["nb"]["variables"] == ["tidspunkt"]


def test_preview_counts_segments_and_names_missing_variables(api_as, coordinator, seeded):
    response = api_as(coordinator).post(
        "/api/templates/timepaaminnelse/preview/",
        {"language": "nb", "variables": {"dato": "3. mars", "klokkeslett": "10:30", "rom": "2"}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["text"].startswith("Påminnelse: Dere har time 3. mars kl. 10:30, {sted}.")
    assert body["encoding"] == "GSM-7"
    assert body["segments"] == 1
    assert body["characters"] == len(body["text"])
    assert body["missing"] == ["sted", "telefon"]
    assert body["unknown"] == ["rom"]


def test_preview_in_a_language_the_template_lacks_is_a_clear_error(api_as, coordinator, lead):
    api_as(lead).post(
        "/api/templates/",
        {"key": "bare-bokmal", "name": "Bare bokmål", "category": "general", "sensitive": False},
        format="json",
    )
    api_as(lead).post(
        "/api/templates/bare-bokmal/versions/",
        {"language": "nb", "body": "Hei {navn}", "variables": ["navn"]},
        format="json",
    )
    response = api_as(coordinator).post(
        "/api/templates/bare-bokmal/preview/", {"language": "en"}, format="json"
    )
    assert response.status_code == 400
    assert error_code(response) == "template_language_missing"


def test_only_a_lead_creates_and_publishes(api_as, coordinator, lead):
    payload = {"key": "ny-mal", "name": "Ny", "category": "general", "sensitive": False}
    assert api_as(coordinator).post("/api/templates/", payload, format="json").status_code == 403
    assert api_as(lead).post("/api/templates/", payload, format="json").status_code == 201
    version = {"language": "nb", "body": "Hei! {tekst}", "variables": ["tekst"]}
    assert (
        api_as(coordinator)
        .post("/api/templates/ny-mal/versions/", version, format="json")
        .status_code
        == 403
    )
    first = api_as(lead).post("/api/templates/ny-mal/versions/", version, format="json")
    second = api_as(lead).post(
        "/api/templates/ny-mal/versions/",
        {**version, "body": "Hei igjen! {tekst}"},
        format="json",
    )
    assert (first.json()["number"], second.json()["number"]) == (1, 2)
    detail = api_as(lead).get("/api/templates/ny-mal/").json()
    assert detail["languages"]["nb"]["body"] == "Hei igjen! {tekst}"
    assert len(detail["versions"]) == 2


def test_publishing_refuses_template_logic_and_undeclared_variables(api_as, lead):
    api_as(lead).post(
        "/api/templates/",
        {"key": "x", "name": "X", "category": "general", "sensitive": False},
        format="json",
    )
    response = api_as(lead).post(
        "/api/templates/x/versions/",
        {"language": "nb", "body": "Hei {navn.__class__}", "variables": ["navn"]},
        format="json",
    )
    assert response.status_code == 400
    assert error_code(response) == "template_invalid"
    response = api_as(lead).post(
        "/api/templates/x/versions/",
        {"language": "nb", "body": "Hei {navn}", "variables": []},
        format="json",
    )
    assert error_code(response) == "template_invalid"
    assert response.json()["error"]["fields"]["undeclared"] == ["navn"]


def test_a_used_version_cannot_be_changed(seeded):
    version = TemplateVersion.objects.get(template__key="ringer_tilbake", language="nb")
    version.used = True
    version.save()
    version.body = "Noe annet {tidspunkt}"
    with pytest.raises(RuntimeError):
        version.save()


def test_unknown_template_is_404_in_the_api_shape(api_as, coordinator):
    response = api_as(coordinator).post(
        "/api/templates/finnes-ikke/preview/", {"language": "nb"}, format="json"
    )
    assert response.status_code == 404
    assert error_code(response) == "template_not_found"
