#!/usr/bin/env bash
# Stop the Greenlane local servers (Kafka, then PostgreSQL/PostGIS); data is kept.
set -euo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
rc=0
"$here/kafka.sh" stop || rc=1
"$here/postgis.sh" stop || rc=1
exit "$rc"
