"""Generate ``src/steersman/api/protobuf_types.json``, the table behind ``steersman.api.protobuf``.

kubectl 1.32 sends some request bodies as Kubernetes protobuf. The decoder is table driven:
this script reads the upstream ``generated.proto`` files (structure: messages, field numbers,
scalar/message/map types, repeated labels) and the Go structs beside them (JSON names,
``omitempty``, pointers, ``json:",inline"`` embedding, which structs are API kinds, the group
name). The Go struct tags are needed because proto field names are *not* always the JSON
names: ``webhooks`` is proto ``Webhooks``, authentication ``UserInfo.uid`` is proto ``uID``,
and ``Volume.volumeSource`` is inlined into ``Volume`` in JSON.

Usage (with bare git directories, e.g. from a mirror of the upstream repositories)::

    python tools/gen_proto_table.py --api /path/to/kubernetes-api.git \\
        --apimachinery /path/to/kubernetes-apimachinery.git \\
        --out src/steersman/api/protobuf_types.json

Only stable API versions (``v1``, ``v2``, ...) of k8s.io/api serve kinds; the apimachinery
packages (meta/v1, runtime, api/resource, util/intstr) and any pre-release k8s.io/api package
that a stable type references are included for their messages.

Output shape::

    {"source": {"k8s.io/api": "<commit>", "k8s.io/apimachinery": "<commit>"},
     "packages": {"k8s.io.api.core.v1": {"group": "", "version": "v1", "kinds": [...]}},
     "wrappers": ["k8s.io.apimachinery.pkg.apis.meta.v1.Verbs", ...],
     "messages": {"k8s.io.api.core.v1.ConfigMap":
                  [[number, json_name, kind, type, label, flags], ...]}}

``kind`` is ``scalar`` (``type`` is the proto scalar), ``message`` (``type`` is the full
message name) or ``map`` (``type`` is ``"<key scalar>:<value type>"``); ``label`` is
``optional`` or ``repeated``; ``flags`` holds ``o`` (Go ``omitempty``), ``p`` (Go pointer)
and ``i`` (inlined into the parent object in JSON). ``wrappers`` are ``+protobuf.nullable``
messages whose Go type is a plain slice: their ``items`` field is the JSON value.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

SCALARS = frozenset(
    {"string", "bytes", "bool", "int32", "int64", "uint32", "uint64", "double", "float"}
)
APIMACHINERY_PACKAGES = (
    "pkg/apis/meta/v1",
    "pkg/runtime",
    "pkg/api/resource",
    "pkg/util/intstr",
)
API_PREFIX = "k8s.io.api."
STABLE_VERSION = re.compile(r"v\d+")
MESSAGE_RE = re.compile(r"^message (\w+) \{")
FIELD_RE = re.compile(r"^\s*(optional|repeated|required) (\S+) (\w+) = (\d+);")
MAP_RE = re.compile(r"^\s*map<\s*(\w+),\s*(\S+)\s*> (\w+) = (\d+);")
PACKAGE_RE = re.compile(r"^package ([\w.]+);")
STRUCT_RE = re.compile(r"^type (\w+) struct \{")
GO_FIELD_RE = re.compile(r"^\s*(?:(\w+)\s+)?(\S+)\s+`([^`]*)`")
GROUP_RE = re.compile(r'^const GroupName = "([^"]*)"', re.MULTILINE)


@dataclass(frozen=True)
class GoField:
    """What the Go struct tag says about one protobuf field."""

    json_name: str
    omitempty: bool
    pointer: bool
    inline: bool


@dataclass
class GoPackage:
    """Go-side facts of one API package: its group, kinds and struct tags."""

    group: str | None = None
    kinds: list[str] = field(default_factory=list)
    fields: dict[tuple[str, int], GoField] = field(default_factory=dict)


class GitTree:
    """Read-only view of one commit of a (bare) git repository."""

    def __init__(self, git_dir: Path) -> None:
        self.git_dir = git_dir
        self.commit = self._git("rev-parse", "HEAD").strip()

    def _git(self, *args: str) -> str:
        return subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *args],
            check=True,
            capture_output=True,
            text=True,
        ).stdout

    def read(self, path: str) -> str:
        return self._git("show", f"{self.commit}:{path}")

    def list_dir(self, path: str) -> list[str]:
        return self._git("ls-tree", "--name-only", self.commit, f"{path}/").split()

    def list_all(self) -> list[str]:
        return self._git("ls-tree", "-r", "--name-only", self.commit).split()


def parse_proto(text: str) -> tuple[str, dict[str, list[list[object]]], list[str]]:
    """Return (package, messages with raw field rows, wrapper message names) of one file."""
    package = ""
    messages: dict[str, list[list[object]]] = {}
    wrappers: list[str] = []
    current: list[list[object]] | None = None
    comments: list[str] = []
    for line in text.splitlines():
        if match := PACKAGE_RE.match(line):
            package = match.group(1)
        elif match := MESSAGE_RE.match(line):
            current = messages.setdefault(f"{package}.{match.group(1)}", [])
            if any("+protobuf.nullable=true" in c for c in comments):
                wrappers.append(f"{package}.{match.group(1)}")
        elif current is not None and (match := MAP_RE.match(line)):
            key, value, name, number = match.groups()
            value_type = value if value in SCALARS else resolve(value, package)
            current.append([int(number), name, "map", f"{key}:{value_type}", "optional"])
        elif current is not None and (match := FIELD_RE.match(line)):
            label, type_name, name, number = match.groups()
            kind = "scalar" if type_name in SCALARS else "message"
            resolved = type_name if kind == "scalar" else resolve(type_name, package)
            plain_label = "repeated" if label == "repeated" else "optional"
            current.append([int(number), name, kind, resolved, plain_label])
        comments = [*comments, line] if line.startswith("//") else []
    return package, messages, wrappers


def resolve(type_name: str, package: str) -> str:
    """Fully qualify a message type reference as written in ``package``."""
    if type_name.startswith("."):
        return type_name[1:]
    return f"{package}.{type_name}"


def parse_go_files(sources: list[str]) -> GoPackage:
    """Collect group name, kinds and tagged struct fields from a package's Go sources."""
    package = GoPackage()
    for source in sources:
        if match := GROUP_RE.search(source):
            package.group = match.group(1)
        parse_go_structs(source, package)
    return package


