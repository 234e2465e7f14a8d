#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one bounded run, loopback only: ingest (durable and default mode) with wrk,
# the in-process parse ceiling, 202 latency and log visibility at 40 requests/s, engine throughput, start-up
# time and idle memory, memory with 1,000,000 users and their log entries, and the SCIM service provider's
# create rate against scim2-server's (PyPI; installed into target/py-venv from tests/python/requirements.txt, as
# the test suite does), also with each server and its client on one CPU, then the PostgreSQL backend's ingest,
# 202 latency and log visibility, and engine throughput (on a throwaway PostgreSQL server started here: initdb
# into the work directory, 127.0.0.1, default durability; as the `postgres` user when run as root). Prints a
# table and writes bench/results.json (flat keys, units in the names).
#
# Usage: bench/run.sh            (about 9 minutes after the release build on 2 cores)
#        BENCH_PG_USERS=20000 bench/run.sh   (users loaded for the PostgreSQL engine figure; 20,000 by default)
#        BENCH_USERS=100000 bench/run.sh   (a smaller memory run)
#        BENCH_SCIM_ROUNDS=5 bench/run.sh  (rounds of the SCIM comparison, 3 by default; about a minute each)
#        BENCH_BIN=path/to/entra-inbound BENCH_ENGINE=path/to/engine-bench bench/run.sh
#                                          (another build's binaries, for side-by-side comparisons; the load
#                                          generators stay this tree's); BENCH_OUT=FILE writes the
#                                          results there instead of bench/results.json
set -euo pipefail
cd "$(dirname "$0")/.."

USERS_1M=${BENCH_USERS:-1000000}
PG_USERS=${BENCH_PG_USERS:-20000}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] \
  || { echo "bench/run.sh: PostgreSQL's server binaries are needed (Debian: apt-get install postgresql)" >&2; exit 1; }

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  fi
  command -v wrk >/dev/null || { echo "bench/run.sh: wrk is needed (Debian: apt-get install wrk)" >&2; exit 1; }
fi

echo "== building (release)"
cargo build --release --locked --bin entra-inbound 2>&1 | tail -1
bench_bin() {
  cargo bench --locked --no-run --bench "$1" --message-format=json 2>/dev/null |
    python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["bench"]:
        print(m["executable"])'
}
BIN=${BENCH_BIN:-target/release/entra-inbound}
ENGINE=${BENCH_ENGINE:-$(bench_bin engine)}
FIGURES=$(bench_bin figures)
TOKEN=$("$BIN" token)
export TOKEN

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The command that servers and clients run under: nothing, or `taskset` for the SCIM figures on one CPU.
PIN=()
# serve NAME [ARGS…]: starts the emulator with config $WORK/NAME.toml; sets PORT and PID.
serve() {
  local name=$1
  shift
  PORT=$(free_port)
  "${PIN[@]}" "$BIN" serve --listen "127.0.0.1:$PORT" --config "$WORK/$name.toml" "$@" >"$WORK/$name.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  ready "http://127.0.0.1:$PORT/health" "the emulator ($name)" "$WORK/$name.log"
}
# ready URL WHAT LOG: waits up to 10 s for URL to answer; otherwise prints LOG and stops the run.
ready() {
  for _ in $(seq 1 200); do
    curl -fsS "$1" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "bench/run.sh: $2 did not start; its log:" >&2
  cat "$3" >&2
  exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; }

job_config() { # state rate_limit queue_capacity
  cat <<EOF
[staging]
queue_capacity = $3
[[service_principals]]
id = "c0ffee00-0000-4000-8000-0000000000a1"
display_name = "API-driven provisioning to Microsoft Entra ID"
[[service_principals.jobs]]
id = "API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1"
state = "$1"
rate_limit = $2
EOF
}
job_config paused 1000000 100000000 >"$WORK/paused.toml"
job_config started 1000 100000 >"$WORK/latency.toml"
job_config started 1000000 100000000 >"$WORK/load.toml"

"$FIGURES" body 0 >"$WORK/body.json"
cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/scim+json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
local f = io.open(os.getenv("BODY"), "r")
wrk.body = f:read("*a")
f:close()
EOF
export BODY="$WORK/body.json"

