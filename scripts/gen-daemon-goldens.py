#!/usr/bin/env python3
"""Generates the goldens of the live-daemon tests (tests/golden/daemon/) with the real
ipvsadm 1.31 on the ipvs-shim oracle.

    scripts/gen-daemon-goldens.py [SHIM_DIR]

The live tests (tests/daemon_rvsadm.rs) build each scenario's table on a real rvsd with
rvsadm and compare rvsadm's output with ipvsadm's. rvsadm can build every table of
cli/tests/golden except what only traffic or a kernel makes, so each scenario of
cli/tests/golden (the oracle's, not the hand-written src-*) is re-run here on its table with:

  - every counter and connection count set to 0 (only traffic makes them; the replayed
    capture test covers counters with real packets);
  - a /proc/net/ip_vs_conn with no entries (-c lists none: a live rvsd without traffic
    has none).

Scheduler flags on every scheduler (wlc's flag-1, sh's flag-3) and weights up to
2147483647 stay as the oracle's tables have them: rvs takes them as ipvsadm and the kernel
do.

Everything else (arguments, stdin, user, the listing after a change) is the scenario's
own.

It also writes tests/golden/daemon-traffic/: listings of the table a live rvsd builds from
a generated capture (tests/daemon_traffic.rs), with the counters that capture must give —
20 TCP connections to 10.0.0.100:80 (DR, rr over 10.0.0.11 and 10.0.0.12), each a SYN, an
ACK and four 1400-byte segments: 6 packets and 5840 bytes of IP per connection, all
established.

Needs root, gcc, ipvsadm 1.31 and setpriv.
"""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "cli/tests/golden")
OUT = os.path.join(ROOT, "tests/golden/daemon")
ZERO_HEAP = "glibc.malloc.perturb=255"


def transform(state):
    """The state rvsadm can build: no counters or connection counts (only traffic makes them)."""
    out = []
    for line in state.splitlines():
        f = line.split()
        if not f:
            continue
        if f[0] == "S":
            f[9:19] = ["0"] * 10
        elif f[0] == "D":
            f[7:20] = ["0"] * 13
        out.append(" ".join(f))
    return "\n".join(out) + ("\n" if out else "")


TRAFFIC_OUT = os.path.join(ROOT, "tests/golden/daemon-traffic")

# conns inpkts outpkts inbytes outbytes, then the five rates (0).
def stats(conns, pkts, nbytes):
    return f"{conns} {pkts} 0 {nbytes} 0 0 0 0 0 0"

TRAFFIC_STATE = (
    "T 900 120 300\n"
    f"S 6 10.0.0.100 80 0 rr 2 0 255.255.255.255 {stats(20, 120, 116800)}\n"
    f"D 10.0.0.12 80 3 1 0 0 10 0 0 {stats(10, 60, 58400)}\n"
    f"D 10.0.0.11 80 3 1 0 0 10 0 0 {stats(10, 60, 58400)}\n"
)
ZEROED_STATE = (
    "T 900 120 300\n"
    f"S 6 10.0.0.100 80 0 rr 2 0 255.255.255.255 {stats(0, 0, 0)}\n"
    f"D 10.0.0.12 80 3 1 0 0 10 0 0 {stats(0, 0, 0)}\n"
    f"D 10.0.0.11 80 3 1 0 0 10 0 0 {stats(0, 0, 0)}\n"
)
TRAFFIC = {
    "stats": (TRAFFIC_STATE, ["-Ln", "--stats"]),
    "stats-exact": (TRAFFIC_STATE, ["-Ln", "--stats", "--exact"]),
    "list": (TRAFFIC_STATE, ["-Ln"]),
    "list-service-stats": (TRAFFIC_STATE, ["-Ln", "--stats", "-t", "10.0.0.100:80"]),
    "zeroed-stats": (ZEROED_STATE, ["-Ln", "--stats"]),
}


