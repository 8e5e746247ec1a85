"""Parsed affinity: node selectors (``nodeSelector``, node affinity) and pod affinity terms.

* :class:`RequiredNodeAffinity` is ``nodeaffinity.RequiredNodeAffinity``: the pod's
  ``nodeSelector`` map AND its required node-affinity terms (ORed; a term ANDs its
  ``matchExpressions`` on labels and its ``matchFields`` on ``metadata.name``; an empty term
  matches nothing).
* :class:`AffinityTerm` is ``framework.AffinityTerm``: a pod label selector, the namespaces
  it applies to (explicit names, a ``namespaceSelector``, or the owner's namespace), and a
  topology key. Terms are frozen and hashable, so the cache can group identical terms of
  many pods (one Deployment's replicas) and count them once.

Selectors are built with :mod:`steersman.api.selectors`; invalid specs raise
:class:`~steersman.api.selectors.SelectorError`, which :class:`~.types.PodInfo` turns into
a parse error the scheduler reports on the pod.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from steersman.api.selectors import (
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    new_requirement,
    selector_from_label_selector_spec,
)

NODE_NAME_FIELD = "metadata.name"
_NODE_OPERATORS = {"In": Operator.IN, "NotIn": Operator.NOT_IN, "Exists": Operator.EXISTS,
                   "DoesNotExist": Operator.DOES_NOT_EXIST, "Gt": Operator.GREATER_THAN,
                   "Lt": Operator.LESS_THAN}


def _node_requirements(raw: Any) -> LabelSelector:
    requirements = []
    for expression in raw or ():
        operator = _NODE_OPERATORS.get(expression.get("operator"))
        if operator is None:
            raise SelectorError(f"{expression.get('operator')!r} is not a valid node selector "
                                "operator")
        values = [str(v) for v in expression.get("values") or ()] or None
        requirements.append(new_requirement(str(expression.get("key")), operator, values))
    return LabelSelector(tuple(requirements))


_IN, _NOT_IN, _EXISTS, _ABSENT, _OTHER = range(5)
_KINDS = {Operator.IN: _IN, Operator.EQUALS: _IN, Operator.DOUBLE_EQUALS: _IN,
          Operator.NOT_IN: _NOT_IN, Operator.NOT_EQUALS: _NOT_IN, Operator.EXISTS: _EXISTS,
          Operator.DOES_NOT_EXIST: _ABSENT}
Compiled = tuple[tuple[str, int, frozenset[str], Requirement], ...]


def compile_selector(selector: LabelSelector) -> Compiled:
    """A selector as flat tuples, for :func:`matches_compiled` on the hot path."""
    return tuple((r.key, _KINDS.get(r.operator, _OTHER), frozenset(r.values), r)
                 for r in selector.requirements)


def matches_compiled(compiled: Compiled, labels: Mapping[str, str]) -> bool:
    """``LabelSelector.matches`` without per-requirement method calls (same semantics)."""
    for key, kind, values, requirement in compiled:
        if kind == _IN:
            value = labels.get(key)
            if value is None or value not in values:
                return False
        elif kind == _NOT_IN:
            value = labels.get(key)
            if value is not None and value in values:
                return False
        elif kind == _EXISTS:
            if key not in labels:
                return False
        elif kind == _ABSENT:
            if key in labels:
                return False
        elif not requirement.matches(labels):
            return False
    return True


@dataclass(frozen=True, slots=True)
class NodeSelectorTerm:
    labels: LabelSelector
    fields: LabelSelector
    compiled: Compiled = field(default=(), compare=False, repr=False)

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> NodeSelectorTerm:
        labels = _node_requirements(raw.get("matchExpressions"))
        return cls(labels, _node_requirements(raw.get("matchFields")), compile_selector(labels))

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        if self.labels.empty and self.fields.empty:
            return False
        if not matches_compiled(self.compiled, labels):
            return False
        return self.fields.empty or self.fields.matches({NODE_NAME_FIELD: node_name})

    def pinned_node_names(self) -> frozenset[str] | None:
        """Node names this term is limited to by ``metadata.name In (…)``, if any."""
        for requirement in self.fields.requirements:
            if requirement.key == NODE_NAME_FIELD and requirement.operator is Operator.IN:
                return frozenset(requirement.values)
        return None


@dataclass(frozen=True, slots=True)
class RequiredNodeAffinity:
    """``nodeSelector`` AND (any of the required node affinity terms)."""

    selector: LabelSelector
    terms: tuple[NodeSelectorTerm, ...] | None
    compiled: Compiled = field(default=(), compare=False, repr=False)

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> RequiredNodeAffinity | None:
        node_selector = spec.get("nodeSelector") or {}
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        if not node_selector and required is None:
            return None
        selector = LabelSelector(tuple(
            new_requirement(key, Operator.EQUALS, [str(val)])
            for key, val in sorted(node_selector.items())))
        terms = None
        if required is not None:
            terms = tuple(NodeSelectorTerm.parse(t)
                          for t in required.get("nodeSelectorTerms") or ())
        return cls(selector, terms, compile_selector(selector))

    def matches(self, labels: Mapping[str, str], node_name: str) -> bool:
        if not matches_compiled(self.compiled, labels):
            return False
        if self.terms is None:
            return True
        return any(term.matches(labels, node_name) for term in self.terms)

    def pinned_node_names(self) -> frozenset[str] | None:
        """The union of ``metadata.name`` pins when every term pins; else ``None``."""
        if not self.terms:
            return None
        names: set[str] = set()
        for term in self.terms:
            pinned = term.pinned_node_names()
            if pinned is None:
                return None
            names |= pinned
        return frozenset(names)


@dataclass(frozen=True, slots=True)
class PreferredNodeTerm:
    weight: int
    term: NodeSelectorTerm


def preferred_node_terms(spec: Mapping[str, Any]) -> tuple[PreferredNodeTerm, ...]:
    preferred = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution")) or ()
    return tuple(PreferredNodeTerm(int(p.get("weight") or 0),
                                   NodeSelectorTerm.parse(p.get("preference") or {}))
                 for p in preferred if p.get("weight"))


@dataclass(frozen=True, slots=True)
class AffinityTerm:
    """One pod (anti-)affinity term, resolved against the pod that declares it."""

    selector: LabelSelector
    topology_key: str
    namespaces: frozenset[str]
    namespace_selector: LabelSelector  # nothing() when unset; empty() selects all
    weight: int = 0

    def namespace_set(self, namespace_labels: Mapping[str, Mapping[str, str]]
                      ) -> frozenset[str] | None:
        """The namespaces this term covers now; ``None`` = all namespaces."""
        if self.namespace_selector.empty:
            return None
        if self.namespace_selector.selects_nothing:
            return self.namespaces
        chosen = {name for name, labels in namespace_labels.items()
                  if self.namespace_selector.matches(labels)}
        return self.namespaces | chosen

    def matches(self, namespace: str, labels: Mapping[str, str],
                namespace_labels: Mapping[str, str] | None) -> bool:
        """``AffinityTerm.Matches``: namespace covered and labels selected."""
        in_namespace = (namespace in self.namespaces
                        or self.namespace_selector.matches(namespace_labels or {}))
        return in_namespace and self.selector.matches(labels)


def _merge_label_keys(selector: LabelSelector, raw: Mapping[str, Any],
                      labels: Mapping[str, str]) -> LabelSelector:
    extra = [new_requirement(key, Operator.IN, [labels[key]])
             for key in raw.get("matchLabelKeys") or () if key in labels]
    extra += [new_requirement(key, Operator.NOT_IN, [labels[key]])
              for key in raw.get("mismatchLabelKeys") or () if key in labels]
    if not extra or selector.selects_nothing:
        return selector
    return LabelSelector(tuple(sorted((*selector.requirements, *extra), key=lambda r: r.key)))


def affinity_term(raw: Mapping[str, Any], *, namespace: str, labels: Mapping[str, str],
                  weight: int = 0) -> AffinityTerm:
    """Build a term as ``framework.newAffinityTerm`` does for the declaring pod."""
    selector = selector_from_label_selector_spec(raw.get("labelSelector"))
    selector = _merge_label_keys(selector, raw, labels)
    namespaces = frozenset(raw.get("namespaces") or ())
    raw_ns_selector = raw.get("namespaceSelector")
    ns_selector = selector_from_label_selector_spec(raw_ns_selector)
    if not namespaces and raw_ns_selector is None:
        namespaces = frozenset({namespace})
    return AffinityTerm(selector, str(raw.get("topologyKey") or ""), namespaces, ns_selector,
                        weight)


def pod_affinity_terms(spec: Mapping[str, Any], kind: str, *, namespace: str,
                       labels: Mapping[str, str]) -> tuple[tuple[AffinityTerm, ...],
                                                            tuple[AffinityTerm, ...]]:
    """(required, preferred) terms of ``podAffinity`` or ``podAntiAffinity``."""
    section = (spec.get("affinity") or {}).get(kind) or {}
    required = tuple(affinity_term(t, namespace=namespace, labels=labels)
                     for t in section.get("requiredDuringSchedulingIgnoredDuringExecution") or ())
    preferred = tuple(
        affinity_term(p.get("podAffinityTerm") or {}, namespace=namespace, labels=labels,
                      weight=int(p.get("weight") or 0))
        for p in section.get("preferredDuringSchedulingIgnoredDuringExecution") or ())
    return required, preferred