def parse_go_structs(source: str, package: GoPackage) -> None:
    struct: str | None = None
    for line in source.splitlines():
        if match := STRUCT_RE.match(line):
            struct = match.group(1)
        elif line.startswith("}"):
            struct = None
        elif struct is not None and (match := GO_FIELD_RE.match(line)):
            name, go_type, tags = match.groups()
            record_go_field(package, struct, name, go_type, tags)


def record_go_field(
    package: GoPackage, struct: str, name: str | None, go_type: str, tags: str
) -> None:
    json_tag = re.search(r'json:"([^"]*)"', tags)
    proto_tag = re.search(r'protobuf:"\w+,(\d+),', tags)
    if name is None and go_type.endswith("TypeMeta") and proto_tag is None:
        package.kinds.append(struct)
        return
    if proto_tag is None:
        return
    json_name, *options = (json_tag.group(1) if json_tag else "").split(",")
    go_name = name or go_type.lstrip("*").rsplit(".", 1)[-1]
    # encoding/json promotes the fields of an embedded struct whose JSON name is empty.
    inline = name is None and not json_name
    package.fields[(struct, int(proto_tag.group(1)))] = GoField(
        json_name=json_name or go_name,
        omitempty="omitempty" in options,
        pointer=go_type.startswith("*"),
        inline=inline,
    )


