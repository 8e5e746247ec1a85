"""Hollow-node flags: labels, taints, quantities and the address plan."""

from __future__ import annotations

import ipaddress

import pytest

from steersman.kubelet.addresses import PodAddressPool
from steersman.kubelet.hollow.config import (
    HollowConfig,
    parse_labels,
    parse_taints,
    parse_zones,
    pod_cidr,
)


def test_labels_are_parsed_and_checked() -> None:
    assert parse_labels("disktype=ssd, example.com/zone=a,empty=") == {
        "disktype": "ssd", "example.com/zone": "a", "empty": ""}
    assert parse_labels("") == {}
    with pytest.raises(ValueError, match="--labels: 'nokey' is not key=value"):
        parse_labels("nokey")
    with pytest.raises(ValueError, match="--labels: bad key!=v"):
        parse_labels("bad key!=v")


def test_zones_are_parsed_and_checked() -> None:
    assert parse_zones("zone-a, zone-b") == ("zone-a", "zone-b")
    assert parse_zones("") == ()
    with pytest.raises(ValueError, match="--zones: 'bad zone'"):
        parse_zones("bad zone")
    with pytest.raises(ValueError, match="listed twice"):
        parse_zones("a,b,a")
    with pytest.raises(ValueError, match="--zones and --labels both set"):
        HollowConfig(count=1, zones=("a",), labels={"topology.kubernetes.io/zone": "b"})
    assert [HollowConfig(count=3, zones=("a", "b")).zone(i) for i in range(3)] == ["a", "b", "a"]
    assert HollowConfig(count=1).zone(0) == ""


def test_taints_are_parsed_and_checked() -> None:
    assert parse_taints("dedicated=gpu:NoSchedule,spot:PreferNoSchedule") == (
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
        {"key": "spot", "effect": "PreferNoSchedule"})
    with pytest.raises(ValueError, match="Effect one of NoSchedule"):
        parse_taints("k=v:Sometimes")
    with pytest.raises(ValueError, match="is not key"):
        parse_taints("k=v")


@pytest.mark.parametrize(("index", "expected"), [
    (0, "127.42.0.0/24"), (255, "127.42.255.0/24"), (256, "127.43.0.0/24"),
    (4999, "127.61.135.0/24")])
def test_each_node_gets_its_own_slash_24(index: int, expected: str) -> None:
    assert str(pod_cidr("127.42", index)) == expected


def test_the_address_plan_must_stay_in_loopback() -> None:
    with pytest.raises(ValueError, match=r"leaves 127\.0\.0\.0/8"):
        HollowConfig(count=300, pod_cidr_base="127.255")
    with pytest.raises(ValueError, match="two octets"):
        HollowConfig(count=1, pod_cidr_base="127")


def test_config_canonicalises_quantities_and_bounds_pods() -> None:
    config = HollowConfig(count=1, cpu="4000m", memory="16384Mi")
    assert (config.cpu, config.memory) == ("4", "16Gi")
    with pytest.raises(ValueError, match="--memory"):
        HollowConfig(count=1, memory="lots")
    with pytest.raises(ValueError, match="--pods must be between 1 and 253"):
        HollowConfig(count=1, pods=300)
    assert config.node_name(7) == "hollow-7"


def test_pod_address_pool_hands_out_unique_addresses_and_reuses_freed_ones() -> None:
    pool = PodAddressPool(ipaddress.IPv4Network("127.42.3.0/24"))
    assert pool.node_ip == "127.42.3.1"
    assert [pool.allocate(uid) for uid in "abc"] == ["127.42.3.2", "127.42.3.3", "127.42.3.4"]
    assert pool.allocate("a") == "127.42.3.2"  # stable per pod
    pool.release("b")
    assert pool.allocate("d") == "127.42.3.3"
    assert len(pool) == 3


def test_pod_address_pool_claims_addresses_of_running_pods() -> None:
    pool = PodAddressPool(ipaddress.IPv4Network("127.42.0.0/24"))
    assert pool.claim("old", "127.42.0.2")
    assert not pool.claim("other", "127.42.0.2")  # held by another pod
    assert not pool.claim("foreign", "127.42.9.9")  # not in this node's range
    assert pool.allocate("new") == "127.42.0.3"
    assert pool.address_of("old") == "127.42.0.2"


def test_pod_address_pool_reports_when_full() -> None:
    pool = PodAddressPool(ipaddress.IPv4Network("127.42.0.0/24"))
    assert all(pool.allocate(str(i)) for i in range(253))
    assert pool.allocate("one-too-many") is None
