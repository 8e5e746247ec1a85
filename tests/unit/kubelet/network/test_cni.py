"""CNI configurations and the parsing of plugin results and errors (no plugin runs)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from steersman.kubelet.network.cni import (
    BridgeSpec,
    CniError,
    bridge_config,
    loopback_config,
    parse_output,
    pod_ip,
)

SPEC = BridgeSpec(name="steersman-sm7-ab12", bridge="sm7-ab12",
                  subnet=ipaddress.IPv4Network("10.42.7.0/24"), ipam_dir=Path("/d/ipam"))


def test_bridge_config_never_masquerades_nor_routes_by_default() -> None:
    config = bridge_config(SPEC)
    assert config["cniVersion"] == "1.0.0" and config["type"] == "bridge"
    assert config["bridge"] == "sm7-ab12" and config["name"] == "steersman-sm7-ab12"
    # The node owns the gateway address; the plugin must not turn on ip_forward or NAT.
    assert config["isGateway"] is False and config["ipMasq"] is False
    ipam = config["ipam"]
    assert ipam["type"] == "host-local" and ipam["dataDir"] == "/d/ipam"
    assert ipam["ranges"] == [[{"subnet": "10.42.7.0/24", "gateway": "10.42.7.1",
                                "rangeStart": "10.42.7.2", "rangeEnd": "10.42.7.254"}]]
    assert ipam["routes"] == [{"dst": "10.42.0.0/16"}, {"dst": "10.43.0.0/16"}]
    assert all(r["dst"] not in ("0.0.0.0/0", "default") for r in ipam["routes"])


def test_loopback_config() -> None:
    assert loopback_config() == {"cniVersion": "1.0.0", "name": "lo", "type": "loopback"}


RESULT = {"cniVersion": "1.0.0",
          "interfaces": [{"name": "sm7"}, {"name": "veth1"}, {"name": "eth0", "sandbox": "/n"}],
          "ips": [{"interface": 2, "address": "fd00::5/64"},
                  {"interface": 2, "address": "10.42.7.5/24", "gateway": "10.42.7.1"}],
          "routes": [{"dst": "10.42.0.0/16"}]}


def test_a_result_is_parsed_and_its_ipv4_address_taken() -> None:
    result = parse_output("bridge", "ADD", 0, json.dumps(RESULT).encode(), b"")
    assert pod_ip(result) == "10.42.7.5"


def test_a_result_without_ipv4_is_an_error() -> None:
    with pytest.raises(CniError, match="no IPv4 address"):
        pod_ip({"ips": [{"address": "fd00::5/64"}, {"address": "garbage"}]})


def test_an_error_object_becomes_a_clear_error() -> None:
    error = {"cniVersion": "1.0.0", "code": 11, "msg": "failed to allocate",
             "details": "no IP addresses available in range set"}
    with pytest.raises(CniError, match="CNI bridge ADD failed: failed to allocate: no IP "
                                       "addresses available") as raised:
        parse_output("bridge", "ADD", 1, json.dumps(error).encode(), b"")
    assert raised.value.code == 11


@pytest.mark.parametrize(("returncode", "stdout", "stderr", "expected"), [
    (1, b"", b"panic: boom", r"\(exit code 1\): panic: boom"),
    (2, b"", b"", r"\(exit code 2\): no output"),
    (0, b"not json", b"", r"not a JSON object\): not json"),
    (0, b"[1]", b"", r"not a JSON object\): \[1\]"),
])
def test_output_that_is_not_a_result_is_an_error(returncode: int, stdout: bytes,
                                                 stderr: bytes, expected: str) -> None:
    with pytest.raises(CniError, match=expected):
        parse_output("bridge", "DEL", returncode, stdout, stderr)


def test_an_empty_successful_output_is_an_empty_result() -> None:
    assert parse_output("bridge", "DEL", 0, b"", b"") == {}
