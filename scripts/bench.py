#!/usr/bin/env python3
"""End-to-end ingest benchmark: armhunt vs bare simd-json vs DuckDB vs jq.

Everything runs on the same generated data, in one run, with the same
thread count, from a warm page cache. Usage:

    python3 scripts/bench.py [--threads 2] [--data /work/bench-data] [--sizes 256MiB,1GiB,4GiB]
                             [--dialects storage,rest-pretty,la-csv] [--repeat 3]

It builds the release binary and the `parse_only` example, generates data
with scripts/gen.py when missing, installs DuckDB from PyPI when missing,
and prints a table with MB/s, the ratios the issues ask for, and peak
memory: `rss` is the peak resident anonymous memory (RssAnon + RssShmem,
polled every 20 ms), which excludes the pages of memory-mapped inputs;
`hwm` is the kernel's peak of everything (VmHWM), mapped pages included.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


def ensure_tools():
    sh(["cargo", "build", "--release", "--bin", "armhunt", "--example", "parse_only", "--example", "mkmmdb"], cwd=ROOT)
    try:
        import duckdb  # noqa: F401
    except ImportError:
        sh([sys.executable, "-m", "pip", "install", "-q", "duckdb"])
    if not shutil.which("jq"):
        subprocess.run(["apt-get", "install", "-y", "-q", "jq"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def data_dir(base, dialect, size):
    d = os.path.join(base, "%s-%s" % (dialect, size.lower()))
    if not os.path.isdir(d):
        sh([sys.executable, os.path.join(ROOT, "scripts/gen.py"), "bulk", "--dialect", dialect,
            "--size", size, "--out", d])
    return d


def files_of(d):
    out = []
    for r, _, fs in os.walk(d):
        for f in fs:
            out.append(os.path.join(r, f))
    return sorted(out)


def warm(d):
    for f in files_of(d):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass


def status_kb(pid, keys):
    vals = {}
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k in keys:
                    vals[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError):
        pass
    return vals


def measure(cmd, env=None, shell=False, clear=()):
    """Runs cmd, returns (seconds, peak anon RSS MiB, VmHWM MiB, stdout).

    `clear`: outputs of an earlier run, removed before the clock starts, so
    no tool is timed deleting (or, on ext4, flushing over) the last run's
    output: every tool writes a new file, as a first run would.
    """
    for path in clear:
        if os.path.isdir(path):
            shutil.rmtree(path)
        elif os.path.exists(path):
            os.remove(path)
    t0 = time.perf_counter()
    # Output goes to files: a pipe nobody reads while polling would fill and block.
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    p = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env, shell=shell)
    peak_anon = 0
    hwm = 0
    while p.poll() is None:
        v = status_kb(p.pid, ("RssAnon", "RssShmem", "VmHWM"))
        if v:
            peak_anon = max(peak_anon, v.get("RssAnon", 0) + v.get("RssShmem", 0))
            hwm = max(hwm, v.get("VmHWM", 0))
        time.sleep(0.02)
    secs = time.perf_counter() - t0
    out_f.seek(0)
    err_f.seek(0)
    out, err = out_f.read(), err_f.read()
    if p.returncode != 0:
        raise SystemExit("%s failed: %s" % (cmd, err.decode(errors="replace")[-2000:]))
    return secs, peak_anon / 1024, hwm / 1024, out.decode(errors="replace")


def best_of(n, fn):
    runs = [fn() for _ in range(n)]
    runs.sort(key=lambda r: r[0])
    return runs[len(runs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--data", default="/work/bench-data")
    ap.add_argument("--sizes", default="1GiB")
    ap.add_argument("--dialects", default="storage")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip", default="", help="comma list of tools to skip: duckdb,jq,parse,scan,filter")
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    skip = set(filter(None, a.skip.split(",")))
    ensure_tools()
    import duckdb

    armhunt = os.path.join(ROOT, "target/release/armhunt")
    parse_only = os.path.join(ROOT, "target/release/examples/parse_only")
    env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads), POLARS_MAX_THREADS=str(a.threads))
    results = []
    tmp = tempfile.mkdtemp(prefix="armhunt-bench-")
    print("machine: %s, %d cores; threads=%d" % (os.uname().machine, os.cpu_count(), a.threads))
    for dialect in a.dialects.split(","):
        for size in a.sizes.split(","):
            d = data_dir(a.data, dialect, size)
            nbytes = sum(os.path.getsize(f) for f in files_of(d))
            warm(d)
            row = {"dialect": dialect, "size": size, "bytes": nbytes, "files": len(files_of(d))}
            mb = nbytes / 1e6

            def rec(name, r):
                secs, anon, hwm, _ = r
                row[name] = {"s": round(secs, 3), "MBps": round(mb / secs, 1), "rss_MiB": round(anon), "hwm_MiB": round(hwm)}
                print("  %-8s %-12s %-16s %8.2f s %9.1f MB/s  rss %6.0f MiB  hwm %6.0f MiB"
                      % (dialect, size, name, secs, mb / secs, anon, hwm), flush=True)

            out_pq = os.path.join(tmp, "out.parquet")
            if "parse" not in skip and dialect != "la-csv":
                rec("simd-json", best_of(a.repeat, lambda: measure([parse_only, d], env=env)))
            rec("convert", best_of(a.repeat, lambda: measure(
                [armhunt, "convert", d, "-o", out_pq, "--force", "--quiet", "--threads", str(a.threads)], env=env, clear=[out_pq])))
            rec("stats", best_of(a.repeat, lambda: measure(
                [armhunt, "stats", d, "--json", "--quiet", "--threads", str(a.threads),
                 "--rejects", os.path.join(tmp, "rej.jsonl")], env=env, clear=[os.path.join(tmp, "rej.jsonl")])))
            if "scan" not in skip:
                # Ingest + every rule, findings as a table on stdout (the rules' cost).
                rec("scan-rules", best_of(a.repeat, lambda: measure(
                    [armhunt, "scan", d, "--quiet", "--threads", str(a.threads)], env=env)))
                # ... without the behaviour-baseline rules (no baseline is built).
                nob = os.path.join(tmp, "no-baseline.toml")
                with open(nob, "w") as fh:
                    fh.write("".join('[rules."AH-ANOM-%03d"]\nenabled = false\n' % n for n in range(1, 10)))
                rec("scan-nobaseline", best_of(a.repeat, lambda: measure(
                    [armhunt, "scan", d, "--quiet", "--threads", str(a.threads), "--config", nob], env=env)))
                # ... and with every baseline rule, GeoIP ones included.
                geodb = os.path.join(tmp, "bench-city.mmdb")
                sh([os.path.join(ROOT, "target/release/examples/mkmmdb"), geodb], cwd=ROOT)
                rec("scan-geoip", best_of(a.repeat, lambda: measure(
                    [armhunt, "scan", d, "--quiet", "--threads", str(a.threads), "--geoip", geodb], env=env)))
                # ... and the whole report folder (evidence read back, HTML, CSV, Parquet, manifest).
                scan_dir = os.path.join(tmp, "scan")
                rec("scan", best_of(a.repeat, lambda: measure(
                    [armhunt, "scan", d, "-o", scan_dir, "--force", "--quiet", "--threads", str(a.threads)], env=env,
                    clear=[scan_dir])))
            if "filter" not in skip:
                # An investigation: every delete, original records written back as JSON Lines.
                rec("filter", best_of(a.repeat, lambda: measure(
                    [armhunt, "filter", d, "--operation", "*/delete", "-o", os.path.join(tmp, "f.jsonl"),
                     "--force", "--quiet", "--threads", str(a.threads)], env=env,
                    clear=[os.path.join(tmp, "f.jsonl")])))
                # A SQL predicate and canonical rows as Parquet.
                rec("filter-sql", best_of(a.repeat, lambda: measure(
                    [armhunt, "filter", d, "--where", "status = 'failed' AND caller LIKE '%@%'",
                     "-o", os.path.join(tmp, "f.parquet"), "--force", "--quiet", "--threads", str(a.threads)],
                    env=env, clear=[os.path.join(tmp, "f.parquet")])))
            if "duckdb" not in skip:
                if dialect == "la-csv":
                    src = "read_csv_auto('%s/**/*.csv')" % d
                else:
                    src = "read_json_auto('%s/**/*.json', maximum_object_size=268435456)" % d
                script = ("import duckdb; c=duckdb.connect(); c.execute('SET threads=%d'); "
                          "c.execute(%r)" % (a.threads, "COPY (SELECT * FROM %s) TO '%s' (FORMAT parquet)"
                                            % (src, os.path.join(tmp, "duck.parquet"))))
                rec("duckdb", best_of(a.repeat, lambda: measure([sys.executable, "-c", script],
                                                                 clear=[os.path.join(tmp, "duck.parquet")])))
            if "jq" not in skip and shutil.which("jq") and dialect != "la-csv":
                cmd = "find %s -type f -print0 | sort -z | xargs -0 cat | jq -c . > /dev/null" % d
                rec("jq", best_of(1, lambda: measure(cmd, shell=True)))
            conv = row["convert"]["s"]
            if "simd-json" in row:
                row["convert_vs_simdjson"] = round(row["simd-json"]["s"] / conv, 3)
                print("    convert reaches %.0f%% of the bare simd-json parse rate" % (100 * row["convert_vs_simdjson"]))
            if "duckdb" in row:
                row["convert_speedup_vs_duckdb"] = round(row["duckdb"]["s"] / conv, 2)
                print("    convert is %.2fx DuckDB" % row["convert_speedup_vs_duckdb"])
            row["stats_vs_convert"] = round(conv / row["stats"]["s"], 2)
            print("    stats is %.2fx convert" % row["stats_vs_convert"], flush=True)
            if "scan" in row:
                row["rules_overhead"] = round(row["scan-rules"]["s"] / row["stats"]["s"] - 1, 3)
                print("    scan (rules, no folder) takes %+.0f%% over stats (ingest alone)"
                      % (100 * row["rules_overhead"]), flush=True)
                row["baseline_overhead"] = round(row["scan-rules"]["s"] / row["scan-nobaseline"]["s"] - 1, 3)
                print("    scan with the baseline rules takes %+.0f%% over scan without them"
                      % (100 * row["baseline_overhead"]), flush=True)
                row["baseline_geoip_overhead"] = round(row["scan-geoip"]["s"] / row["scan-nobaseline"]["s"] - 1, 3)
                print("    ... and %+.0f%% with --geoip (infrequent country, impossible travel)"
                      % (100 * row["baseline_geoip_overhead"]), flush=True)
                row["report_overhead"] = round(row["scan"]["s"] / row["stats"]["s"] - 1, 3)
                print("    scan -o DIR (rules and report folder) takes %+.0f%% over stats"
                      % (100 * row["report_overhead"]), flush=True)
            if "filter" in row:
                for k in ("filter", "filter-sql"):
                    row[k + "_vs_convert"] = round(row[k]["s"] / conv, 2)
                    print("    %s takes %.2fx the time of convert" % (k, row[k + "_vs_convert"]), flush=True)
            results.append(row)
    shutil.rmtree(tmp, ignore_errors=True)
    if a.json_out:
        with open(a.json_out, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