def traffic(shim, work):
    if os.path.isdir(TRAFFIC_OUT):
        shutil.rmtree(TRAFFIC_OUT)
    os.makedirs(TRAFFIC_OUT)
    for name, (state, args) in TRAFFIC.items():
        state_file = os.path.join(work, f"traffic-{name}.state")
        with open(state_file, "w") as fh:
            fh.write(state)
        env = dict(os.environ, GLIBC_TUNABLES=ZERO_HEAP, LD_PRELOAD=shim,
                   IPVS_SHIM_STATE=state_file)
        r = subprocess.run(["ipvsadm"] + args, capture_output=True, env=env, check=True)
        with open(os.path.join(TRAFFIC_OUT, f"{name}.args"), "w") as fh:
            fh.write("\n".join(args) + "\n")
        with open(os.path.join(TRAFFIC_OUT, f"{name}.stdout"), "wb") as fh:
            fh.write(r.stdout)
    print(f"{len(TRAFFIC)} listings written to {TRAFFIC_OUT}")


def read(path):
    try:
        with open(path) as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def main():
    shim_dir = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "IPVS_SHIM_DIR", "/work/shared/oracle/ipvs-shim")
    work = tempfile.mkdtemp()
    os.chmod(work, 0o755)
    try:
        shim = os.path.join(work, "ipvs_shim.so")
        subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", shim,
                        os.path.join(shim_dir, "ipvs_shim.c"), "-ldl"], check=True)
        os.chmod(shim, 0o755)
        if os.path.isdir(OUT):
            shutil.rmtree(OUT)
        os.makedirs(OUT)
        names = sorted(n[:-5] for n in os.listdir(SRC)
                       if n.endswith(".args") and not n.startswith("src-"))
        for name in names:
            src = lambda ext: os.path.join(SRC, f"{name}.{ext}")
            dst = lambda ext: os.path.join(OUT, f"{name}.{ext}")
            state = transform(read(src("state")) or "")
            args = (read(src("args")) or "").split("\n")[:-1]
            stdin = read(src("stdin"))
            user = (read(src("user")) or "").strip() or None
            state_file = os.path.join(work, f"{name}.state")
            with open(state_file, "w") as fh:
                fh.write(state)
            with open(dst("state"), "w") as fh:
                fh.write(state)
            shutil.copy(src("args"), dst("args"))
            if stdin is not None:
                shutil.copy(src("stdin"), dst("stdin"))
            conn = read(src("conn"))
            conn_file = "/nonexistent"
            if conn is not None:
                conn_file = os.path.join(work, f"{name}.conn")
                with open(conn_file, "w") as fh:
                    fh.write(conn.splitlines(keepends=True)[0])
            env = dict(os.environ, GLIBC_TUNABLES=ZERO_HEAP, LD_PRELOAD=shim,
                       IPVS_SHIM_STATE=state_file, IPVS_SHIM_CONN=conn_file)
            cmd = ["ipvsadm"] + args
            if user:
                shutil.copy(src("user"), dst("user"))
                os.chmod(state_file, 0o666)
                uid = subprocess.run(["id", "-u", user], capture_output=True, text=True,
                                     check=True).stdout.strip()
                cmd = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                       "env", f"GLIBC_TUNABLES={ZERO_HEAP}", f"LD_PRELOAD={shim}",
                       f"IPVS_SHIM_STATE={state_file}"] + cmd
            r = subprocess.run(cmd, input=(stdin or "").encode(), capture_output=True,
                               env=env)
            with open(dst("stdout"), "wb") as fh:
                fh.write(r.stdout)
            with open(dst("stderr"), "wb") as fh:
                fh.write(r.stderr)
            with open(dst("exit"), "w") as fh:
                fh.write(f"{r.returncode}\n")
            if read(state_file) != state:
                after = read(src("after-args"))
                after_args = after.split("\n")[:-1] if after else ["-S", "-n"]
                with open(dst("after-args"), "w") as fh:
                    fh.write("\n".join(after_args) + "\n")
                a = subprocess.run(["ipvsadm"] + after_args, capture_output=True, env=env)
                with open(dst("after"), "wb") as fh:
                    fh.write(a.stdout)
        print(f"{len(names)} scenarios written to {OUT}")
        traffic(shim, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
