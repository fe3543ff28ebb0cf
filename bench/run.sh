#!/usr/bin/env bash
# Benchmarks tasctl side by side with the mosquitto clients and writes BENCHMARKS.md.
#
#   bench/run.sh                      # from a checkout; installs what it needs when run as root
#   FLOOD_SECONDS=600 bench/run.sh    # watch's memory over 10 minutes of flood (default 60 s)
#
# Everything runs on loopback: private brokers (mosquitto with set_tcp_nodelay; aedes from
# tests/aedes when its node_modules are installed) and tasctl's own simulator in fleet mode.
# hyperfine times whole commands; `-v` traces (each line with its time since start) give the
# time from the last reply to the end of a run; /proc gives peak memory.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
FLOOD_SECONDS=${FLOOD_SECONDS:-60}

need() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
if ! need hyperfine || ! need mosquitto_rr || ! need mosquitto || ! need script || [ ! -x /usr/bin/time ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine mosquitto mosquitto-clients time util-linux >/dev/null
  else
    echo "bench/run.sh needs hyperfine, mosquitto, mosquitto-clients, time and script (apt-get install ...)" >&2
    exit 1
  fi
fi
MOSQUITTO=$(command -v mosquitto || echo /usr/sbin/mosquitto)
AEDES=no
if command -v node >/dev/null && [ -d tests/aedes/node_modules ]; then AEDES=yes; fi

cargo build --release --quiet
TASCTL=$ROOT/target/release/tasctl
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  exec 9>&- 2>/dev/null || true # closes aedes' stdin: it exits
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# mosquitto VAR [extra config]: starts a broker and sets VAR to its port. (Not `PORT=$(...)`:
# a subshell's PID would never reach the cleanup list.)
mosquitto_broker() {
  local var=$1 port conf
  port=$(free_port)
  conf=$WORK/mosquitto-$port.conf
  printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n%s\n' "$port" "${2:-}" >"$conf"
  "$MOSQUITTO" -c "$conf" >"$WORK/mosquitto-$port.log" 2>&1 &
  PIDS+=($!)
  until mosquitto_pub -p "$port" -t bench/ping -n 2>/dev/null; do sleep 0.01; done
  printf -v "$var" '%s' "$port"
}

# aedes VAR: the second implementation; it stops when fd 9 (its stdin) closes.
aedes_broker() {
  local var=$1 port
  port=$(free_port)
  mkfifo "$WORK/aedes.in"
  node tests/aedes/server.js "$port" <"$WORK/aedes.in" >"$WORK/aedes.log" 2>&1 &
  PIDS+=($!)
  exec 9>"$WORK/aedes.in"
  until grep -q 'aedes listening' "$WORK/aedes.log" 2>/dev/null; do sleep 0.05; done
  printf -v "$var" '%s' "$port"
}

# simulate PORT ARGS...: runs the simulator (fleet mode) and waits for its ready line.
simulate() {
  local port=$1; shift
  local log=$WORK/sim-$RANDOM.log
  "$TASCTL" --broker "mqtt://127.0.0.1:$port" simulate --fleet --no-clean "$@" >"$log" 2>&1 &
  PIDS+=($!)
  until grep -q '^simulating' "$log" 2>/dev/null; do
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then cat "$log" >&2; exit 1; fi
    sleep 0.05
  done
}

# after_last_reply FILE: from the `-v` trace of a run, milliseconds from the last message
# received to the end of the run.
after_last_reply() {
  awk '/\] <- / { last = $2 } /\] done$/ { done = $2 } END { gsub(/\[/, "", last); gsub(/\[/, "", done); printf "%.1f\n", done - last }' "$1"
}

HF=(hyperfine -N --style basic)

# ---- The fleet on mosquitto: X answers alone; 10 000 devices, of which the first 5 000
# share GroupTopic g5000, the first 1 000 g1000 and the first 100 g100.
mosquitto_broker PORT 'set_tcp_nodelay true'
{
  printf '[[device]]\nTopic = "X"\nMac = "02A5C7FFFFFF"\nTelePeriod = 0\n'
  for i in $(seq 1 10000); do
    groups='"tasmotas"'
    [ "$i" -le 5000 ] && groups='"g5000"'
    [ "$i" -le 1000 ] && groups='"g5000", "g1000"'
    [ "$i" -le 100 ] && groups='"g5000", "g1000", "g100"'
    printf '[[device]]\nTopic = "b%05d"\nGroupTopic = [%s]\nTelePeriod = 0\nSensor = "AM2301"\nMac = "02A5C7%06X"\n' "$i" "$groups" "$i"
  done
} >"$WORK/fleet.toml"
simulate "$PORT" --scenario "$WORK/fleet.toml"
printf '[[device]]\nTopic = "X"\nMac = "02A5C7FFFFFF"\nTelePeriod = 0\n' >"$WORK/x.toml"
{
  printf '[devices]\n'
  for i in $(seq 1 5000); do printf 'b%05d = { topic = "b%05d", mac = "02A5C7%06X" }\n' "$i" "$i" "$i"; done
  printf '[groups]\n'
  printf 'g100 = { group_topic = "g100", members = [%s] }\n' "$(seq -f '"b%05g"' -s, 1 100)"
  printf 'g1000 = { group_topic = "g1000", members = [%s] }\n' "$(seq -f '"b%05g"' -s, 1 1000)"
  printf 'g5000 = { group_topic = "g5000", members = [%s] }\n' "$(seq -f '"b%05g"' -s, 1 5000)"
} >"$WORK/profile.toml"
: >"$WORK/empty.toml"
export TASCTL_PROFILE=$WORK/empty.toml

# ---- Round trips, three interleaved rounds of 100 runs each (the median of the medians).
round_trips() {  # PORT NAME
  local port=$1 name=$2 round
  for round in 1 2 3; do
    "${HF[@]}" --warmup 20 --runs 100 --export-json "$WORK/rt-$name-$round.json" \
      -n "tasctl power on X (confirmed)" "$TASCTL --broker mqtt://127.0.0.1:$port power on X" \
      -n "mosquitto_rr (confirmed)" "mosquitto_rr -V mqttv311 -p $port -t cmnd/X/POWER -e stat/X/RESULT -m ON" \
      -n "mosquitto_pub (unconfirmed)" "mosquitto_pub -V mqttv311 -p $port -t cmnd/X/POWER -m ON" \
      -n "tasctl status X --section 11" "$TASCTL --broker mqtt://127.0.0.1:$port status X --section 11" \
      -n "mosquitto_rr STATUS11" "mosquitto_rr -V mqttv311 -p $port -t cmnd/X/Status -e stat/X/STATUS11 -m 11" \
      -n "empty process (/bin/true)" "/bin/true"
  done
}
round_trips "$PORT" mosquitto
# mosquitto as installed (set_tcp_nodelay false, the default): what most users run.
mosquitto_broker NPORT
simulate "$NPORT" --scenario "$WORK/x.toml"
round_trips "$NPORT" mosquitto-default

# ---- Fleet commands on mosquitto.
export TASCTL_PROFILE=$WORK/profile.toml
B="--broker mqtt://127.0.0.1:$PORT"
"${HF[@]}" --warmup 2 --runs 10 --export-json "$WORK/group.json" \
  -n "tasctl power on g5000 (5 000 replies)" "$TASCTL $B power on g5000"
TARGETS=$(seq -f 'b%05g' -s ' ' 1 10000)
export TASCTL_PROFILE=$WORK/empty.toml
"${HF[@]}" --warmup 1 --runs 5 --export-json "$WORK/targets.json" \
  -n "tasctl power on with 10 000 targets" "$TASCTL $B -w 10s power on $TARGETS"
"$TASCTL" $B -w 10s -v power on $TARGETS >/dev/null 2>"$WORK/targets.trace"
TARGETS_AFTER=$(after_last_reply "$WORK/targets.trace")
export TASCTL_PROFILE=$WORK/profile.toml
"${HF[@]}" --warmup 2 --runs 10 --export-json "$WORK/read.json" \
  -n "tasctl read g1000 --format prom (1 000 devices)" "$TASCTL $B read g1000 --format prom"
"$TASCTL" $B -v read g1000 --format prom >/dev/null 2>"$WORK/read.trace"
READ_AFTER=$(after_last_reply "$WORK/read.trace")
"${HF[@]}" --warmup 1 --runs 5 --export-json "$WORK/backup.json" \
  -n "tasctl backup g100 (100 devices)" "$TASCTL $B backup g100 --dir $WORK/backups"

# ---- config: diff of 1 000 devices with 20 settings each (read-only queries and Status 3);
# apply of 3 settings to 100 devices, the devices reset before each run.
{
  cat "$WORK/profile.toml"
  printf '[settings]\nTelePeriod = 0\nTimezone = 1\nSleep = 50\nPowerOnState = 3\nLedState = 1\nPulseTime1 = 0\nNtpServer1 = "2.pool.ntp.org"\nSetOption53 = 1\nSetOption0 = 1\nSetOption32 = 40\nPowerRetain = false\nSensorRetain = false\nLatitude = 48.85836\nLongitude = 2.294442\nWebserver = 2\nStateText1 = "OFF"\nTimers = true\nSwitchMode1 = 0\nFriendlyName1 = "Tasmota"\nDeviceName = "Tasmota"\n'
} >"$WORK/config-profile.toml"
TASCTL_PROFILE=$WORK/config-profile.toml "${HF[@]}" -i --warmup 2 --runs 10 --export-json "$WORK/config-diff.json" \
  -n "tasctl config diff g1000 (1 000 devices, 20 settings each)" "$TASCTL $B -w 10s config diff g1000 --json"
TASCTL_PROFILE=$WORK/config-profile.toml "$TASCTL" $B -w 10s -v config diff g1000 --json >/dev/null 2>"$WORK/config.trace" || true
CONFIG_AFTER=$(after_last_reply "$WORK/config.trace")
{
  printf '[devices]\n'
  for i in $(seq 1 100); do printf 'b%05d = { topic = "b%05d", mac = "02A5C7%06X" }\n' "$i" "$i" "$i"; done
  printf '[groups]\nc100 = [%s]\n' "$(seq -f '"b%05g"' -s, 1 100)"
  printf '[settings]\nPowerOnState = 0\nLedState = 0\nSleep = 100\n'
} >"$WORK/apply-profile.toml"
RESET="$TASCTL $B send c100 -- Backlog0 PowerOnState 3; LedState 1; Sleep 50"
TASCTL_PROFILE=$WORK/apply-profile.toml "${HF[@]}" --warmup 1 --runs 5 --prepare "$RESET" --export-json "$WORK/config-apply.json" \
  -n "tasctl config apply c100 (100 devices, 3 settings each)" "$TASCTL $B config apply c100"

# ---- discover of 10 000 retained devices: a broker of its own that keeps every retained
# message for a new subscriber (max_queued_messages 0 = no limit).
mosquitto_broker DPORT 'set_tcp_nodelay true'
simulate "$DPORT" --devices 10000
"${HF[@]}" --warmup 2 --runs 10 --export-json "$WORK/discover.json" \
  -n "tasctl discover (10 000 devices)" "$TASCTL --broker mqtt://127.0.0.1:$DPORT discover --json"

# ---- aedes: the same round trips and a 500-device group on a second implementation.
if [ "$AEDES" = yes ]; then
  aedes_broker APORT
  {
    printf '[[device]]\nTopic = "X"\nMac = "02A5C7FFFFFF"\nTelePeriod = 0\n'
    for i in $(seq 1 500); do printf '[[device]]\nTopic = "a%03d"\nGroupTopic = ["g500"]\nTelePeriod = 0\n' "$i"; done
  } >"$WORK/aedes-fleet.toml"
  simulate "$APORT" --scenario "$WORK/aedes-fleet.toml"
  export TASCTL_PROFILE=$WORK/empty.toml
  round_trips "$APORT" aedes
  {
    printf '[devices]\n'
    for i in $(seq 1 500); do printf 'a%03d = "a%03d"\n' "$i" "$i"; done
    printf '[groups]\ng500 = { group_topic = "g500", members = [%s] }\n' "$(seq -f '"a%03g"' -s, 1 500)"
  } >"$WORK/aedes-profile.toml"
  TASCTL_PROFILE=$WORK/aedes-profile.toml "${HF[@]}" --warmup 2 --runs 20 --export-json "$WORK/aedes-group.json" \
    -n "tasctl power on g500 on aedes (500 replies)" "$TASCTL --broker mqtt://127.0.0.1:$APORT power on g500"
fi

# ---- Throughput: each subscriber drains a flood of 200 000 STATE messages to a pipe. The
# flood is queued first (persistent sessions, queue_qos0_messages), so what is measured is how
# fast the subscriber reads and prints, not how fast the simulator publishes.
FLOOD=200000
mosquitto_broker FPORT 'set_tcp_nodelay true
queue_qos0_messages true'
printf '[[device]]\nTopic = "flood"\nTelePeriod = 0\n' >"$WORK/flood.toml"
export TASCTL_PROFILE=$WORK/empty.toml
"$TASCTL" --broker "mqtt://127.0.0.1:$FPORT" watch --session bench --prefix tele --only STATE --for 200ms >/dev/null
mosquitto_sub -p "$FPORT" -c -i bench-sub -q 1 -t 'tele/+/STATE' -W 1 >/dev/null 2>&1 || true
flood() {
  "$TASCTL" --broker "mqtt://127.0.0.1:$FPORT" simulate --fleet --no-clean --scenario "$WORK/flood.toml" --flood $FLOOD >/dev/null 2>"$WORK/flood.err" &
  local sim=$!
  until grep -q "flood messages published" "$WORK/flood.err" 2>/dev/null; do sleep 0.05; done
  kill $sim; wait $sim 2>/dev/null || true
}
drain_rate() {  # the subscriber command; prints "count messages-per-second"
  local start end count
  start=$(date +%s.%N)
  count=$(bash -c "$1" | wc -l)
  end=$(date +%s.%N)
  python3 -c "print($count, round($count / ($end - $start)))"
}
WATCH_RATES=(); SUB_RATES=()
for run in 1 2 3; do
  flood
  read -r WATCH_N rate < <(drain_rate "$TASCTL --broker mqtt://127.0.0.1:$FPORT watch --session bench --json --prefix tele --only STATE -n $FLOOD"); WATCH_RATES+=("$rate")
  read -r SUB_N rate < <(drain_rate "mosquitto_sub -p $FPORT -c -i bench-sub -q 1 -v -t 'tele/+/STATE' -C $FLOOD"); SUB_RATES+=("$rate")
done
median() { printf '%s\n' "$@" | sort -n | sed -n 2p; }
WATCH_RATE=$(median "${WATCH_RATES[@]}")
SUB_RATE=$(median "${SUB_RATES[@]}")

# ---- Memory.
rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident/ {print $2}'; }
RSS_POWER=$(rss "$TASCTL" --broker "mqtt://127.0.0.1:$PORT" power on X)
RSS_PUB=$(rss mosquitto_pub -p "$PORT" -t cmnd/X/POWER -m ON)
RSS_RR=$(rss mosquitto_rr -p "$PORT" -t cmnd/X/POWER -e stat/X/RESULT -m ON)
# watch under a flood for FLOOD_SECONDS: its resident memory sampled every 5 s.
"$TASCTL" --broker "mqtt://127.0.0.1:$FPORT" watch --json --prefix tele >/dev/null 2>&1 &
WATCHER=$!; PIDS+=($WATCHER)
"$TASCTL" --broker "mqtt://127.0.0.1:$FPORT" simulate --fleet --no-clean --scenario "$WORK/flood.toml" --flood 1000000000 >/dev/null 2>&1 &
PIDS+=($!)
WATCH_SAMPLES=()
for _ in $(seq 1 $((FLOOD_SECONDS / 5))); do
  sleep 5
  WATCH_SAMPLES+=("$(awk '/VmRSS/ {print $2}' /proc/$WATCHER/status)")
done
kill "${PIDS[-1]}" "$WATCHER" 2>/dev/null || true
# top with 2 000 devices under telemetry, in a pseudo-terminal, for 20 s: its peak memory.
mosquitto_broker TPORT 'set_tcp_nodelay true'
simulate "$TPORT" --devices 2000 --flood 1000000000
sleep 30 | script -qfc "stty rows 50 cols 160; exec $TASCTL --broker mqtt://127.0.0.1:$TPORT top" /dev/null >/dev/null 2>&1 &
PIDS+=($!)
sleep 20
TOP_PID=$(pgrep -f -n "$TASCTL --broker mqtt://127.0.0.1:$TPORT top" || true)
RSS_TOP=$(awk '/VmHWM/ {print $2}' "/proc/$TOP_PID/status" 2>/dev/null || echo 0)
TOP_CPU=$(ps -o %cpu= -p "$TOP_PID" 2>/dev/null | tr -d ' ' || echo 0)

# ---- Hostile cases (tests/cases/bench_hostile.rs, release build): a backup from a lying
# device, the image server under 500 idle connections, top under 30 000 invented keys.
cargo test --release --locked --test cli -- --ignored bench_ --nocapture --test-threads 1 2>/dev/null \
  | sed -n 's/.*BENCH \([^ ]*\) \([^ ]*\)$/\1 \2/p' >"$WORK/hostile.txt"

python3 bench/report.py "$WORK" "$AEDES" "$WATCH_N" "$WATCH_RATE" "$SUB_N" "$SUB_RATE" \
  "$RSS_POWER" "$RSS_PUB" "$RSS_RR" "$RSS_TOP" "$TOP_CPU" "$TARGETS_AFTER" "$READ_AFTER" \
  "$FLOOD_SECONDS" "${WATCH_SAMPLES[*]}" "$CONFIG_AFTER"
