#!/usr/bin/env bash
# Make sure the `hey` HTTP load generator (github.com/rakyll/hey) is built with this machine's Go into
# $CACHE/bin (idempotent; needs Go and the Go module proxy the first time); prints its path.
# Used by the API benchmark (bench/api.py, `make bench-api`).
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

HEY_VERSION="${GREENLANE_HEY_VERSION:-v0.1.4}"
BIN_DIR="$CACHE/bin"
HEY="$BIN_DIR/hey"
STAMP="$BIN_DIR/.hey-$HEY_VERSION"

if [[ ! -x "$HEY" || ! -f "$STAMP" ]]; then
    command -v go >/dev/null 2>&1 || die "Go is needed to build hey (https://go.dev/dl/)"
    log "building hey $HEY_VERSION with $(go version | cut -d' ' -f3) into $BIN_DIR (one-off)"
    mkdir -p "$BIN_DIR"
    GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/rakyll/hey@$HEY_VERSION" >&2 \
        || die "go install github.com/rakyll/hey@$HEY_VERSION failed"
    rm -f "$BIN_DIR"/.hey-*
    touch "$STAMP"
fi
echo "$HEY"