# ingest: requests/s × 50 operations, paused job (nothing but staging), quota lifted.
ingest() {
  local out
  out=$(wrk -t1 -c8 -d10s -s "$WORK/post.lua" \
    "http://127.0.0.1:$PORT/v1.0/servicePrincipals/c0ffee00-0000-4000-8000-0000000000a1/synchronization/jobs/API2AAD.c0ffee00000040008000000000000001.c0ffee00-0000-4000-8000-0000000000b1/bulkUpload")
  if grep -q "Non-2xx" <<<"$out"; then echo "bench/run.sh: uploads were refused:" >&2; echo "$out" >&2; exit 1; fi
  awk '/Requests\/sec/ { printf "%.0f", $2 * 50 }' <<<"$out"
}

echo "== ingest, durable (--data-dir, synchronous=full), job paused"
serve paused --data-dir "$WORK/durable"
INGEST_DURABLE=$(ingest)
stop
echo "   $INGEST_DURABLE operations/s"

echo "== ingest, default mode, job paused"
serve paused
INGEST_MEMORY=$(ingest)
stop
echo "   $INGEST_MEMORY operations/s"

echo "== parse ceiling (in process, every core)"
CEILING=$("$FIGURES" ceiling 5)
echo "   $CEILING"

echo "== 40 requests/s of 50 new users (2,000 operations/s), default mode: 202 latency and log visibility"
serve latency
LATENCY=$("$FIGURES" latency "http://127.0.0.1:$PORT" "$TOKEN" 15 40)
stop
echo "   $LATENCY"

echo "== engine, default mappings (20,000 users: creates, updates, unchanged), default mode and --data-dir"
ENGINE_OUT=$(ENGINE_BENCH_USERS=20000 "$ENGINE" --bench)
echo "$ENGINE_OUT" | sed 's/^/   /'

echo "== start → /health 200 (median of 10) and idle memory"
START=$("$FIGURES" start "$BIN" 10)
echo "   $START"

echo "== $USERS_1M users and their log entries, default mode, quota lifted"
serve load
LOAD=$("$FIGURES" load "http://127.0.0.1:$PORT" "$TOKEN" "$USERS_1M" 4)
MEMORY=$("$FIGURES" memory "$PID")
stop
echo "   $LOAD"
echo "   $MEMORY"

# The SCIM rates of both servers move by about a fifth from one minute to the next on a shared VM: the workload
# runs in rounds, each measuring this emulator and then scim2-server back to back on fresh servers, and the
# figures are the medians of the rounds (each round's rates are kept in results.json too).
# Each round then measures both again with the server and the client on one CPU (`taskset`). One sequential
# client leaves the CPUs idle between its requests, and on a VM whose idle vCPUs halt, every round trip then
# waits for two of them to wake (BENCHMARKS.md, "Why a sequential POST is bound on this VM"). On one CPU the
# round trip is the two programs' work and two context switches: it measures the servers, not the wake-ups.
SCIM_ROUNDS=${BENCH_SCIM_ROUNDS:-3}
command -v taskset >/dev/null || { echo "bench/run.sh: taskset is needed (Debian: apt-get install util-linux)" >&2; exit 1; }
ONE_CPU=$(python3 -c 'import os; print(min(os.sched_getaffinity(0)))')
CPUIDLE="$(cat /sys/devices/system/cpu/cpuidle/current_driver 2>/dev/null || echo unknown)"
if [ -r /sys/module/haltpoll/parameters/guest_halt_poll_ns ]; then
  CPUIDLE="$CPUIDLE, guest_halt_poll_ns $(cat /sys/module/haltpoll/parameters/guest_halt_poll_ns)"
fi
echo "== SCIM service provider: 10,000 users in /Bulk requests of 50, then 2,000 single POST /Users, one sequential client, default mode; $SCIM_ROUNDS rounds alternating with scim2-server, each also on CPU $ONE_CPU alone (cpuidle: $CPUIDLE)"
VENV=target/py-venv
REQUIREMENTS=tests/python/requirements.txt
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || { echo "bench/run.sh: python3 -m venv failed (install python3-venv)" >&2; exit 1; }
fi
if ! cmp -s "$REQUIREMENTS" "$VENV/installed-requirements.txt"; then
  "$VENV/bin/python" -m pip install --disable-pip-version-check --quiet -r "$REQUIREMENTS" \
    || { echo "bench/run.sh: pip install -r $REQUIREMENTS failed (needs PyPI)" >&2; exit 1; }
  cp "$REQUIREMENTS" "$VENV/installed-requirements.txt"
