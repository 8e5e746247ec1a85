"""RBAC: Role, ClusterRole, RoleBinding and ClusterRoleBinding validation.

Follows kubernetes/kubernetes ``pkg/apis/rbac/validation/validation.go``: object names need
only be safe URL path segments; every rule names verbs, and resource rules name API groups and
resources; namespaced roles cannot grant non-resource URLs; a binding's ``roleRef`` is
immutable.
"""

from __future__ import annotations

from typing import Any

from steersman.api.errors import FieldError, invalid, not_supported, required
from steersman.api.strategies._base import KindStrategy, items, mapping
from steersman.api.strategies._fields import go_value, invalid_shown, is_path_segment_name
from steersman.api.strategy import Object

RBAC_GROUP = "rbac.authorization.k8s.io"
SUBJECT_KINDS = ["ServiceAccount", "User", "Group"]


def validate_rule(rule: Any, path: str, namespaced: bool) -> list[FieldError]:
    rule = rule if isinstance(rule, dict) else {}
    errs: list[FieldError] = []
    if not rule.get("verbs"):
        errs.append(required(f"{path}.verbs", "verbs must contain at least one value"))
    urls = rule.get("nonResourceURLs")
    if urls:
        if namespaced:
            errs.append(invalid_shown(f"{path}.nonResourceURLs", go_value(urls),
                                "namespaced rules cannot apply to non-resource URLs"))
        if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
            errs.append(invalid_shown(f"{path}.nonResourceURLs", go_value(urls),
                                "rules cannot apply to both regular resources and "
                                "non-resource URLs"))
        return errs
    if not rule.get("apiGroups"):
        errs.append(required(f"{path}.apiGroups",
                             "resource rules must supply at least one api group"))
    if not rule.get("resources"):
        errs.append(required(f"{path}.resources",
                             "resource rules must supply at least one resource"))
    return errs


class RoleStrategy(KindStrategy):
    namespaced = True

    def check_name(self, name: str) -> list[str]:
        return is_path_segment_name(name)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        errs: list[FieldError] = []
        for i, rule in enumerate(items(obj, "rules")):
            errs += validate_rule(rule, f"rules[{i}]", self.namespaced)
        aggregation = obj.get("aggregationRule")
        if aggregation is not None and not items(aggregation, "clusterRoleSelectors"):
            errs.append(required("aggregationRule.clusterRoleSelectors",
                                 "at least one clusterRoleSelector required if "
                                 "aggregationRule is non-nil"))
        return errs


class ClusterRoleStrategy(RoleStrategy):
    namespaced = False


class RoleBindingStrategy(KindStrategy):
    role_kinds = ["Role", "ClusterRole"]
    namespaced = True

    def check_name(self, name: str) -> list[str]:
        return is_path_segment_name(name)

    def validate_spec(self, obj: Object) -> list[FieldError]:
        ref = mapping(obj, "roleRef")
        errs: list[FieldError] = []
        if ref.get("apiGroup") != RBAC_GROUP:
            errs.append(not_supported("roleRef.apiGroup", ref.get("apiGroup", ""), [RBAC_GROUP]))
        if ref.get("kind") not in self.role_kinds:
            errs.append(not_supported("roleRef.kind", ref.get("kind", ""), self.role_kinds))
        if not ref.get("name"):
            errs.append(required("roleRef.name"))
        else:
            errs += [invalid("roleRef.name", ref["name"], m)
                     for m in is_path_segment_name(str(ref["name"]))]
        for i, subject in enumerate(items(obj, "subjects")):
            errs += self._validate_subject(subject, f"subjects[{i}]")
        return errs

    def _validate_subject(self, subject: Any, path: str) -> list[FieldError]:
        subject = subject if isinstance(subject, dict) else {}
        kind = subject.get("kind")
        errs: list[FieldError] = []
        if not subject.get("name"):
            errs.append(required(f"{path}.name"))
        if kind not in SUBJECT_KINDS:
            return [*errs, not_supported(f"{path}.kind", kind or "", SUBJECT_KINDS)]
        group = subject.get("apiGroup", "")
        if kind == "ServiceAccount":
            if group:
                errs.append(not_supported(f"{path}.apiGroup", group, [""]))
            if not self.namespaced and not subject.get("namespace"):
                errs.append(required(f"{path}.namespace"))
        elif group != RBAC_GROUP:
            errs.append(not_supported(f"{path}.apiGroup", group, [RBAC_GROUP]))
        return errs

    def validate_update(self, new: Object, old: Object) -> list[FieldError]:
        new_ref, old_ref = mapping(new, "roleRef"), mapping(old, "roleRef")
        if new_ref == old_ref:
            return []
        shown = (f"rbac.RoleRef{{APIGroup:{go_value(new_ref.get('apiGroup', ''))}, "
                 f"Kind:{go_value(new_ref.get('kind', ''))}, "
                 f"Name:{go_value(new_ref.get('name', ''))}}}")
        return [invalid_shown("roleRef", shown, "cannot change roleRef")]


class ClusterRoleBindingStrategy(RoleBindingStrategy):
    role_kinds = ["ClusterRole"]
    namespaced = False
