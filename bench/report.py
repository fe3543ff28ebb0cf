"""Writes BENCHMARKS.md from what bench/run.sh measured (its work directory and numbers)."""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

(work, aedes, watch_n, watch_rate, sub_n, sub_rate, rss_power, rss_pub, rss_rr, rss_top,
 top_cpu, targets_after, read_after, flood_seconds, watch_samples, config_after) = sys.argv[1:]
watch_rate, sub_rate = int(watch_rate), int(sub_rate)
samples = [int(s) for s in watch_samples.split()]


def results(name):
    path = os.path.join(work, name)
    return json.load(open(path))["results"] if os.path.exists(path) else []


def round_trips(broker):
    """command -> (median of the three rounds' medians in ms, its spread)"""
    rounds = [results(f"rt-{broker}-{r}.json") for r in (1, 2, 3)]
    rounds = [r for r in rounds if r]
    out = {}
    for i, r in enumerate(rounds[0] if rounds else []):
        medians = [rnd[i]["median"] * 1000 for rnd in rounds]
        out[r["command"]] = (statistics.median(medians), max(medians) - min(medians))
    return out


def single(name):
    r = results(name)
    return (r[0]["command"], r[0]["median"] * 1000, r[0]["min"] * 1000) if r else None


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
           platform.machine())


def version(cmd):
    out = subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip().splitlines()
    return out[0] if out else "?"


lines = []
w = lines.append
w("# Benchmarks\n")
w(f"Written by `bench/run.sh` on {datetime.date.today()}: {cpu}, {os.cpu_count()} cores, "
  f"{platform.system()} {platform.release()}.  ")
w(f"{version('target/release/tasctl --version')}; {version('mosquitto -h | head -1')}; "
  f"{version('hyperfine --version')}. Loopback only: private brokers (mosquitto with "
  "`set_tcp_nodelay true`; aedes) and tasctl's simulator (`--fleet`). Ratios compare commands "
  "measured in the same run; absolute times are context.\n")

goals = []
for broker in ["mosquitto", "mosquitto-default"] + (["aedes"] if aedes == "yes" else []):
    rt = round_trips(broker)
    if not rt:
        continue
    w(f"## Round trips on {broker} (hyperfine `-N`, 3 interleaved rounds of 100 runs)\n")
    w("| command | median | spread of the rounds | ratio |\n| --- | ---: | ---: | ---: |")
    rr = rt["mosquitto_rr (confirmed)"][0]
    pub = rt["mosquitto_pub (unconfirmed)"][0]
    srr = rt["mosquitto_rr STATUS11"][0]
    for cmd, (m, spread) in rt.items():
        ratio = ""
        if "power on" in cmd or cmd.startswith("mosquitto_pub") or cmd.startswith("mosquitto_rr (confirmed)"):
            ratio = f"{m / rr:.2f}× mosquitto_rr, {m / pub:.2f}× mosquitto_pub"
        elif "STATUS11" in cmd or "status" in cmd:
            ratio = f"{m / srr:.2f}× mosquitto_rr STATUS11"
        w(f"| {cmd} | {m:.2f} ms | {spread:.2f} ms | {ratio} |")
    power = rt["tasctl power on X (confirmed)"][0]
    empty = rt["empty process (/bin/true)"][0]
    goals.append((f"confirmed `power on` vs `mosquitto_rr` ({broker})", "≤ 0.75×", f"{power / rr:.2f}×", power / rr <= 0.75))
    goals.append((f"confirmed `power on` vs unconfirmed `mosquitto_pub` ({broker})", "≤ 1.0×", f"{power / pub:.2f}×", power / pub <= 1.0))
    w(f"\nAn empty process (`/bin/true`) takes {empty:.2f} ms here; tasctl's `power on` spends "
      f"{power - empty:.2f} ms beyond it, `mosquitto_rr` {rr - empty:.2f} ms.\n")

w("## Fleet commands (mosquitto)\n")
w("| command | median | fastest |\n| --- | ---: | ---: |")
fleet = {}
for name in ["group.json", "targets.json", "read.json", "backup.json", "config-diff.json", "config-apply.json", "discover.json", "aedes-group.json"]:
    s = single(name)
    if s:
        fleet[name] = s
        w(f"| {s[0]} | {s[1]:.1f} ms | {s[2]:.1f} ms |")
w(f"\nFrom the last reply to the end of the run (`-v` trace times): 10 000 targets "
  f"{float(targets_after):.1f} ms, `read g1000 --format prom` {float(read_after):.1f} ms, "
  f"`config diff g1000` {float(config_after):.1f} ms. `config apply` of 3 settings waits for the "
  f"firmware's own Backlog spacing (3 × 200 ms with the read-back) and no wait of its own.\n")
if "group.json" in fleet:
    goals.append(("group command to 5 000 devices, all replies", "< 0.5 s", f"{fleet['group.json'][1] / 1000:.2f} s", fleet["group.json"][1] < 500))
if "discover.json" in fleet:
    goals.append(("`discover` of 10 000 retained devices", "< 300 ms", f"{fleet['discover.json'][1]:.0f} ms", fleet["discover.json"][1] < 300))