fi
# serve_scim2_server: starts scim2-server (its own test server, in memory); sets PORT and PID.
serve_scim2_server() {
  PORT=$(free_port)
  "${PIN[@]}" "$VENV/bin/scim2-server" --hostname 127.0.0.1 --port "$PORT" >"$WORK/scim2-server.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  ready "http://127.0.0.1:$PORT/ServiceProviderConfig" scim2-server "$WORK/scim2-server.log"
}
# scim_pair: one round's figures of both servers, under $PIN, as `[ours, theirs]`.
scim_pair() {
  local ours theirs
  serve scim
  ours=$("${PIN[@]}" "$FIGURES" scim "http://127.0.0.1:$PORT/scim/v2" "$TOKEN" 10000 50 2000)
  stop
  serve_scim2_server
  theirs=$("${PIN[@]}" "$FIGURES" scim "http://127.0.0.1:$PORT" unused 10000 50 2000)
  stop
  echo "[$ours,$theirs]"
}
: >"$WORK/scim.toml"
SCIM_ROUNDS_OUT=()
for round in $(seq 1 "$SCIM_ROUNDS"); do
  free=$(scim_pair)
  PIN=(taskset -c "$ONE_CPU")
  one=$(scim_pair)
  PIN=()
  SCIM_ROUNDS_OUT+=("{\"free\":$free,\"one_cpu\":$one}")
  echo "   round $round: entra-inbound, scim2-server $free; on CPU $ONE_CPU: $one"
done
SCIM=$(IFS=,; echo "[${SCIM_ROUNDS_OUT[*]}]")

echo "== PostgreSQL backend: a throwaway server (default durability: fsync, synchronous_commit on)"
AS_PG=()
if [ "$(id -u)" = 0 ]; then
  AS_PG=(runuser -u postgres --)
  chown postgres: "$WORK"
fi
PGPORT=$(free_port)
"${AS_PG[@]}" "$PGBIN/initdb" -U postgres --auth=trust -E UTF8 --locale=C -D "$WORK/pg" >/dev/null
"${AS_PG[@]}" "$PGBIN/pg_ctl" -w -D "$WORK/pg" -l "$WORK/pg.log" \
  -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $WORK -c max_connections=100" start >/dev/null
