# Shared settings and helpers for the Greenlane local-server scripts (source this, do not run it).
# shellcheck shell=bash

# Options (set -euo pipefail) are set by the calling script, not here, so sourcing
# this file into an interactive shell does not change that shell.
: "${BASH_VERSION:?common.sh needs bash}"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
GREENLANE_HOME="${GREENLANE_HOME:-$ROOT/.local}"
PG_PORT="${GREENLANE_PG_PORT:-55432}"
KAFKA_PORT="${GREENLANE_KAFKA_PORT:-59092}"
KAFKA_CONTROLLER_PORT="${GREENLANE_KAFKA_CONTROLLER_PORT:-59093}"
KAFKA_VERSION="${GREENLANE_KAFKA_VERSION:-3.9.1}"
CACHE="${GREENLANE_CACHE:-$HOME/.cache/greenlane}"
LOG_DIR="$GREENLANE_HOME/logs"

export ROOT GREENLANE_HOME PG_PORT KAFKA_PORT KAFKA_CONTROLLER_PORT KAFKA_VERSION CACHE LOG_DIR

# log MESSAGE... : timestamped message on stderr, prefixed with the calling script's name.
log() {
    printf '%s [%s] %s\n' "$(date '+%H:%M:%S')" "$(basename "${0:-greenlane}" .sh)" "$*" >&2
}

# die MESSAGE... : print an error and exit 1.
die() {
    printf '%s [%s] ERROR: %s\n' "$(date '+%H:%M:%S')" "$(basename "${0:-greenlane}" .sh)" "$*" >&2
    exit 1
}

# Exit code a wait_for COMMAND can return to say "this will never succeed, stop waiting".
WAIT_GIVE_UP=99

# wait_for TIMEOUT_SECONDS LOG_FILE DESCRIPTION COMMAND [ARGS...]
# Polls COMMAND once a second until it succeeds. On timeout (or when COMMAND
# returns $WAIT_GIVE_UP) prints the last 40 lines of LOG_FILE and dies.
wait_for() {
    local timeout="$1" logfile="$2" what="$3"
    shift 3
    local deadline=$((SECONDS + timeout)) rc
    while true; do
        rc=0
        "$@" >/dev/null 2>&1 || rc=$?
        ((rc == 0)) && return 0
        if ((rc == WAIT_GIVE_UP || SECONDS >= deadline)); then
            if ((rc == WAIT_GIVE_UP)); then
                log "gave up waiting for $what"
            else
                log "timed out after ${timeout}s waiting for $what"
            fi
            if [[ -f "$logfile" ]]; then
                echo "----- last 40 lines of $logfile -----" >&2
                tail -n 40 "$logfile" >&2
                echo "-----" >&2
            else
                log "(log file $logfile does not exist)"
            fi
            die "$what did not come up"
        fi
        sleep 1
    done
}

# port_in_use PORT : true if something accepts TCP connections on 127.0.0.1:PORT
# (or, when ss is available, if anything listens on PORT on any address).
port_in_use() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        ss -Htln "sport = :$port" 2>/dev/null | grep -q . && return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

# port_owner PORT : best-effort "name (pid N)" of the process listening on PORT.
port_owner() {
    local port="$1" owner=""
    if command -v ss >/dev/null 2>&1; then
        owner="$(ss -Htlnp "sport = :$port" 2>/dev/null \
            | sed -n 's/.*users:(("\([^"]*\)",pid=\([0-9]*\).*/\1 (pid \2)/p' | head -n 1)"
    fi
    echo "${owner:-an unknown process}"
}
