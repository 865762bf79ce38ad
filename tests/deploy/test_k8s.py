"""deploy/k8s: every manifest validates against the Kubernetes OpenAPI schemas (strict: unknown
fields fail), the kustomizations are complete, and the pieces fit together.

The schemas come from the `kubernetes-validate` package; no cluster is needed.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.33"  # oldest release the manifests are meant for
SERVICES = {"registry": 8001, "assistance": 8002, "eldercare": 8003, "monitoring": 8004}
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
KUSTOMIZATIONS = sorted(K8S.rglob("kustomization.yaml"))
SECRETS_EXAMPLE = K8S / "secrets.example.yaml"


def docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def objects(paths=MANIFESTS) -> dict[tuple[str, str], dict]:
    found = {}
    for path in paths:
        for d in docs(path):
            key = (d["kind"], d["metadata"]["name"])
            assert key not in found, f"{key} defined twice"
            found[key] = d
    return found


def validate(doc: dict) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates_against_kubernetes_schema(path: Path):
    documents = docs(path)
    assert documents, f"{path} is empty"
    for doc in documents:
        assert doc["metadata"].get("namespace") == "minzheng" or doc["kind"] == "Namespace"
        validate(doc)


def test_validation_catches_broken_manifests():
    deployment = objects()[("Deployment", "registry")]
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbes"] = {}  # misspelt field
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    broken = yaml.safe_load(yaml.safe_dump(deployment))
    broken["spec"]["replicas"] = "two"  # wrong type
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)


def _resources(kustomization: Path) -> list[Path]:
    return [kustomization.parent / r for r in yaml.safe_load(kustomization.read_text())["resources"]]


def test_kustomizations_reference_existing_files_and_cover_every_manifest_but_secrets():
    reached: set[Path] = set()
    pending = [K8S / "kustomization.yaml"]
    while pending:
        kustomization = pending.pop()
        assert yaml.safe_load(kustomization.read_text())["kind"] == "Kustomization"
        for res in _resources(kustomization):
            assert res.exists(), f"{kustomization} lists missing {res}"
            if res.is_dir():
                pending.append(res / "kustomization.yaml")
            else:
                reached.add(res)
    assert reached == set(MANIFESTS) - {SECRETS_EXAMPLE}
    assert SECRETS_EXAMPLE not in reached  # real secrets never come from this tree


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
def test_kustomize_build_renders_valid_objects():
    out = subprocess.run(
        ["kubectl", "kustomize", str(K8S)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    rendered = [d for d in yaml.safe_load_all(out) if d]
    assert len(rendered) == len(objects()) - len(docs(SECRETS_EXAMPLE))
    for doc in rendered:
        validate(doc)


def _pod(obj: dict) -> dict:
    return obj["spec"]["template"]["spec"]


def _selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


def test_each_service_has_its_deployment_service_pdb_migration_and_config():
    objs = objects()
    config_maps = {name for kind, name in objs if kind == "ConfigMap"}
    secrets = {name for kind, name in objs if kind == "Secret"}
    common = objs[("ConfigMap", "minzheng-common")]["data"]
    grace = float(common["SHUTDOWN_GRACE_SECONDS"])
    jobs = [o for (kind, _), o in objs.items() if kind == "Job"]
    for svc, port in SERVICES.items():
        dep = objs[("Deployment", svc)]
        pod = _pod(dep)
        (container,) = pod["containers"]
        assert container["args"] == ["serve", svc]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        # Service links would inject REGISTRY_PORT=tcp://..., read as a per-service override.
        assert pod["enableServiceLinks"] is False
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pre_stop_seconds = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0.0
        assert pod["terminationGracePeriodSeconds"] > 2 * grace + pre_stop_seconds
        env_from = container["envFrom"]
        assert {"configMapRef": {"name": "minzheng-common"}} in env_from
        assert {"configMapRef": {"name": f"{svc}-config"}} in env_from
        assert {"secretRef": {"name": f"{svc}-secrets"}} in env_from
        assert {"secretRef": {"name": "minzheng-jwt"}} in env_from
        for ref in env_from:
            kind, name = (
                ("ConfigMap", ref["configMapRef"]["name"])
                if "configMapRef" in ref
                else ("Secret", ref["secretRef"]["name"])
            )
            assert name in (config_maps if kind == "ConfigMap" else secrets), f"{svc}: {kind} {name} is defined nowhere"
        assert objs[("ConfigMap", f"{svc}-config")]["data"]["PORT"] == str(port)
        assert container["ports"][0]["containerPort"] == port

        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        service, pdb = objs[("Service", svc)], objs[("PodDisruptionBudget", svc)]
        assert _selects(dep["spec"]["selector"]["matchLabels"], pod_labels)
        assert _selects(service["spec"]["selector"], pod_labels)
        assert _selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
        assert dep["spec"]["replicas"] > 1 and pdb["spec"]["maxUnavailable"] == 1
        for job in jobs:  # a Job's pod must never receive the service's traffic
            assert not _selects(service["spec"]["selector"], job["spec"]["template"]["metadata"]["labels"])

        migrate = objs[("Job", f"migrate-{svc}")]
        (mc,) = _pod(migrate)["containers"]
        assert mc["args"] == ["migrate", svc]
        assert mc["image"] == container["image"]
        assert {"secretRef": {"name": f"{svc}-secrets"}} in mc["envFrom"]
        assert _pod(migrate)["restartPolicy"] == "Never"
    (topics,) = _pod(objs[("Job", "topics-create")])["containers"]
    assert topics["args"] == ["topics", "create"]
    assert {"TOPIC_PARTITIONS", "TOPIC_REPLICATION", "KAFKA_BOOTSTRAP_SERVERS"} <= set(common)


def _settings_fields() -> set[str]:
    """Field names of shared.settings.Settings, read from the source (nothing imported)."""
    tree = ast.parse((ROOT / "shared" / "settings.py").read_text())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    return {n.target.id.upper() for n in cls.body if isinstance(n, ast.AnnAssign)} - {"SERVICE"}


def test_every_variable_set_is_a_real_setting_and_documented():
    known = _settings_fields() | {"MINZHENG_HOME"}
    documented = (ROOT / "docs" / "configuration.md").read_text()
    for name in sorted(known):
        assert f"`{name}`" in documented, f"{name} is missing from docs/configuration.md"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    app_env = [
        (f"compose {n}", s.get("environment", {}))
        for n, s in compose.items()
        if s.get("command", [None])[0] in {"serve", "migrate", "topics"}
    ]
    k8s_env = [
        (f"{k} {n}", o.get("data") or o.get("stringData") or {})
        for (k, n), o in objects().items()
        if k in {"ConfigMap", "Secret"}
    ]
    for where, env in app_env + k8s_env:
        unknown = set(env) - known
        assert not unknown, f"{where} sets {sorted(unknown)}, which no setting reads (misspelt?)"