pg_stop() { "${AS_PG[@]}" "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true; }
trap 'pg_stop; cleanup' EXIT
# serve_pg NAME: serve NAME on a new database of its own.
serve_pg() {
  local db="bench_$1"
  "$PGBIN/psql" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
  export ENTRA_INBOUND__STORAGE__BACKEND=postgres
  export ENTRA_INBOUND__STORAGE__URL="postgres://postgres@127.0.0.1:$PGPORT/$db"
  serve "$1"
  unset ENTRA_INBOUND__STORAGE__BACKEND ENTRA_INBOUND__STORAGE__URL
}

echo "== ingest, PostgreSQL, job paused"
serve_pg paused
INGEST_PG=$(ingest)
stop
echo "   $INGEST_PG operations/s"

echo "== 40 requests/s of 50 new users, PostgreSQL: 202 latency and log visibility"
serve_pg latency
LATENCY_PG=$("$FIGURES" latency "http://127.0.0.1:$PORT" "$TOKEN" 15 40)
stop
echo "   $LATENCY_PG"

echo "== engine, PostgreSQL: $PG_USERS users loaded, quota lifted (uploads, then every log entry visible)"
serve_pg load
LOAD_PG=$("$FIGURES" load "http://127.0.0.1:$PORT" "$TOKEN" "$PG_USERS" 4)
stop
echo "   $LOAD_PG"

MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/ {print $2}') GiB, Linux $(uname -r)"
python3 - "$INGEST_DURABLE" "$INGEST_MEMORY" "$CEILING" "$LATENCY" "$ENGINE_OUT" "$START" "$LOAD" "$MEMORY" "$MACHINE" "$USERS_1M" "$SCIM" "$CPUIDLE" "$INGEST_PG" "$LATENCY_PG" "$LOAD_PG" "$PG_USERS" <<'EOF'
import json, os, re, statistics, sys
out = os.environ.get("BENCH_OUT", "bench/results.json")
durable, memory, ceiling, latency, engine, start, load, mem, machine, users, scim, cpuidle, pg_ingest, pg_latency, pg_load, pg_users = sys.argv[1:]
ceiling, latency, start, load, mem, scim = (json.loads(x) for x in (ceiling, latency, start, load, mem, scim))
r = {
    "mode": "release",
    "machine": machine,
    "cpuidle": cpuidle,
    "ingest_durable_ops_per_s": int(durable),
    "ingest_memory_ops_per_s": int(memory),
    "parse_ceiling_ops_per_s": int(ceiling["parse_ceiling_ops_per_s"]),
}
r["ingest_memory_ratio_of_ceiling"] = round(r["ingest_memory_ops_per_s"] / r["parse_ceiling_ops_per_s"], 2)
r["ingest_durable_ratio_of_ceiling"] = round(r["ingest_durable_ops_per_s"] / r["parse_ceiling_ops_per_s"], 2)
r["latency_40rps_p50_ms"] = latency["latency_p50_ms"]
r["latency_40rps_p99_ms"] = latency["latency_p99_ms"]
r["visible_2000ops_p50_ms"] = latency["visible_p50_ms"]
r["visible_2000ops_p99_ms"] = latency["visible_p99_ms"]
for m in re.finditer(r"engine/(\w+)/(\w+)\s+\d+ operations in [\d.]+ s = (\d+) operations/s", engine):
    r[f"engine_{m[1]}_{m[2]}_ops_per_s"] = int(m[3])
r["start_ms"] = start["start_ms"]
r["idle_rss_mib"] = start["idle_rss_mib"]
scale = "1m" if int(users) == 1000000 else f"{int(users) // 1000}k"
r[f"rss_{scale}_users_mib"] = mem["total_mib"]
r[f"rss_{scale}_users_process_mib"] = mem["rss_mib"]
r[f"files_{scale}_users_mib"] = mem["files_mib"]
r[f"peak_rss_{scale}_users_mib"] = mem["peak_rss_mib"]
r[f"load_{scale}_users_s"] = load["total_s"]
for placement, suffix in (("free", ""), ("one_cpu", "_one_cpu")):
    for index, name in ((0, "scim"), (1, "scim2_server")):
        for rate in ("bulk_users_per_s", "post_users_per_s"):
            rounds = [x[placement][index][rate] for x in scim]
            key = f"{name}{suffix}_{rate}"
            r[key] = int(statistics.median(rounds))
            r[f"{key}_rounds"] = [int(x) for x in rounds]
    for kind in ("bulk", "post"):
        r[f"scim_{kind}{suffix}_ratio_to_scim2_server"] = round(
            r[f"scim{suffix}_{kind}_users_per_s"] / r[f"scim2_server{suffix}_{kind}_users_per_s"], 1)
pg_latency, pg_load = json.loads(pg_latency), json.loads(pg_load)
r["ingest_postgres_ops_per_s"] = int(pg_ingest)
r["latency_40rps_postgres_p50_ms"] = pg_latency["latency_p50_ms"]
r["latency_40rps_postgres_p99_ms"] = pg_latency["latency_p99_ms"]
r["visible_2000ops_postgres_p50_ms"] = pg_latency["visible_p50_ms"]
r["visible_2000ops_postgres_p99_ms"] = pg_latency["visible_p99_ms"]
r["engine_postgres_load_ops_per_s"] = int(int(pg_users) / pg_load["total_s"])
with open(out, "w") as f:
    json.dump(r, f, indent=2)
    f.write("\n")
targets = [
    ("ingest_durable_ops_per_s", ">=", 100000), ("ingest_memory_ops_per_s", ">=", 120000),
    ("latency_40rps_p99_ms", "<", 5), ("visible_2000ops_p99_ms", "<", 25),
    ("engine_memory_create_ops_per_s", ">=", 50000), ("engine_durable_create_ops_per_s", ">=", 50000),
    ("start_ms", "<", 20), ("idle_rss_mib", "<", 16), (f"rss_{scale}_users_mib", "<", 2048),
    ("scim_bulk_ratio_to_scim2_server", ">=", 50), ("scim_post_ratio_to_scim2_server", ">=", 30),
]
print()
print(f"{'figure':40} {'value':>12}  target")
for k, v in r.items():
    if k in ("mode", "machine", "cpuidle"):
        continue
    if isinstance(v, list):
        v = ",".join(map(str, v))
    t = next((f"{op} {n}" + ("  ok" if (v >= n if op == ">=" else v < n) else "  MISSED") for key, op, n in targets if key == k), "")
    print(f"{k:40} {v:>12}  {t}")
print(f"\nmachine: {machine}\ncpuidle: {cpuidle}\nwritten: {out}")
EOF
