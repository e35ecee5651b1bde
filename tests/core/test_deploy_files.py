"""deploy/ kept honest: the Kubernetes manifests pass the API schema (kubernetes-validate, strict),
refer to each other and to the code correctly, and keep secrets out of the repository; the
compose file and nginx carry what the service needs. (.ci/run also runs `docker-compose config`.)"""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from django.urls import resolve

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
SETTINGS = (DEPLOY.parent / "backend" / "config" / "settings.py").read_text()
# The Secret is created outside the repository (deploy/README.md); these keys must be in it.
SECRET_KEYS = {
    "SECRET_KEY",
    "DATABASE_URL",
    "REDIS_URL",
    "TWILIO_ACCOUNT_SID",
    "TWILIO_AUTH_TOKEN",
    "METRICS_TOKEN",
}


def manifests() -> list[dict]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name != "kustomization.yaml":
            docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def by_kind(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def read_by_settings(name: str) -> bool:
    return re.search(rf"""env(?:_bool|_list|_int)?\(\s*["']{name}["']""", SETTINGS) is not None


@pytest.mark.parametrize("doc", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_passes_the_kubernetes_schema(doc):
    kubernetes_validate.validate(doc, "1.37.0", strict=True)


def test_the_kustomization_lists_every_manifest():
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


def test_no_secret_values_are_in_the_repository():
    assert by_kind("Secret") == {}
    for deployment in [*by_kind("Deployment").values(), *by_kind("Job").values()]:
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"]:
            refs = [source.get("secretRef", {}).get("name") for source in container["envFrom"]]
            assert "kontaktpunkt-secrets" in refs, container["name"]
            assert "env" not in container  # no literal values beside the references
    config = by_kind("ConfigMap")["kontaktpunkt-config"]["data"]
    assert not SECRET_KEYS & set(config)


def test_every_setting_the_manifests_and_env_example_name_is_read_by_the_service():
    config = by_kind("ConfigMap")["kontaktpunkt-config"]["data"]
    env_example = (DEPLOY / "env.example").read_text()
    named = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", env_example, re.M)) - {"POSTGRES_PASSWORD"}
    for name in set(config) | SECRET_KEYS | named:
        assert read_by_settings(name), f"{name} is not read by backend/config/settings.py"


def test_services_and_autoscalers_point_at_what_exists():
    deployments = by_kind("Deployment")
    for service in by_kind("Service").values():
        selector = service["spec"]["selector"]
        matching = [
            d
            for d in deployments.values()
            if selector.items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(matching) == 1, service["metadata"]["name"]
        ports = {
            p["name"] for p in matching[0]["spec"]["template"]["spec"]["containers"][0]["ports"]
        }
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports
    for hpa in by_kind("HorizontalPodAutoscaler").values():
        target = hpa["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment" and target["name"] in deployments
    assert set(by_kind("HorizontalPodAutoscaler")) == {"kontaktpunkt-web", "kontaktpunkt-worker"}
    assert deployments["kontaktpunkt-beat"]["spec"]["replicas"] == 1
    assert deployments["kontaktpunkt-beat"]["spec"]["strategy"]["type"] == "Recreate"
    [rule] = by_kind("Ingress")["kontaktpunkt"]["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] in by_kind("Service")


def test_web_probes_ask_the_service_health_endpoints():
    web = by_kind("Deployment")["kontaktpunkt-web"]["spec"]["template"]["spec"]["containers"][0]
    assert web["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert web["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert resolve(path).url_name, path


def test_the_ingress_and_nginx_hold_websockets_open():
    annotations = by_kind("Ingress")["kontaktpunkt"]["metadata"]["annotations"]
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    nginx = (DEPLOY / "nginx.conf").read_text()
    ws = nginx[nginx.index("location /ws/") :]
    ws = ws[: ws.index("}")]
    assert "proxy_http_version 1.1" in ws
    assert "Upgrade $http_upgrade" in ws
    assert "Connection $connection_upgrade" in ws


def test_compose_runs_every_process_once_and_beat_alone():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "beat", "nginx"} <= set(services)
    assert services["web"]["deploy"]["replicas"] >= 2
    assert "deploy" not in services["beat"]  # one beat, never scaled
    assert "beat" in services["beat"]["command"]
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
