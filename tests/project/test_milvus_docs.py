"""docs/deploy-milvus.md's compose file and Helm values parse, and carry what Plansearch
needs: Milvus 2.5+ (BM25), authentication on, the gRPC port, and a cluster that survives
one lost proxy or query node."""

from __future__ import annotations

import re
from typing import Any

import yaml
from paths import DOCS

from service.config import SETTINGS

GUIDE = DOCS / "deploy-milvus.md"


def load(name: str) -> Any:
    return yaml.safe_load((DOCS / "milvus" / name).read_text())


def version(image_tag: str) -> tuple[int, int]:
    match = re.search(r"v(\d+)\.(\d+)", image_tag)
    assert match, image_tag
    return int(match.group(1)), int(match.group(2))


def authorization(config: dict[str, Any]) -> bool:
    return bool(config["common"]["security"]["authorizationEnabled"])


def test_the_compose_file_runs_milvus_standalone_with_authentication() -> None:
    compose = load("docker-compose.yml")
    assert set(compose["services"]) == {"etcd", "minio", "standalone"}
    milvus = compose["services"]["standalone"]
    assert version(milvus["image"]) >= (2, 5)
    assert milvus["command"] == ["milvus", "run", "standalone"]
    assert any(port.endswith(":19530") for port in milvus["ports"])
    assert set(milvus["depends_on"]) == {"etcd", "minio"}
    assert milvus["environment"]["ETCD_ENDPOINTS"] == "etcd:2379"
    assert milvus["environment"]["MINIO_ADDRESS"] == "minio:9000"
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in milvus["volumes"]}
    assert mounted["./user.yaml"] == "/milvus/configs/user.yaml"
    assert authorization(load("user.yaml"))


def test_the_helm_values_run_a_cluster_that_survives_one_lost_node() -> None:
    values = load("values.yaml")
    assert values["cluster"]["enabled"] is True
    assert version(values["image"]["all"]["tag"]) >= (2, 5)
    assert yaml.safe_load(values["extraConfigFiles"]["user.yaml"]) == load("user.yaml")
    assert values["proxy"]["replicas"] >= 2 and values["queryNode"]["replicas"] >= 2
    assert values["etcd"]["replicaCount"] >= 3
    assert values["service"]["port"] == 19530


def test_the_guide_links_the_files_and_names_real_settings() -> None:
    guide = GUIDE.read_text()
    for name in ("milvus/docker-compose.yml", "milvus/values.yaml", "milvus/user.yaml"):
        assert f"]({name})" in guide and (DOCS / name).is_file()
    named = set(re.findall(r"PLANSEARCH_[A-Z_]+", guide))
    assert named <= {setting.env for setting in SETTINGS}
    assert {"PLANSEARCH_STORE", "PLANSEARCH_MILVUS_TOKEN", "PLANSEARCH_MILVUS_PREFIX"} <= named
