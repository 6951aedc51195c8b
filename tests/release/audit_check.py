"""Checks the dependency list that `cargo auditable` embedded in a healthprobe release binary.

    rust-audit-info BINARY > audit.json
    python3 tests/release/audit_check.py audit.json VERSION THIRD-PARTY-LICENSES.md

Prints one `ok    ...` or `FAIL  ...` line per check (scripts/check-release.sh counts them).
"""
import json, re, sys
path, version, tpl = sys.argv[1:4]
ok = lambda m: print(f"ok    {m}")
bad = lambda m: print(f"FAIL  {m}")
try:
    data = json.load(open(path))
    pkgs = data["packages"]
except Exception as e:  # noqa: BLE001
    bad(f"the embedded dependency list does not parse: {e}"); sys.exit(0)
ok(f"it parses: {len(pkgs)} packages")
by = {p["name"]: p for p in pkgs}
for name in ("healthprobe", "ureq", "rustls", "ring"):
    if name in by:
        ok(f"it names {name} {by[name]['version']}")
    else:
        bad(f"it does not name {name}")
root = [p for p in pkgs if p.get("root")]
if root and root[0]["name"] == "healthprobe" and root[0]["version"] == version:
    ok(f"its root is healthprobe {version}")
else:
    bad(f"its root is {root[:1]}, expected healthprobe {version}")
others = sorted({p.get("source", "?") for p in pkgs if p["name"] != "healthprobe"})
if others == ["crates.io"]:
    ok("every dependency comes from crates.io")
else:
    bad(f"dependency sources: {others}")
runtime = {(p["name"], p["version"]) for p in pkgs
           if p.get("kind", "runtime") == "runtime" and p["name"] != "healthprobe"}
listed = set()
for line in open(tpl):
    m = re.match(r"^\| ([A-Za-z0-9_.-]+) \| ([0-9][^ |]*) \|", line)
    if m:
        listed.add((m.group(1), m.group(2)))
if runtime == listed:
    ok(f"THIRD-PARTY-LICENSES.md lists exactly the {len(runtime)} runtime crates in the binary")
else:
    bad("THIRD-PARTY-LICENSES.md and the binary differ: only in the binary "
        f"{sorted(runtime - listed)}, only in the file {sorted(listed - runtime)}")