def merge(messages: dict[str, list[list[object]]], go: GoPackage) -> dict[str, list[list[object]]]:
    """Replace proto field names by JSON names and append the Go encoding flags."""
    merged: dict[str, list[list[object]]] = {}
    for full_name, rows in messages.items():
        struct = full_name.rsplit(".", 1)[-1]
        merged[full_name] = [
            with_go_tag(row, go.fields.get((struct, int(str(row[0]))))) for row in rows
        ]
    return merged


def with_go_tag(row: list[object], tag: GoField | None) -> list[object]:
    if tag is None:
        return [*row, ""]
    flags = "o" * tag.omitempty + "p" * tag.pointer + "i" * tag.inline
    # ``json:"-"`` marks fields with a custom JSON form; the decoder handles those types.
    json_name = row[1] if tag.json_name == "-" else tag.json_name
    return [row[0], json_name, row[2], row[3], row[4], flags]


def go_sources(tree: GitTree, directory: str) -> list[str]:
    names = tree.list_dir(directory)
    wanted = [
        n
        for n in names
        if n.endswith(".go")
        and not n.endswith("_test.go")
        and not n.rsplit("/", 1)[-1].startswith(("zz_generated", "generated"))
    ]
    return [tree.read(n) for n in wanted]


def api_directories(tree: GitTree) -> list[str]:
    protos = [p for p in tree.list_all() if p.endswith("/generated.proto")]
    dirs = [p.rsplit("/", 1)[0] for p in protos]
    return sorted(d for d in dirs if STABLE_VERSION.fullmatch(d.rsplit("/", 1)[-1]))


@dataclass
class Table:
    """The table under construction."""

    packages: dict[str, object] = field(default_factory=dict)
    messages: dict[str, list[list[object]]] = field(default_factory=dict)
    wrappers: list[str] = field(default_factory=list)

    def add(self, tree: GitTree, directory: str, *, serve_kinds: bool) -> None:
        package, messages, wrappers = parse_proto(tree.read(f"{directory}/generated.proto"))
        go = parse_go_files(go_sources(tree, directory))
        self.messages.update(merge(messages, go))
        self.wrappers.extend(wrappers)
        if serve_kinds and go.group is not None and go.kinds:
            version = directory.rsplit("/", 1)[-1]
            kinds = sorted(set(go.kinds) & {m.rsplit(".", 1)[-1] for m in messages})
            self.packages[package] = {"group": go.group, "version": version, "kinds": kinds}

    def missing_api_packages(self) -> set[str]:
        """k8s.io/api packages that stable types reference but the table lacks."""
        referenced = {
            row[3] if row[2] == "message" else str(row[3]).split(":", 1)[1]
            for rows in self.messages.values()
            for row in rows
            if row[2] != "scalar"
        }
        missing = {str(name) for name in referenced} - set(self.messages)
        return {name.rsplit(".", 1)[0] for name in missing if name.startswith(API_PREFIX)}


def build_table(api: GitTree, machinery: GitTree) -> dict[str, object]:
    table = Table()
    for directory in api_directories(api):
        table.add(api, directory, serve_kinds=True)
    for directory in APIMACHINERY_PACKAGES:
        table.add(machinery, directory, serve_kinds=True)
    # A stable type may reference a pre-release package (e.g. core/v1 PodSpec →
    # scheduling/v1alpha3): include its messages so decoding resolves, but serve no kinds.
    while missing := table.missing_api_packages():
        for package in sorted(missing):
            table.add(api, package[len(API_PREFIX) :].replace(".", "/"), serve_kinds=False)
    return {
        "source": {"k8s.io/api": api.commit, "k8s.io/apimachinery": machinery.commit},
        "packages": dict(sorted(table.packages.items())),
        "wrappers": sorted(table.wrappers),
        "messages": dict(sorted(table.messages.items())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", type=Path, required=True, help="git dir of kubernetes/api")
    parser.add_argument(
        "--apimachinery", type=Path, required=True, help="git dir of kubernetes/apimachinery"
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    table = build_table(GitTree(args.api), GitTree(args.apimachinery))
    args.out.write_text(json.dumps(table, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
