#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asios-base's Falco rules (packages/asios-base/falco-rules.yaml), checked against Falco's documented rules-file
format: a YAML list of items, each a rule, a macro, a list or required_engine_version; a rule has desc, condition,
output and a priority Falco knows, no key Falco does not; names are unique; every asios_* macro and list a
condition uses is defined before it; parentheses balance; and every intent of the auditd rules (their keys) has a
Falco rule tagged with it. Falco is not in Debian's archive: no Falco engine compiles the conditions here (the
file says so), and a check fails once on purpose to show that the checks bite."""
import copy
import os
import re
import sys

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import TOP, check, done  # noqa: E402

RULES = os.path.join(TOP, "packages", "asios-base", "falco-rules.yaml")
AUDIT = os.path.join(TOP, "packages", "asios-base", "audit.rules")
# the keys of a rules file item (Falco's documentation: rules, macros, lists, exceptions, overrides)
RULE_KEYS = {"rule", "desc", "condition", "output", "priority", "exceptions", "enabled", "tags", "warn_evttypes",
             "skip-if-unknown-filter", "source", "append", "override", "capture", "capture_duration"}
MACRO_KEYS = {"macro", "condition", "append", "override"}
LIST_KEYS = {"list", "items", "append", "override"}
PRIORITIES = {"emergency", "alert", "critical", "error", "warning", "notice", "info", "informational", "debug"}


def problems(items):
    """what is wrong with the rules file's items, one line each"""
    out, names, defined = [], set(), set()
    if not isinstance(items, list):
        return ["the file is not a YAML list"]
    for i, it in enumerate(items):
        where = "item %d" % (i + 1)
        if not isinstance(it, dict):
            out.append("%s: not a mapping" % where)
            continue
        kinds = [k for k in ("rule", "macro", "list", "required_engine_version") if k in it]
        if len(kinds) != 1:
            out.append("%s: is %s (one of rule, macro, list, required_engine_version)" % (where, kinds or "nothing"))
            continue
        kind = kinds[0]
        if kind == "required_engine_version":
            continue
        name = it[kind]
        where = "%s %r" % (kind, name)
        allowed = {"rule": RULE_KEYS, "macro": MACRO_KEYS, "list": LIST_KEYS}[kind]
        out += ["%s: unknown key %r" % (where, k) for k in it if k not in allowed]
        if (kind, name) in names:
            out.append("%s: defined twice" % where)
        names.add((kind, name))
        if kind == "rule":
            out += ["%s: no %s" % (where, k) for k in ("desc", "condition", "output", "priority") if not it.get(k)]
            if str(it.get("priority", "")).lower() not in PRIORITIES:
                out.append("%s: priority %r is not one Falco knows" % (where, it.get("priority")))
        if kind == "list" and not isinstance(it.get("items"), list):
            out.append("%s: items is not a list" % where)
        cond = it.get("condition", "")
        if kind in ("rule", "macro"):
            depth = 0
            for c in cond:
                depth += {"(": 1, ")": -1}.get(c, 0)
                if depth < 0:
                    break
            if depth:
                out.append("%s: unbalanced parentheses" % where)
            out += ["%s: uses %s before it is defined" % (where, ref)
                    for ref in sorted(set(re.findall(r"\basios_\w+", cond))) if ref not in defined]
        defined.add(name)
    return out


def main():
    with open(RULES, encoding="utf-8") as f:
        text = f.read()
    items = yaml.safe_load(text)
    p = problems(items)
    check(not p, "falco-rules.yaml follows Falco's rules-file format", "\n".join(p))
    check("not in Debian's archive" in text and "no Falco engine" in text,
          "the file says plainly that no Falco engine checked it here")
    rules = [it for it in items if isinstance(it, dict) and "rule" in it]
    check(all("asios" in it.get("tags", []) for it in rules), "every rule is tagged asios")
    with open(AUDIT, encoding="utf-8") as f:
        keys = sorted(set(re.findall(r"-k (asios-[\w-]+)", f.read())) - {"asios-accel-allow"})
    for key in keys:
        check(any(key in it.get("tags", []) for it in rules), "the auditd intent %s has a Falco rule" % key)
    # the checks bite: a rule without output, an unknown priority, a macro used before it exists
    broken = copy.deepcopy(items)
    r = next(it for it in broken if "rule" in it)
    del r["output"]
    r["priority"] = "SEVERE"
    r["condition"] = "asios_nowhere and (" + r["condition"]
    p = problems(broken)
    check(any("no output" in x for x in p) and any("SEVERE" in x for x in p) and
          any("asios_nowhere" in x for x in p) and any("unbalanced" in x for x in p),
          "a broken rule is reported (no output, unknown priority, undefined macro, parentheses)", "\n".join(p))
    return done()


if __name__ == "__main__":
    sys.exit(main())
