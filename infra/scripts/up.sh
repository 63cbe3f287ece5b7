#!/usr/bin/env bash
# Start the Greenlane local servers (PostgreSQL/PostGIS, then Kafka); safe to re-run.
set -euo pipefail

here="$(dirname "${BASH_SOURCE[0]}")"
"$here/postgis.sh" start
"$here/kafka.sh" start
"$here/status.sh"
