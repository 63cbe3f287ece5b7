#!/usr/bin/env bash
# Make sure Debian's headless-capable Chromium is installed (idempotent); prints its path.
# Used by the dashboard's browser test (tests/integration/test_dashboard.py).
set -euo pipefail
# shellcheck source=infra/scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

find_chromium() { command -v chromium || command -v chromium-browser || true; }

found="$(find_chromium)"
if [[ -z "$found" ]]; then
    [[ $EUID -eq 0 ]] || die "need root to install chromium (run as root or: apt-get install -y chromium)"
    log "installing chromium (one-off)"
    if ! apt-cache show chromium >/dev/null 2>&1 || apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: (none)'; then
        log "apt package lists lack chromium; running apt-get update"
        apt-get update -qq
    fi
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; then
        log "install failed; retrying after apt-get update (package lists may be stale)"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core \
            || die "apt-get install chromium failed"
    fi
    found="$(find_chromium)"
    [[ -n "$found" ]] || die "chromium still missing after install"
fi
echo "$found"
