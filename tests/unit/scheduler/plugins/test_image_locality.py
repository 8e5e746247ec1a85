"""ImageLocality: nodes holding the pod's image score higher."""

from steersman.scheduler.framework.interface import Code, CycleState
from steersman.scheduler.framework.types import PodInfo
from steersman.scheduler.plugins import image_locality
from tests.unit.scheduler.fixtures import cluster, make_node, make_pod

MB = 1024 * 1024


def test_node_with_big_image_scores_higher() -> None:
    plugin = image_locality.new({}, None)  # type: ignore[arg-type]
    big = [{"names": ["docker.io/library/app:1"], "sizeBytes": 500 * MB}]
    cache = cluster([make_node("has", images=big), make_node("lacks")])
    pod = PodInfo(make_pod("p", image="docker.io/library/app:1"))
    state = CycleState(cache.snapshot())
    assert plugin.pre_score(state, pod, cache.snapshot().nodes).is_success
    # 500Mi x (1/2 nodes) = 250Mi; (250 - 23) / (1000 - 23) x 100 = 23
    assert plugin.score(state, pod, cache.snapshot().nodes) == [23, 0]


def test_untagged_names_mean_latest_and_absent_images_skip() -> None:
    plugin = image_locality.new({}, None)  # type: ignore[arg-type]
    cache = cluster([make_node("n1", images=[{"names": ["nginx:latest"], "sizeBytes": MB}])])
    state = CycleState(cache.snapshot())
    assert plugin.pre_score(state, PodInfo(make_pod("a", image="nginx")), []).is_success
    skipped = plugin.pre_score(state, PodInfo(make_pod("b", image="redis")), [])
    assert skipped.code is Code.SKIP
