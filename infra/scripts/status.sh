#!/usr/bin/env bash
# Show whether the Greenlane local servers are running; exits non-zero if either is down.
set -euo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
rc=0
"$here/postgis.sh" status || rc=$?
"$here/kafka.sh" status || rc=$?
exit "$rc"
