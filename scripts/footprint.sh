#!/usr/bin/env bash
# What a user pays for depending on each adapter: builds a scratch crate in a temporary
# directory that depends on the adapter by path (default features, as a user would), then
# prints the number of crates in `cargo tree -e normal` and checks that nothing only the
# emulator, the CLI or the examples need leaked in (h2, hyper/hyper-util server features,
# tokio macros/signal/rt-multi-thread).
#
#   scripts/footprint.sh            # both adapters, checks the limits (exit 1 if over)
#   scripts/footprint.sh --build    # also times a clean release build of presence-tokio alone
#
# Limits (issue 19): presence-tokio <= 65 crates, presence-blocking <= 52.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
build=false
[[ "${1:-}" == "--build" ]] && build=true
status=0

check() {
    local crate="$1" limit="$2" features="${3:-}"
    local dir="$scratch/$crate${features:+-$features}"
    mkdir -p "$dir/src"
    echo 'fn main() {}' >"$dir/src/main.rs"
    local spec="{ path = \"$root/crates/$crate\" }"
    if [[ -n "$features" ]]; then
        local list="$features"
        [[ "$features" == none ]] && list=""
        spec="{ path = \"$root/crates/$crate\", default-features = false, features = [$list] }"
    fi
    cat >"$dir/Cargo.toml" <<TOML
[package]
name = "scratch"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
$crate = $spec
TOML
    # Same versions as the workspace: start from its lock file (unused entries are dropped).
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    local tree
    tree="$(cd "$dir" && cargo tree -q -e normal --prefix none -f '{p}' | sed 's/ (.*//' | sort -u | grep -v '^scratch v')"
    local count
    count="$(grep -c . <<<"$tree")"
    local features_tree
    features_tree="$(cd "$dir" && cargo tree -q -e normal,features --prefix none -f '{p} [{f}]' | sort -u)"
    local forbidden=()
    grep -q '^h2 ' <<<"$tree" && forbidden+=("h2")
    for f in server server-auto http2; do
        grep -Eq "^hyper(-util)? v[^ ]+ .*\[([^]]*,)?$f(,[^]]*)?\]" <<<"$features_tree" && forbidden+=("hyper*/$f")
    done
    for f in macros signal rt-multi-thread; do
        grep -Eq "^tokio v[^ ]+ .*\[([^]]*,)?$f(,[^]]*)?\]" <<<"$features_tree" && forbidden+=("tokio/$f")
    done
    local verdict="ok"
    if [[ "$limit" == - ]]; then
        limit=999
        verdict="(for information)"
    fi
    if ((count > limit)) || ((${#forbidden[@]} > 0)); then
        verdict="OVER"
        status=1
    fi
    printf '%-18s %-28s %3d crates  forbidden: %-20s %s\n' "$crate" \
        "${features:-default features}" "$count" "${forbidden[*]:-none}" "$verdict (limit $limit)"
    if [[ -n "${FOOTPRINT_VERBOSE:-}" ]]; then
        sed 's/^/    /' <<<"$tree"
    fi
    if $build && [[ "$crate" == presence-tokio && -z "$features" ]]; then
        local start end
        start=$(date +%s.%N)
        (cd "$dir" && CARGO_TARGET_DIR="$dir/target" cargo build -q --release)
        end=$(date +%s.%N)
        printf '%-18s clean release build: %.1f s on %s cores\n' "$crate" \
            "$(echo "$end - $start" | bc)" "$(nproc)"
    fi
}

check presence-tokio 65
check presence-blocking 52
# The other TLS choices (`none`: http only): counts for information, no forbidden crate.
check presence-tokio - '"native-roots"'
check presence-tokio - none
check presence-blocking - '"native-roots"'
check presence-blocking - none
exit $status
