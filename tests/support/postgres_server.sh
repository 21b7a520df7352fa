#!/usr/bin/env bash
# The throw-away PostgreSQL server of the PostgreSQL tests (the ctest fixture postgres_server),
# from Debian's postgresql package: a data directory of its own under ${TMPDIR:-/tmp}, a free
# port on 127.0.0.1, run as the postgres user when called as root (initdb refuses root).
#   postgres_server.sh start STATE     starts a server and writes STATE, a file of key=value
#                                      lines the tests read (tests/support/postgres.hpp):
#                                      conninfo= and restart= for a running server, or skip= with
#                                      the reason there is none; prints the same lines
#   postgres_server.sh restart STATE   stops that server (fast shutdown: sessions are cut) and
#                                      starts it again on the same data and port
#   postgres_server.sh stop STATE      stops it and deletes its directory and STATE
#   postgres_server.sh check           prints why no server can be started and fails, or
#                                      prints nothing (the configure step asks this)
# APSCHED_POSTGRES_BINDIR names the directory of initdb and pg_ctl (default: the newest
# /usr/lib/postgresql/*/bin, else the directory of pg_ctl on PATH). With APSCHED_TEST_POSTGRES
# set, start starts nothing: the tests use that server.
set -euo pipefail

readonly command=${1:-}
readonly state=${2:-}
if [[ -z "${command}" || (-z "${state}" && "${command}" != check) ]]; then
  echo "usage: $0 start|restart|stop STATE, or $0 check" >&2
  exit 2
fi

# Reads key $1 from STATE (empty when STATE or the key is missing).
state_value() {
  [[ -f "${state}" ]] || return 0
  sed -n "s/^$1=//p" "${state}" | head -n1
}

# Writes STATE from its arguments (one line each) and prints them.
write_state() {
  mkdir -p "$(dirname "${state}")"
  printf '%s\n' "$@" >"${state}.new"
  mv "${state}.new" "${state}"
  printf '%s\n' "$@"
}

# Sets bindir to the directory of initdb and pg_ctl; fails when there is none.
find_bindir() {
  bindir=${APSCHED_POSTGRES_BINDIR:-}
  if [[ -z "${bindir}" ]]; then
    bindir=$(find /usr/lib/postgresql -maxdepth 2 -type d -name bin 2>/dev/null | sort -V |
      tail -n1)
  fi
  if [[ -z "${bindir}" ]] && command -v pg_ctl >/dev/null; then
    bindir=$(dirname "$(command -v pg_ctl)")
  fi
  [[ -n "${bindir}" && -x "${bindir}/pg_ctl" && -x "${bindir}/initdb" ]]
}

# Sets reason to why no server can be started here, or to empty (and bindir to the directory of
# initdb and pg_ctl): a reason to skip the tests, not a failure of the fixture.
find_server() {
  reason=""
  if ! find_bindir; then
    reason="no PostgreSQL server binaries (initdb and pg_ctl${bindir:+ in ${bindir}}): install"
    reason+=" Debian's postgresql package, or set APSCHED_TEST_POSTGRES to a server's connection"
    reason+=" string"
  elif ((EUID == 0)) && ! id postgres >/dev/null 2>&1; then
    reason="there is no postgres user to run the server as (the tests run as root)"
  fi
}

# Runs a command as the server's owner: the postgres user when we are root, else ourselves.
as_owner() {
  if ((EUID == 0)); then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# Starts the server of data directory $1/data on port $2; fails when it does not accept
# connections within a minute (or the port is taken).
start_server() {
  as_owner "${bindir}/pg_ctl" -D "$1/data" -l "$1/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c max_connections=200 -c fsync=off" \
    start >/dev/null
}

# Stops the server whose directory is $1 (fast, then immediate) and deletes the directory, but
# only when it holds a server's files: a mistaken path must not delete someone's directory.
remove_server() {
  local root=$1
  [[ -n "${root}" && -d "${root}" ]] || return 0
  if [[ ! -f "${root}/data/PG_VERSION" && -n "$(ls -A "${root}")" ]]; then
    echo "error: ${root} holds no PostgreSQL data directory; not deleting it" >&2
    return 1
  fi
  if [[ -f "${root}/data/postmaster.pid" ]]; then
    as_owner "${bindir}/pg_ctl" -D "${root}/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
      as_owner "${bindir}/pg_ctl" -D "${root}/data" -m immediate stop >/dev/null 2>&1 || true
  fi
  rm -rf "${root}"
}

case "${command}" in
  start)
    if [[ -n "${APSCHED_TEST_POSTGRES:-}" ]]; then
      write_state "external=the tests use the server of APSCHED_TEST_POSTGRES"
      exit 0
    fi
    find_server
    if [[ -n "${reason}" ]]; then
      write_state "skip=${reason}"
      exit 0
    fi
    # A server an interrupted run left behind.
    remove_server "$(state_value root)"
    rm -f "${state}"
    root=$(mktemp -d "${TMPDIR:-/tmp}/apsched-test-postgres.XXXXXX")
    chmod 755 "${root}"
    if ((EUID == 0)); then
      chown postgres:postgres "${root}"
    fi
    as_owner "${bindir}/initdb" -D "${root}/data" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >"${root}/initdb.log" 2>&1 ||
      { cat "${root}/initdb.log" >&2; rm -rf "${root}"; exit 1; }
    # A random port that nothing listens on; another process may take it first, so a start that
    # fails because the port is taken tries another.
    for _ in $(seq 1 20); do
      port=$((20000 + RANDOM % 40000))
      if (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
        continue
      fi
      if start_server "${root}" "${port}"; then
        write_state "root=${root}" \
          "conninfo=host=127.0.0.1 port=${port} user=postgres dbname=postgres" \
          "restart=bash '$(realpath "$0")' restart '$(realpath "${state}")'"
        exit 0
      fi
      if ! grep -q "could not bind\|Address already in use" "${root}/server.log"; then
        break
      fi
    done
    echo "error: the test server did not start; its log:" >&2
    cat "${root}/server.log" >&2 || true
    rm -rf "${root}"
    exit 1
    ;;
  restart)
    root=$(state_value root)
    if [[ -z "${root}" || ! -f "${root}/data/postmaster.pid" ]]; then
      echo "error: no test server is running for ${state}" >&2
      exit 1
    fi
    find_bindir
    # The fourth line of postmaster.pid is the port the server listens on.
    port=$(sed -n 4p "${root}/data/postmaster.pid")
    as_owner "${bindir}/pg_ctl" -D "${root}/data" -m fast -w -t 60 stop >/dev/null
    start_server "${root}" "${port}"
    ;;
  check)
    find_server
    [[ -z "${reason}" ]] || { echo "${reason}"; exit 1; }
    ;;
  stop)
    root=$(state_value root)
    if [[ -n "${root}" ]]; then
      find_bindir
      remove_server "${root}"
    fi
    rm -f "${state}"
    ;;
  *)
    echo "usage: $0 start|restart|stop STATE, or $0 check" >&2
    exit 2
    ;;
esac
