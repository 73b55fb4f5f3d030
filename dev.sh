#!/usr/bin/env bash
# opsflow's two set-up commands for a fresh machine (see README.md):
#   ./dev.sh demo   install opsflow into .venv and run a procedure on the embedded SQLite store
#   ./dev.sh test   install system packages + opsflow[test] into .venv, make sure PostgreSQL
#                   runs on 127.0.0.1:5432, and run the whole test suite
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}

venv() {
  if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".$1"
}

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

system_packages() {
  # graphviz: SVG diagrams in the site; chromium + driver: the browser test of the site
  local need=()
  command -v dot >/dev/null 2>&1 || need+=(graphviz)
  command -v chromium >/dev/null 2>&1 || need+=(chromium chromium-driver)
  command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
  if [ ${#need[@]} -gt 0 ]; then
    echo "installing system packages: ${need[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${need[@]}" >/dev/null
  fi
}

postgres() {
  # The tests use a real PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`).
  if pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  echo "starting PostgreSQL"
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
  pg_isready -h 127.0.0.1 -p 5432
  psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" postgres | grep -q 1 \
    || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" postgres
}

demo() {
  # The main job on the embedded SQLite store (.opsflow/opsflow.db in this folder):
  # check the examples, then run the content-publishing procedure from brief to publish.
  local of=.venv/bin/opsflow sop=sops/content-publishing.sop run
  export OPSFLOW_USER=cara
  set -x
  "$of" check --strict sops/
  { set +x; } 2>/dev/null
  run=$("$of" start "$sop" --title "ACME spring campaign" \
      --role writer=wendy --role editor=ed --role account=cara --role client=carol,dave \
      --role seo=sam --role finance=fin --field budget=12000 | tee /dev/stderr \
      | sed -n 's/^started run \([0-9]*\).*/\1/p')
  set -x
  "$of" status "$run"
  "$of" tick "$run" 1 --as wendy
  "$of" tick "$run" 2 --as wendy
  "$of" handoff "$run" --as wendy
  "$of" tick "$run" 1 --as wendy
  "$of" tick "$run" 2 --as wendy
  "$of" handoff "$run" --as wendy
  "$of" approve "$run" --as ed --comment "Reads well"
  "$of" reject "$run" --as carol --comment "The product name is wrong in the title"
  "$of" approve "$run" --as dave --comment "Fine once the title is fixed"
  "$of" inbox fin
  "$of" approve "$run" --as fin --comment "Within budget"
  "$of" tick "$run" 1 --as ed
  "$of" handoff "$run" --as ed
  "$of" status "$run"
  "$of" history "$run"
  "$of" verify "$run"
  { set +x; } 2>/dev/null
  echo "demo finished: run $run is stored in .opsflow/opsflow.db"
}

case "${1:-}" in
  demo)
    venv ""
    demo
    ;;
  test)
    system_packages
    postgres
    venv "[test]"
    shift
    # The test command (README.md): the whole suite, two workers
    exec .venv/bin/python -m pytest -n 2 "$@"
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
