#!/usr/bin/env bash
# Supply-chain checks of the dependency tree; .ci/run runs them before the tests.
#  1. The `rsa` crate (RUSTSEC-2023-0071, an unpatched timing side channel) is nowhere in
#     Cargo.lock nor in the workspace's dependency graph.
#  2. `cargo deny check` with deny.toml: bans, licenses and sources always; advisories against
#     the RustSec advisory database when one can be had (see below). Installs the pinned
#     cargo-deny when it is missing (a few minutes of compiling, once per machine).
set -euo pipefail
cd "$(dirname "$0")/.."

# 1. rsa. Cargo.lock holds every package any feature of any member can resolve to.
if grep -qx 'name = "rsa"' Cargo.lock; then
  echo "supply chain: the rsa crate (RUSTSEC-2023-0071) is in Cargo.lock" >&2
  cargo tree --workspace --locked --target all -i rsa >&2 || true
  exit 1
fi
# `cargo tree -i rsa` succeeds only when rsa is in the graph, and fails with "did not match
# any packages" when it is absent: any other outcome fails the check.
if tree_out=$(cargo tree --workspace --locked --target all -e normal,build,dev -i rsa 2>&1); then
  printf '%s\n' "$tree_out" >&2
  echo "supply chain: the rsa crate (RUSTSEC-2023-0071) is in the dependency graph" >&2
  exit 1
elif ! grep -q 'did not match any packages' <<<"$tree_out"; then
  printf '%s\n' "$tree_out" >&2
  echo "supply chain: cargo tree failed, the rsa check could not run" >&2
  exit 1
fi
echo "supply chain: rsa (RUSTSEC-2023-0071) is not in the dependency tree"

# 2. cargo deny, pinned.
DENY_VERSION=0.20.2
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
  echo "supply chain: installing cargo-deny $DENY_VERSION" >&2
  # In a temporary target dir of its own, not the workspace's.
  env -u CARGO_TARGET_DIR cargo install --locked --quiet cargo-deny --version "$DENY_VERSION"
fi

# Warnings (duplicate versions) without their inclusion graphs; errors again with them.
if ! cargo deny --locked check --hide-inclusion-graph bans licenses sources; then
  cargo deny --locked --log-level error check bans licenses sources || true
  exit 1
fi

# Advisories need the RustSec advisory database, a git repository cargo-deny clones from
# GitHub into $CARGO_HOME/advisory-dbs. Where it cannot be fetched (a network that reaches
# only the package registries), a local copy is used if there is one; with none, the check is
# reported as not run. A database that lists an advisory for a crate of the graph fails the
# run, however old it is; its date is printed, and a warning when it is over 90 days old.
db_root="${CARGO_HOME:-$HOME/.cargo}/advisory-dbs"
db_age() {
  local date age
  date=$(git -C "$1" log -1 --format=%cs HEAD)
  age=$((($(date +%s) - $(git -C "$1" log -1 --format=%ct HEAD)) / 86400))
  echo "supply chain: checking advisories against the RustSec database of $date ($age days old)"
  if [ "$age" -gt 90 ]; then
    echo "supply chain: ADVISORIES PUBLISHED AFTER $date NOT CHECKED: the database could not" \
      "be brought up to date"
  fi
}
if timeout 300 cargo deny --log-level error fetch db; then
  for d in "$db_root"/advisory-db-*/; do
    if [ -d "$d" ]; then db_age "$d"; fi
  done
  cargo deny --locked check advisories
else
  db=""
  for d in "$db_root"/advisory-db-*/; do
    if [ -d "$d" ] && git -C "$d" rev-parse --verify -q HEAD >/dev/null; then db="$d"; break; fi
  done
  if [ -z "$db" ]; then
    echo "supply chain: ADVISORIES NOT CHECKED: the RustSec advisory database could not be" \
      "fetched from this network and there is no local copy in $db_root"
  else
    echo "supply chain: the RustSec advisory database could not be fetched; using the local" \
      "copy in $db"
    # (A failed fetch leaves FETCH_HEAD new, so cargo-deny's own staleness test passes: the
    # age printed by db_age, from the newest commit, is the one that tells.)
    db_age "$db"
    cargo deny --locked --offline check advisories
  fi
fi