goals.append(("`power on` with 10 000 targets, past the last reply", "< 1 s", f"{float(targets_after):.0f} ms", float(targets_after) < 1000))
goals.append(("`read --format prom` of 1 000 devices, past the last reply", "< 50 ms", f"{float(read_after):.1f} ms", float(read_after) < 50))
goals.append(("`config diff` of 1 000 devices × 20 settings, past the last reply", "< 2 s", f"{float(config_after):.1f} ms", float(config_after) < 2000))
if "config-apply.json" in fleet:
    goals.append(("`config apply` of 3 settings to 100 devices (firmware spacing 0.6 s)", "< 1 s", f"{fleet['config-apply.json'][1] / 1000:.2f} s", fleet["config-apply.json"][1] < 1000))
if "backup.json" in fleet:
    goals.append(("`backup` of 100 devices", "< 2 s", f"{fleet['backup.json'][1] / 1000:.2f} s", fleet["backup.json"][1] < 2000))

hostile = {}
hostile_path = os.path.join(work, "hostile.txt")
if os.path.exists(hostile_path):
    for line in open(hostile_path):
        key, value = line.split()
        hostile[key] = float(value)
if hostile:
    w("## Hostile cases (release build, `tests/cases/bench_hostile.rs`)\n")
    w("| case | time | peak RSS |\n| --- | ---: | ---: |")
    for name, label in [("empty-chunks", "backup from a device sending empty chunks forever"), ("4GiB-announced", "backup from a device announcing 4 GiB")]:
        w(f"| {label} | {hostile.get(f'backup-liar-{name}-seconds', 0):.2f} s | {hostile.get(f'backup-liar-{name}-rss-kib', 0) / 1024:.1f} MB |")
    w(f"| `upgrade --serve`: a 600 kB download with {int(hostile.get('serve-500-idle-connections', 0))} idle connections open | {hostile.get('serve-500-idle-download-seconds', 0) * 1000:.1f} ms | {hostile.get('serve-500-idle-rss-kib', 0) / 1024:.1f} MB |")
    w(f"| `top` while a device invents 30 000 keys (before → after) | | {hostile.get('top-30000-keys-rss-before-kib', 0) / 1024:.1f} → {hostile.get('top-30000-keys-rss-after-kib', 0) / 1024:.1f} MB |")
    w("")

w("## Throughput: 200 000 queued STATE messages drained to a pipe (median of 3)\n")
w("| subscriber | messages counted | messages/s | ratio |\n| --- | ---: | ---: | ---: |")
w(f"| `tasctl watch --json` | {watch_n} | {watch_rate} | {watch_rate / sub_rate:.2f}× mosquitto_sub |")
w(f"| `mosquitto_sub -v` | {sub_n} | {sub_rate} | 1.00 |")
goals.append(("`watch --json` vs `mosquitto_sub -v`, 200 000 messages", "≥ 1.2×", f"{watch_rate / sub_rate:.2f}×", watch_rate / sub_rate >= 1.2))

w("\n## Memory\n")
w("| command | peak RSS |\n| --- | ---: |")
w(f"| `tasctl power on X` | {int(rss_power) / 1024:.1f} MB |")
w(f"| `mosquitto_rr` | {int(rss_rr) / 1024:.1f} MB |")
w(f"| `mosquitto_pub` | {int(rss_pub) / 1024:.1f} MB |")
w(f"| `tasctl top`, 2 000 devices under telemetry, 20 s | {int(rss_top) / 1024:.1f} MB ({top_cpu}% CPU) |")
if samples:
    w(f"\n`tasctl watch --json` under a flood for {flood_seconds} s, resident memory every 5 s (MB): "
      + ", ".join(f"{s / 1024:.1f}" for s in samples) + ".")
    flat = max(samples) - samples[0] <= 1024
    goals.append((f"`watch` memory flat under {flood_seconds} s of flood", "flat", f"{samples[0] / 1024:.1f} → {samples[-1] / 1024:.1f} MB (max {max(samples) / 1024:.1f})", flat))
goals.append(("`power on` peak RSS", "< 8 MB", f"{int(rss_power) / 1024:.1f} MB", int(rss_power) < 8 * 1024))
goals.append(("`top` with 2 000 devices, peak RSS", "< 60 MB", f"{int(rss_top) / 1024:.1f} MB", 0 < int(rss_top) < 60 * 1024))

w("\n## Goals\n")
w("| measure | goal | this run | met |\n| --- | --- | ---: | :---: |")
for measure, goal, value, met in goals:
    w(f"| {measure} | {goal} | {value} | {'yes' if met else 'no'} |")

notes = os.path.join(os.path.dirname(os.path.abspath(__file__)), "limits.md")
if os.path.exists(notes):
    w("\n" + open(notes).read().strip())
w("\nRegenerate with `bench/run.sh` (`FLOOD_SECONDS=600` for the 10-minute watch); the full "
  "hyperfine JSON goes to a temporary directory.")
open("BENCHMARKS.md", "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
