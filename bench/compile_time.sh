#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The compile-time bench: how long a user's translation unit takes to compile, and its peak
# memory, header-only and in the compiled mode (APSCHED_SEPARATE_COMPILATION), next to the floor
# of a unit that includes only the standard headers a scheduler program includes anyway.
#
#   bench/compile_time.sh [--cxx g++] [--runs 3] [--only header-only|compiled]
#
# Each unit of bench/compile_time/ is compiled to an object file (not linked) with
# `-std=c++20 -O0`, the programs also with `-O2`, `--runs` times each; a cell is the median wall
# time of its runs, "peak MB" the largest resident set of the -O0 runs. "× floor" divides a
# unit's -O0 median by the floor's -O0 median of the same run. The compiled mode's units are the
# same files compiled with -DAPSCHED_SEPARATE_COMPILATION=1: what a user's unit costs when it links
# the library that holds the definitions, which a unit names in a "// Compiled mode: <target>"
# line (units without one have no compiled mode yet and get no compiled row).
# Needs GNU time (Debian `time`) for the peak memory, and the headers of every part (Debian
# libfmt-dev libhowardhinnant-date-dev nlohmann-json3-dev libsqlite3-dev libpq-dev).
# The numbers are only meaningful on an otherwise idle machine.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
include="${here}/../include"
units="${here}/compile_time"
cxx=${CXX:-g++}
runs=3
only=""
while (($#)); do
  case "$1" in
    --cxx) cxx=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    -h | --help) sed -n '3,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compile_time.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ ! -x /usr/bin/time ]]; then
  echo "compile_time.sh: needs GNU time at /usr/bin/time (Debian: apt-get install time)" >&2
  exit 2
fi
pg_include=$(pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
scratch=$(mktemp -d)
trap 'rm -rf "${scratch}"' EXIT

# measure FLAGS... UNIT: prints "seconds peak_kb" of one compile, or exits on a compile error.
measure() {
  local unit=${!#}
  local flags=("${@:1:$#-1}")
  if ! /usr/bin/time -o "${scratch}/time" -f '%e %M' "${cxx}" -std=c++20 "${flags[@]}" \
       -I"${include}" -I"${pg_include}" -c "${units}/${unit}.cpp" -o "${scratch}/unit.o" \
       2>"${scratch}/errors"; then
    echo "compile_time.sh: ${unit}.cpp (${flags[*]}) does not compile:" >&2
    cat "${scratch}/errors" >&2
    exit 1
  fi
  tail -n 1 "${scratch}/time"
}

# median VALUES...: the median (the lower middle of an even count).
median() { printf '%s\n' "$@" | sort -g | sed -n "$(((${#} + 1) / 2))p"; }

# row LABEL MODE_FLAGS UNIT PROGRAM: one table row; PROGRAM=1 also measures -O2.
floor=""
row() {
  local label=$1 mode=$2 unit=$3 program=$4
  local -a o0=() o2=()
  local peak=0 i result
  for ((i = 0; i < runs; ++i)); do
    # shellcheck disable=SC2086
    result=$(measure ${mode} -O0 "${unit}")
    o0+=("${result% *}")
    ((${result#* } > peak)) && peak=${result#* }
    if ((program)); then
      # shellcheck disable=SC2086
      result=$(measure ${mode} -O2 "${unit}")
      o2+=("${result% *}")
    fi
  done
  local m0 m2="" ratio
  m0=$(median "${o0[@]}")
  ((program)) && m2=$(median "${o2[@]}")
  [[ -z "${floor}" ]] && floor=${m0}
  ratio=$(awk -v a="${m0}" -v b="${floor}" 'BEGIN { printf "%.2f", a / b }')
  printf '| %s | %s | %s | %s | %d | %s |\n' "${label}" "$([[ -z ${mode} ]] && echo header-only ||
    echo compiled)" "${m0}" "${m2:--}" $((peak / 1024)) "${ratio}"
}

echo "compiler: $("${cxx}" --version | head -n 1); ${runs} runs per cell, median wall seconds"
echo
echo '| translation unit | mode | -O0 s | -O2 s | peak MB | × floor |'
echo '|:--|:--|--:|--:|--:|--:|'
row 'only `<string> <vector> <thread> <chrono> <functional> <mutex>` (floor)' '' std_headers 0
compiled=-DAPSCHED_SEPARATE_COMPILATION=1
# unit_row LABEL MODE_FLAGS UNIT PROGRAM: a row, in the compiled mode only for the units that
# name the library holding their definitions (a "// Compiled mode: <target>" line): the others
# would compile there but not link.
unit_row() {
  if [[ -n "$2" ]] && ! grep -q '^// Compiled mode: ' "${units}/$3.cpp"; then
    return 0
  fi
  row "$@"
}
for mode in '' "${compiled}"; do
  [[ "${only}" == header-only && -n "${mode}" ]] && continue
  [[ "${only}" == compiled && -z "${mode}" ]] && continue
  unit_row '`#include <apsched/apsched.hpp>`, nothing used' "${mode}" core_include 0
  unit_row 'a `BackgroundScheduler` with one interval job' "${mode}" core_interval 1
  unit_row '`#include <apsched/sqlite.hpp>`, nothing used' "${mode}" sqlite_include 0
  unit_row 'a `BackgroundScheduler<SqliteJobStore>` with one registered task and one job' \
    "${mode}" sqlite_task 1
  unit_row 'a `BackgroundScheduler<PostgresJobStore>` with one registered task and one job' \
    "${mode}" postgres_task 1
done
