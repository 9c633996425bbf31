#!/usr/bin/env python3
"""The scalekit-auth benchmark (run it through scripts/bench, which builds the binaries).

Measures the release binary against the local Scalekit emulator on 127.0.0.1 and writes a
Markdown report with the median and spread of repeated runs, next to the budgets:

- `--version` and `--help` start-up time; release binary size; peak RSS of `token`;
- `token` for 1 and 8 services at 0 ms and 50 ms of injected latency per request, with the
  requests and TCP connections the emulator saw (its request log: entries and distinct
  `connection` ids, cleared between runs);
- the request count of a first-time `authorize --no-wait`;
- `mcp`: the time from spawn to the first `tools/list` answer, and the latency of single tool
  calls to a warm server (`http_request`, `search_tools`, `list_services`) with the requests
  the emulator saw per call;
- `tools run` (a catalog tool, with and without `--no-check`) at the same latencies, with the
  requests the emulator saw (exactly 3, and 2 with `--no-check`);
- with `scalekit-auth agent` running: `token` from a warm agent (and the requests it cost),
  50 concurrent `token` calls on a cold agent (how many `/auth` they made), and the agent's
  RSS holding 100 cached tokens.

`--only tools` measures just the `tools run` rows and merges them into the existing report.

Standard library only. Each run is one child process: wall time from a monotonic clock
around spawn-to-exit, peak RSS from the kernel's rusage of that very child (`os.wait4`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

CLIENT_ID = "skc_bench"
CLIENT_SECRET = "bench-secret-not-real"
IDENTIFIER = "bench"
SERVICES = [f"svc{i}" for i in range(1, 9)]
LATENCY_MS = 50
# `tools run` needs a connection of a provider the emulator's catalog has tools for.
TOOL_SERVICE, TOOL_CONNECTION, TOOL = "gmail", "gmail_bench", "gmail_fetch_mails"
TOOL_PARAMS = '{"max_results": 2, "query": "is:unread"}'

# Budgets (issue #6). Times are judged on the median of the runs.
BUDGET_VERSION_MS = 5.0
BUDGET_TOKEN_1_MS = 2 * LATENCY_MS + 20.0
BUDGET_TOKEN_8_MS = 2 * LATENCY_MS + 30.0
BUDGET_AUTHORIZE_REQUESTS = 4
BUDGET_BINARY_BYTES = 8 * 1000 * 1000
BUDGET_RSS_KIB = 20 * 1000 * 1000 // 1024
# The agent (issue #14): a warm hit, and concurrent misses for one account.
BUDGET_WARM_AGENT_MS = 3.0
AGENT_CONCURRENT = 50
AGENT_CACHED = 100

# Never send control calls through a proxy from the environment.
HTTP = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def control(base: str, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + "/_emulator" + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with HTTP.open(req, timeout=10) as resp:
        text = resp.read()
    return json.loads(text) if text else {}


class Emulator:
    """The emulator binary on a free port, with `--latency-ms`."""

    def __init__(self, binary: str, workdir: str, latency_ms: int):
        seed = os.path.join(workdir, "seed.json")
        with open(seed, "w") as f:
            json.dump(
                [{"connector": f"{s}_bench", "identifier": IDENTIFIER} for s in SERVICES]
                + [{"connector": TOOL_CONNECTION, "identifier": IDENTIFIER}],
                f,
            )
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                "0",
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
                "--latency-ms",
                str(latency_ms),
                "--seed",
                seed,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            sys.exit(f"the emulator did not start: {line!r}")
        self.url = line.removeprefix("listening on ")

    def clear(self) -> None:
        control(self.url, "DELETE", "/requests")

    def seen(self) -> tuple[int, int]:
        """(requests, distinct TCP connections) since the last clear."""
        log = control(self.url, "GET", "/requests")["requests"]
        return len(log), len({r["connection"] for r in log})

    def paths(self) -> list[str]:
        """`METHOD /path` of every request since the last clear."""
        log = control(self.url, "GET", "/requests")["requests"]
        return [f"{r['method']} {r['path']}" for r in log]

    def seed(self, connector: str, identifier: str) -> None:
        control(self.url, "POST", "/accounts", {"connector": connector, "identifier": identifier})

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Sample:
    def __init__(self, wall_ms: float, rss_kib: int, code: int, stdout: bytes):
        self.wall_ms = wall_ms
        self.rss_kib = rss_kib
        self.code = code
        self.stdout = stdout


class McpSession:
    """`scalekit-auth mcp` on pipes: newline-delimited JSON-RPC, one request at a time."""

    def __init__(self, auth: str, env: dict, cwd: str):
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [auth, "mcp"], env=env, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.last_id = 0

    def _send(self, message: dict) -> None:
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, method: str, params: dict | None = None) -> dict:
        self.last_id += 1
        message = {"jsonrpc": "2.0", "id": self.last_id, "method": method}
        if params is not None:
            message["params"] = params
        self._send(message)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                sys.exit(f"`mcp` closed stdout while answering {method}")
            answer = json.loads(line)
            if answer.get("id") == self.last_id:
                if "error" in answer:
                    sys.exit(f"`mcp` answered {method} with {answer['error']}")
                return answer["result"]

    def initialize(self) -> None:
        self.request("initialize", {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "bench", "version": "1"},
        })
        self._send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    def call(self, tool: str, arguments: dict) -> dict:
        result = self.request("tools/call", {"name": tool, "arguments": arguments})
        if result.get("isError"):
            sys.exit(f"`mcp` {tool} failed: {result['content'][0]['text']}")
        return result

    def close(self) -> int:
        self.proc.stdin.close()
        code = self.proc.wait(timeout=10)
        if code != 0:
            sys.exit(f"`mcp` exited {code} when stdin closed, wanted 0")
        return code


def run_once(argv: list[str], env: dict, cwd: str) -> Sample:
    """One child: wall time around spawn..exit, and its own peak RSS from wait4."""
    out = tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = (time.perf_counter() - started) * 1000.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    return Sample(wall, usage.ru_maxrss, proc.returncode, out.read())


def peak_rss(argv: list[str], env: dict, cwd: str, n: int) -> tuple[list[int] | None, str]:
    """Peak RSS (KiB) of `n` runs, measured by `/usr/bin/time -f %M`, whose own small
    footprint is what the child inherits at fork. (`os.wait4` on a child of this python would
    report python's own peak: the kernel carries the pre-exec memory into `ru_maxrss`.)"""
    gnu_time = shutil.which("time", path="/usr/bin:/bin")
    if gnu_time is None:
        return None, "max of the timed runs; upper bound (no /usr/bin/time)"
    values = []
    with tempfile.NamedTemporaryFile() as out:
        for _ in range(n):
            proc = subprocess.run(
                [gnu_time, "-f", "%M", "-o", out.name, *argv],
                env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            if proc.returncode != 0:
                return None, f"/usr/bin/time failed (exit {proc.returncode}); upper bound"
            with open(out.name) as f:
                values.append(int(f.read().split()[-1]))
    return values, f"max of {n} runs, /usr/bin/time -f %M, 50 ms latency"


def instructions(argv: list[str], env: dict, cwd: str) -> int | None:
    """Instructions executed by one run, counted by valgrind's callgrind when installed."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    proc = subprocess.run(
        [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", *argv],
        env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    for line in proc.stderr.splitlines():
        if "Collected :" in line:
            return int(line.rsplit(":", 1)[1])
    return None


def agent_rows(auth: str, emu: Emulator, env: dict, work: str, runs: int) -> list[Row]:
    """`scalekit-auth agent` in the foreground on a socket in the work dir: 50 concurrent
    `token` calls while it is cold, `token` from it warm, and its RSS with 100 tokens."""
    rows: list[Row] = []
    sock = os.path.join(work, "agent", "agent.sock")
    aenv = dict(env, SCALEKIT_AUTH_AGENT_SOCK=sock)
    del aenv["SCALEKIT_AUTH_NO_AGENT"]
    agent = subprocess.Popen(
        [auth, "agent", "--idle-timeout", "1h"], env=aenv, cwd=work,
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(500):
            if run_once([auth, "agent", "status"], aenv, work).code == 0:
                break
            time.sleep(0.01)
        else:
            sys.exit("the agent did not start")
        cold = f"`token` 1 service x {AGENT_CONCURRENT} at once, cold agent, {LATENCY_MS} ms latency"
        emu.clear()
        started = time.perf_counter()
        procs = [
            subprocess.Popen([auth, "token", "svc1"], env=aenv, cwd=work,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for _ in range(AGENT_CONCURRENT)
        ]
        codes = [p.wait() for p in procs]
        wall = (time.perf_counter() - started) * 1000.0
        if any(codes):
            sys.exit(f"concurrent `token` through the agent failed: exits {sorted(set(codes))}")
        seen = emu.paths()
        auths = sum(1 for p in seen if p.endswith("/connected_accounts/auth"))
        rows.append(Row(cold, fmt_ms(wall), "", "", f"{len(seen)} req, {auths} `/auth`",
                        "1 `/auth`", auths == 1, "all of them, spawn to last exit"))

        walls, counts_seen = [], []
        for _ in range(3):
            run_once([auth, "token", "svc1"], aenv, work)
        for _ in range(runs):
            emu.clear()
            s = run_once([auth, "token", "svc1"], aenv, work)
            if s.code != 0:
                sys.exit(f"`token` from the warm agent exited {s.code}")
            walls.append(s.wall_ms)
            counts_seen.append(emu.seen())
        row = timing_row("`token` 1 service, warm agent", walls, counts(counts_seen),
                         BUDGET_WARM_AGENT_MS)
        if any(r for r, _ in counts_seen):
            row.ok = False
            row.note = (row.note + "; " if row.note else "") + "wanted 0 requests"
        rows.append(row)

        # 100 cached tokens: one account per identifier, fetched through the agent.
        for i in range(AGENT_CACHED):
            emu.seed("svc2_bench", f"cached-{i}")
        batch = 10
        for start in range(0, AGENT_CACHED, batch):
            procs = [
                subprocess.Popen([auth, "token", "svc2", "--identifier", f"cached-{i}"],
                                 env=aenv, cwd=work, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                for i in range(start, min(start + batch, AGENT_CACHED))
            ]
            if any(p.wait() for p in procs):
                sys.exit("filling the agent's cache failed")
        status = subprocess.run([auth, "agent", "status", "--json"], env=aenv, cwd=work,
                                capture_output=True, text=True, check=True)
        entries = len(json.loads(status.stdout)["entries"])
        try:
            with open(f"/proc/{agent.pid}/status") as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
            rss_kib = int(fields["VmRSS"].split()[0])
            hwm_kib = int(fields["VmHWM"].split()[0])
            rows.append(Row(f"agent RSS, {entries} cached tokens", f"{rss_kib / 1024:.1f} MiB",
                            "", f"peak {hwm_kib / 1024:.1f} MiB", "", "< 20 MB",
                            hwm_kib < BUDGET_RSS_KIB, "/proc/PID/status VmRSS, VmHWM"))
        except OSError:
            rows.append(Row(f"agent RSS, {entries} cached tokens", "–", "", "", "", "", None,
                            "no /proc on this system"))
    finally:
        subprocess.run([auth, "agent", "stop"], env=aenv, cwd=work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            agent.wait(timeout=5)
        except subprocess.TimeoutExpired:
            agent.kill()
    return rows


def kept_notes(path: str) -> str:
    """The hand-written part of an existing report: everything from its `## Notes` on."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        return ""
    at = text.find("\n## Notes")
    return text[at:] if at >= 0 else ""


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def fmt_ms(v: float) -> str:
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


class Row:
    def __init__(self, what, median, p10_p90, min_max, seen, budget, ok, note=""):
        self.what, self.median, self.p10_p90, self.min_max = what, median, p10_p90, min_max
        self.seen, self.budget, self.ok, self.note = seen, budget, ok, note


def timing_row(what: str, walls: list[float], seen: str, budget_ms: float | None) -> Row:
    med = statistics.median(walls)
    ok = None if budget_ms is None else med < budget_ms
    note = ""
    if ok is False:
        note = f"over by {med - budget_ms:.1f} ms"
    return Row(
        what,
        fmt_ms(med),
        f"{fmt_ms(quantile(walls, 0.1))} – {fmt_ms(quantile(walls, 0.9))}",
        f"{fmt_ms(min(walls))} – {fmt_ms(max(walls))}",
        seen,
        f"< {budget_ms:g} ms" if budget_ms is not None else "",
        ok,
        note,
    )


def counts(pairs: list[tuple[int, int]]) -> str:
    reqs = sorted({p[0] for p in pairs})
    conns = sorted({p[1] for p in pairs})
    show = lambda xs: "/".join(str(x) for x in xs)  # noqa: E731
    return f"{show(reqs)} req, {show(conns)} conn"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--auth", required=True, help="the scalekit-auth release binary")
    ap.add_argument("--emulator", required=True, help="the scalekit-emulator release binary")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "30")))
    ap.add_argument("--out", default="BENCHMARK.md", help="where to write the report")
    ap.add_argument("--check", action="store_true", help="exit 1 when a budget is missed")
    ap.add_argument("--only", choices=["tools"],
                    help="measure only these rows and merge them into the existing report")
    ap.add_argument("--no-agent-bench", action="store_true",
                    help="skip the measurements with `scalekit-auth agent` running")
    args = ap.parse_args()
    full = args.only is None
    runs = max(args.runs, 3)
    auth = os.path.abspath(args.auth)
    emulator_bin = os.path.abspath(args.emulator)

    load_before = os.getloadavg()
    work = tempfile.mkdtemp(prefix="scalekit-bench-")
    rows: list[Row] = []
    try:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "NO_COLOR": "1",
            "SCALEKIT_AUTH_CONFIG_DIR": os.path.join(work, "config"),
            # No agent but the one agent_rows starts, on its own socket.
            "SCALEKIT_AUTH_NO_AGENT": "1",
        }

        def timed(argv, n, expect=0, warmup=3):
            for _ in range(warmup):
                run_once([auth, *argv], env, work)
            samples = []
            for _ in range(n):
                s = run_once([auth, *argv], env, work)
                if s.code != expect:
                    sys.exit(f"`scalekit-auth {' '.join(argv)}` exited {s.code}, wanted {expect}")
                samples.append(s)
            return samples

        # Start-up: no network, no files.
        version = timed(["--version"], runs * 4) if full else []
        if full:
            rows.append(
                timing_row("`--version`", [s.wall_ms for s in version], "", BUDGET_VERSION_MS)
            )
            helps = timed(["--help"], runs * 2)
            rows.append(timing_row("`--help`", [s.wall_ms for s in helps], "", None))

        # Instructions, which unlike time do not depend on what else the machine is doing.
        ins = instructions([auth, "--version"], env, work) if full else None
        if ins is not None:
            rows.append(Row("instructions, `--version`", f"{ins / 1e6:.2f} M", "", "", "",
                            "", None, "callgrind"))

        size = os.path.getsize(auth)
        if full:
            rows.append(
                Row(
                    "release binary size",
                    f"{size / 1e6:.2f} MB",
                    "",
                    "",
                    "",
                    f"< {BUDGET_BINARY_BYTES / 1e6:g} MB",
                    size < BUDGET_BINARY_BYTES,
                    f"{size} bytes",
                )
            )

        token_samples: dict[tuple[int, int], list[Sample]] = {}
        rss_results: dict[int, tuple[list[int] | None, str]] = {}
        for latency in (0, LATENCY_MS):
            emu = Emulator(emulator_bin, work, latency)
            try:
                if latency == 0:
                    # Configure once, as a user would: init, then one mapping per service.
                    init = [auth, "init", "--no-verify", "--env-url", emu.url, "--client-id",
                            CLIENT_ID, "--identifier", IDENTIFIER, "--client-secret-stdin"]
                    subprocess.run(init, env=env, cwd=work, input=CLIENT_SECRET.encode(),
                                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    for s in SERVICES:
                        subprocess.run([auth, "config", s, f"{s}_bench"], env=env, cwd=work,
                                       check=True, stderr=subprocess.DEVNULL)
                    subprocess.run([auth, "config", TOOL_SERVICE, TOOL_CONNECTION], env=env,
                                   cwd=work, check=True, stderr=subprocess.DEVNULL)
                env["SCALEKIT_ENV_URL"] = emu.url  # this emulator's port beats config.toml
                # The saved secret goes only to the URL it was saved with (the first
                # emulator's); for this one, the secret comes from the environment, beside it.
                env["SCALEKIT_CLIENT_SECRET"] = CLIENT_SECRET
                for n in (1, 8) if full else ():
                    argv = ["token", *SERVICES[:n]]
                    for _ in range(3):
                        run_once([auth, *argv], env, work)
                    samples, seen = [], []
                    for _ in range(runs):
                        emu.clear()
                        s = run_once([auth, *argv], env, work)
                        if s.code != 0 or len(s.stdout.splitlines()) != n:
                            sys.exit(f"`token` for {n} services failed (exit {s.code})")
                        samples.append(s)
                        seen.append(emu.seen())
                    token_samples[(n, latency)] = samples
                    budget = None
                    if latency == LATENCY_MS:
                        budget = BUDGET_TOKEN_1_MS if n == 1 else BUDGET_TOKEN_8_MS
                    what = f"`token` {n} service{'s' if n > 1 else ''}, {latency} ms latency"
                    row = timing_row(what, [s.wall_ms for s in samples], counts(seen), budget)
                    wanted = 1 + n
                    if any(r != wanted for r, _ in seen):
                        row.ok = False
                        row.note = (row.note + "; " if row.note else "") + f"wanted {wanted} requests"
                    rows.append(row)

                # mcp (full runs only): spawn to the first tools/list answer, then single
                # calls to a warm server.
                if full:
                    control(emu.url, "POST", "/settings", {"upstream": "/_emulator/echo"})
                    if latency == 0:
                        walls = []
                        for i in range(runs + 3):
                            session = McpSession(auth, env, work)
                            session.initialize()
                            tools = session.request("tools/list")["tools"]
                            wall = (time.perf_counter() - session.started) * 1000.0
                            session.close()
                            if len(tools) != 7:
                                sys.exit(f"`mcp` listed {len(tools)} tools, wanted 7")
                            if i >= 3:
                                walls.append(wall)
                        rows.append(timing_row("`mcp` spawn → first `tools/list` answer", walls, "", None))
                    session = McpSession(auth, env, work)
                    session.initialize()
                    for tool, arguments, wanted in [
                        ("http_request", {"service": "svc1", "method": "GET", "path": "/v1/me"}, 1),
                        ("search_tools", {"query": "send email"}, 1),
                        # One `/details` per configured service: the `token` services and
                        # the `tools run` one.
                        ("list_services", {}, len(SERVICES) + 1),
                    ]:
                        for _ in range(3):
                            session.call(tool, arguments)
                        walls, seen = [], []
                        for _ in range(runs):
                            emu.clear()
                            started = time.perf_counter()
                            session.call(tool, arguments)
                            walls.append((time.perf_counter() - started) * 1000.0)
                            seen.append(emu.seen())
                        row = timing_row(f"`mcp` `{tool}` call (warm), {latency} ms latency",
                                         walls, counts(seen), None)
                        if any(r != wanted for r, _ in seen):
                            row.ok = False
                            row.note = f"wanted {wanted} request{'s' if wanted > 1 else ''} per call"
                        rows.append(row)
                    session.close()
                    control(emu.url, "POST", "/settings", {"upstream": ""})

                # `tools run`: API token, the tool's schema, execute_tool; no schema with
                # --no-check. Scalekit runs the tool; its data comes back on stdout.
                for extra, wanted in (([], 3), (["--no-check"], 2)):
                    argv = ["tools", "run", TOOL_SERVICE, TOOL, "-d", TOOL_PARAMS, *extra]
                    for _ in range(3):
                        run_once([auth, *argv], env, work)
                    samples, seen = [], []
                    for _ in range(runs):
                        emu.clear()
                        s = run_once([auth, *argv], env, work)
                        if s.code != 0 or not s.stdout.strip():
                            why = subprocess.run([auth, *argv], env=env, cwd=work,
                                                 capture_output=True, text=True).stderr
                            sys.exit(f"`tools run{' ' if extra else ''}{' '.join(extra)}` "
                                     f"failed (exit {s.code}): {why.strip()}")
                        samples.append(s)
                        seen.append(emu.seen())
                    what = f"`tools run{' ' + extra[0] if extra else ''}`, {latency} ms latency"
                    row = timing_row(what, [s.wall_ms for s in samples], counts(seen), None)
                    row.budget = f"exactly {wanted} requests"
                    row.ok = all(r == wanted for r, _ in seen)
                    if not row.ok:
                        row.note = f"wanted {wanted} requests"
                    rows.append(row)

                if latency == LATENCY_MS and full:
                    # First-time authorize: a new identifier each run, so the account is new.
                    walls, seen = [], []
                    for i in range(max(runs // 3, 5)):
                        emu.clear()
                        s = run_once(
                            [auth, "authorize", "svc1", "--no-wait", "--identifier", f"new-{i}"],
                            env, work,
                        )
                        if s.code != 4:
                            sys.exit(f"`authorize --no-wait` exited {s.code}, wanted 4")
                        walls.append(s.wall_ms)
                        seen.append(emu.seen())
                    most = max(r for r, _ in seen)
                    row = timing_row(
                        f"first-time `authorize --no-wait`, {latency} ms latency",
                        walls, counts(seen), None,
                    )
                    row.budget = f"≤ {BUDGET_AUTHORIZE_REQUESTS} requests"
                    row.ok = most <= BUDGET_AUTHORIZE_REQUESTS
                    if not row.ok:
                        row.note = f"{most - BUDGET_AUTHORIZE_REQUESTS} request(s) over"
                    rows.append(row)
                    if not args.no_agent_bench:
                        rows.extend(agent_rows(auth, emu, env, work, runs))
                    for n in (1, 8):
                        argv = [auth, "token", *SERVICES[:n]]
                        rss_results[n] = peak_rss(argv, env, work, max(runs // 3, 5))
                        ins = instructions(argv, env, work)
                        if ins is not None:
                            rows.append(Row(
                                f"instructions, `token` {n} service{'s' if n > 1 else ''}",
                                f"{ins / 1e6:.2f} M", "", "", "", "", None, "callgrind",
                            ))
            finally:
                emu.stop()

        for n in (1, 8) if full else ():
            rss, how = rss_results[n]
            if rss is None:
                # No /usr/bin/time: the kernel's rusage of the timed runs. It includes the
                # memory of the forking python (copied at fork, counted at exec): an upper bound.
                rss = [s.rss_kib for lat in (0, LATENCY_MS) for s in token_samples[(n, lat)]]
            peak = max(rss)
            rows.append(
                Row(
                    f"peak RSS, `token` {n} service{'s' if n > 1 else ''}",
                    f"{statistics.median(rss) / 1024:.1f} MiB",
                    f"{quantile(rss, 0.1) / 1024:.1f} – {quantile(rss, 0.9) / 1024:.1f} MiB",
                    f"{min(rss) / 1024:.1f} – {peak / 1024:.1f} MiB",
                    "",
                    "< 20 MB",
                    peak < BUDGET_RSS_KIB,
                    how,
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if full:
        report = render(rows, runs, auth, load_before, os.getloadavg())
        report += kept_notes(args.out)
    else:
        report = merged(args.out, rows, runs, args.only, load_before, os.getloadavg())
    with open(args.out, "w") as f:
        f.write(report)
    sys.stdout.write(report)
    missed = [r for r in rows if r.ok is False]
    if missed:
        print(f"\n{len(missed)} budget(s) missed", file=sys.stderr)
    return 1 if (missed and args.check) else 0


def row_line(r: Row) -> str:
    met = {True: "yes", False: "**no**", None: "–"}[r.ok]
    if r.note:
        met += f" ({r.note})"
    return f"| {r.what} | {r.median} | {r.p10_p90} | {r.min_max} | {r.seen} | {r.budget} | {met} |"


def merged(path: str, rows: list[Row], runs: int, only: str, load_before, load_after) -> str:
    """The existing report with `rows` in place of the lines of the same measurement (new
    ones after the `token` rows of their latency), and a sentence saying when they were
    measured."""
    try:
        with open(path) as f:
            lines = f.read().split("\n")
    except OSError:
        sys.exit(f"--only merges into an existing report, and {path} cannot be read")
    name = lambda line: line.split(" | ")[0].removeprefix("| ")  # noqa: E731
    latency_of = lambda what: what.rsplit(", ", 1)[-1]  # noqa: E731
    header = next(
        (i for i, line in enumerate(lines) if line.startswith("| measurement |")), None
    )
    if header is None:
        sys.exit(f"--only merges into an existing report, and {path} has no table")
    for r in rows:
        # The report's own table only: from its header to the first line that is no row.
        end = next(
            (i for i in range(header + 2, len(lines)) if not lines[i].startswith("| ")),
            len(lines),
        )
        table = range(header + 2, end)
        at = [i for i in table if name(lines[i]) == r.what]
        if at:
            lines[at[0]] = row_line(r)
            continue
        anchors = [
            i for i in table
            if name(lines[i]).startswith(("`token`", "`tools run"))
            and latency_of(name(lines[i])) == latency_of(r.what)
        ]
        lines.insert((anchors[-1] if anchors else end - 1) + 1, row_line(r))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    note = (
        f"The `{only}` rows: `scripts/bench --only {only}` on {now} (commit {git_describe()}), "
        f"{runs} runs each, load average {load_before[0]:.2f} before, {load_after[0]:.2f} after."
    )
    for i in [i for i, line in enumerate(lines) if line.startswith(f"The `{only}` rows: ")][::-1]:
        del lines[i - 1:i + 1]  # the line and the empty line before it
    header = next(i for i, line in enumerate(lines) if line.startswith("| measurement |"))
    lines[header - 1:header - 1] = ["", note]
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs ({cpu})"


def git_describe() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def render(rows: list[Row], runs: int, auth: str, load_before, load_after) -> str:
    version = subprocess.run([auth, "--version"], capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark",
        "",
        f"`scripts/bench` on {now}: {version} (commit {git_describe()}), release profile,",
        f"against the local emulator on 127.0.0.1 over plain HTTP; {machine()}.",
        f"{runs} runs per `token` measurement after 3 warm-up runs ({runs * 4} for `--version`,",
        f"{runs * 2} for `--help`). Times are wall clock from spawn to exit; budgets are judged on",
        "the median. Latency is the emulator's `--latency-ms`, added to every request.",
        f"Load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (other work on",
        "the machine shows up as spread; the instruction counts do not depend on it).",
        "",
        "| measurement | median | p10 – p90 | min – max | emulator saw | budget | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(row_line(r))
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
