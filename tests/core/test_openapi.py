"""The OpenAPI schema is valid (no generator warnings either) and describes every operation:
its body, its filters, its answers and its errors. Fuzzed against the running service in
tests/e2e/test_api_schema_fuzz.py."""

import pytest
import yaml
from django.core.management import call_command
from django.urls import get_resolver

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "patch", "put", "delete")


@pytest.fixture(scope="module")
def schema(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "openapi.yml"
    # --validate checks it against the OpenAPI 3 specification; --fail-on-warn refuses any
    # operation the generator could not describe.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    return yaml.safe_load(path.read_text())


def operations(schema):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_every_operation_documents_its_errors_in_the_error_shape(schema):
    for path, method, operation in operations(schema):
        for code in ("400", "401", "403", "404"):
            content = operation["responses"][code]["content"]["application/json"]
            assert content["schema"]["required"] == ["error"], (path, method, code)


def test_bodies_and_filters_are_described(schema):
    ops = {(path, method): op for path, method, op in operations(schema)}
    notes = ops["/api/inquiries/{id}/notes/", "post"]
    body = notes["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    component = schema["components"]["schemas"][body.rsplit("/", 1)[1]]
    assert component["properties"]["text"]["maxLength"] == 10_000
    queue = ops["/api/inquiries/", "get"]
    names = {p["name"] for p in queue["parameters"]}
    assert {"status", "grade", "channel", "open", "patient"} <= names
    page = queue["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "results" in schema["components"]["schemas"][page.rsplit("/", 1)[1]]["properties"]


def test_ids_are_bounded_in_the_schema_as_in_the_service(schema):
    ops = {(path, method): op for path, method, op in operations(schema)}
    patient = next(p for p in ops["/api/inquiries/", "get"]["parameters"] if p["name"] == "patient")
    assert patient["schema"]["minimum"] == 1
    assert patient["schema"]["maximum"] == 2**63 - 1


def test_every_api_route_is_in_the_schema(schema):
    documented = set(schema["paths"])
    routes = {
        "/" + str(pattern.pattern).replace("<int:pk>", "{id}").replace("<slug:key>", "{key}")
        for pattern in _api_patterns()
    }
    assert len(routes) > 30
    assert routes <= documented, routes - documented


def _api_patterns():
    for top in get_resolver().url_patterns:
        if str(top.pattern) == "api/" and hasattr(top, "url_patterns"):
            for pattern in top.url_patterns:
                yield type("P", (), {"pattern": "api/" + str(pattern.pattern)})()
