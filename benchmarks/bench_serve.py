"""`llaso serve` under load, on loopback, with llaso-tiny: the figures of docs/serving.md.

    .venv/bin/python benchmarks/bench_serve.py [--clients 1 4 8 16] [--requests 4] [--max-tokens 32]
        [--soak-seconds 300] [--soak-clients 4] [--queue-capacity 8]

Prints, with the machine it ran on:
  1. requests/s, p50/p95 latency and time to first token at 1, 4, 8 and 16 concurrent clients
     (each client sends --requests streamed chat requests with the bundled speech clip, back to back);
  2. throughput at 8 clients with dynamic batching vs the same server decoding one request at a
     time (--max-batch-size 1), and vs a single client;
  3. a soak: --soak-clients clients for --soak-seconds, the server's resident memory at the start
     (after warm-up) and at the end, and the errors;
  4. the queue at 2x its capacity: how many requests got 200, how many 429/503 with Retry-After,
     and anything else (which should be 0).
Each server is a separate `llaso serve` process on 127.0.0.1, started and stopped here.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO / "tests" / "fixtures" / "audio" / "hello_espeak.wav"
PROMPT = "Describe what you hear in this recording, in detail, in a long paragraph."


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def rss_mib(self) -> float:
        import psutil

        return psutil.Process(self.process.pid).memory_info().rss / 2**20

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(30)


SERVER_ARGS: list[str] = []  # from --threads


def start_server(tmp: Path, *args: str) -> Server:
    import httpx

    log = tmp / f"server-{time.monotonic_ns()}.log"
    handle = log.open("wb")
    process = subprocess.Popen([sys.executable, "-m", "llaso.cli.main", "serve", "--port", "0", *SERVER_ARGS, *args],
                               stdout=handle, stderr=subprocess.STDOUT)
    url = None
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited:\n{log.read_text()}")
        if url is None:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("llaso serve:") and " on http://" in line:
                    url = line.split(" on ", 1)[1].split()[0]
        else:
            try:
                if httpx.get(url + "/health", timeout=2).status_code == 200:
                    return Server(process, url, log)
            except httpx.HTTPError:
                pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the server did not become healthy in 300 s")


def body(max_tokens: int) -> dict:
    import base64

    audio = base64.b64encode(CLIP.read_bytes()).decode()
    return {"model": "llaso-tiny", "max_tokens": max_tokens, "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": audio, "format": "wav"}},
                                                      {"type": "text", "text": PROMPT}]}]}


@dataclass
class Outcome:
    status: int
    latency: float = 0.0
    ttft: float | None = None
    tokens: int = 0
    retry_after: str | None = None


def one_request(client, url: str, payload: dict) -> Outcome:
    start = time.perf_counter()
    outcome = Outcome(0)
    try:
        with client.stream("POST", url + "/v1/chat/completions", json=payload, timeout=600) as reply:
            outcome.status = reply.status_code
            outcome.retry_after = reply.headers.get("retry-after")
            if reply.status_code != 200:
                reply.read()
                return outcome
            for line in reply.iter_lines():
                if not line.startswith("data: {"):
                    continue
                event = json.loads(line[6:])
                if "error" in event:
                    outcome.status = 599
                if event.get("choices") and event["choices"][0]["delta"].get("content") and outcome.ttft is None:
                    outcome.ttft = time.perf_counter() - start
                if event.get("usage"):
                    outcome.tokens = event["usage"]["completion_tokens"]
    except Exception:  # noqa: BLE001 (a failed request is a figure here, not a crash)
        outcome.status = 598
    outcome.latency = time.perf_counter() - start
    return outcome


@dataclass
class Level:
    clients: int
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == 200]

    def row(self, label: str) -> str:
        ok = self.ok
        lat = sorted(o.latency for o in ok) or [float("nan")]
        ttft = sorted(o.ttft for o in ok if o.ttft is not None) or [float("nan")]
        tokens = sum(o.tokens for o in ok)
        return (f"| {label:<22} | {self.clients:>7} | {len(self.outcomes):>8} | {len(ok) / self.seconds:>10.2f} | "
                f"{tokens / self.seconds:>9.1f} | {pct(lat, 50):>7.2f} | {pct(lat, 95):>7.2f} | {pct(ttft, 50):>8.2f} | "
                f"{pct(ttft, 95):>8.2f} | {len(self.outcomes) - len(ok):>6} |")


def pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def run_level(url: str, clients: int, requests: int, payload: dict) -> Level:
    import httpx

    level = Level(clients)
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client() as client:
            for _ in range(requests):
                outcome = one_request(client, url, payload)
                with lock:
                    level.outcomes.append(outcome)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    level.seconds = time.perf_counter() - start
    return level


HEADER = ("| server                 | clients | requests | requests/s | tokens/s | p50 s   | p95 s   | TTFT p50 | "
          "TTFT p95 | errors |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")


def soak(server: Server, clients: int, seconds: float, payload: dict) -> None:
    import httpx

    run_level(server.url, clients, 2, payload)  # warm-up: allocator pools, caches
    rss_start = server.rss_mib()
    outcomes: list[Outcome] = []
    samples = [rss_start]
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()

    def client_loop() -> None:
        with httpx.Client() as client:
            while time.monotonic() < stop_at:
                outcome = one_request(client, server.url, payload)
                with lock:
                    outcomes.append(outcome)

    threads = [threading.Thread(target=client_loop) for _ in range(clients)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        time.sleep(5)
        samples.append(server.rss_mib())
        done = len(outcomes)
        print(f"  soak: {time.monotonic() - stop_at + seconds:5.0f} s, {done} requests, RSS {samples[-1]:.0f} MiB",
              file=sys.stderr)
    rss_end = server.rss_mib()
    errors = sum(1 for o in outcomes if o.status != 200)
    growth = 100 * (rss_end - rss_start) / rss_start
    print(f"\nSoak: {clients} clients for {seconds:.0f} s: {len(outcomes)} requests, {errors} errors; "
          f"RSS start {rss_start:.0f} MiB (after warm-up), end {rss_end:.0f} MiB ({growth:+.1f} %), "
          f"max {max(samples):.0f} MiB")


def queue_overload(server: Server, capacity: int, rounds: int, payload: dict) -> None:
    import httpx

    statuses: dict[str, int] = {}
    missing_retry_after = 0
    for _ in range(rounds):
        barrier = threading.Barrier(capacity * 2)
        outcomes: list[Outcome] = []
        lock = threading.Lock()

        def fire() -> None:
            with httpx.Client() as client:
                barrier.wait()
                outcome = one_request(client, server.url, payload)
                with lock:
                    outcomes.append(outcome)

        threads = [threading.Thread(target=fire) for _ in range(capacity * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for o in outcomes:
            statuses[str(o.status)] = statuses.get(str(o.status), 0) + 1
            if o.status in (429, 503) and not o.retry_after:
                missing_retry_after += 1
    others = sum(n for s, n in statuses.items() if s not in ("200", "429", "503"))
    print(f"\nQueue at 2x capacity (max_queue {capacity}, {capacity * 2} requests at once, {rounds} rounds): "
          + ", ".join(f"{n} x {s}" for s, n in sorted(statuses.items()))
          + f"; 429/503 without Retry-After: {missing_retry_after}; other statuses (5xx etc.): {others}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--requests", type=int, default=4, help="requests per client at each level")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--soak-seconds", type=float, default=300.0, help="0 skips the soak")
    parser.add_argument("--soak-clients", type=int, default=4)
    parser.add_argument("--queue-capacity", type=int, default=8)
    parser.add_argument("--queue-rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="the servers' --threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        SERVER_ARGS.extend(["--threads", str(args.threads)])

    print(f"machine: {describe_machine()}")
    print(f"workload: streamed chat requests, one {CLIP.name} clip (2.8 s) + a text instruction, "
          f"max_tokens {args.max_tokens}, greedy; loopback; llaso-tiny on CPU "
          f"(server threads: {args.threads or 'torch default'}); figures include HTTP, base64, audio decoding and the model")
    print(f"load average at start: {' '.join(f'{x:.1f}' for x in os.getloadavg())} (other work on this machine slows "
          "every figure)")
    payload = body(args.max_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        batched = start_server(tmp_path, "--max-batch-size", "16", "--max-queue", "64")
        levels = {n: run_level(batched.url, n, args.requests, payload) for n in args.clients}
        code_batched = batched.stop()
        serial = start_server(tmp_path, "--max-batch-size", "1", "--max-queue", "64")
        serial_8 = run_level(serial.url, 8, args.requests, payload)
        code_serial = serial.stop()

        print("\n" + HEADER)
        for _n, level in levels.items():
            print(level.row("batched (max batch 16)"))
        print(serial_8.row("one at a time (batch 1)"))
        if 8 in levels and 1 in levels:
            ok8 = len(levels[8].ok) / levels[8].seconds
            print(f"\nThroughput at 8 clients: batched {ok8:.2f} req/s vs one at a time {len(serial_8.ok) / serial_8.seconds:.2f} "
                  f"req/s = {ok8 / (len(serial_8.ok) / serial_8.seconds):.2f}x; vs a single client "
                  f"{len(levels[1].ok) / levels[1].seconds:.2f} req/s = {ok8 / (len(levels[1].ok) / levels[1].seconds):.2f}x")
        print(f"exit codes after SIGTERM: batched server {code_batched}, one-at-a-time server {code_serial}")

        if args.soak_seconds > 0:
            server = start_server(tmp_path, "--max-batch-size", "16", "--max-queue", "64")
            soak(server, args.soak_clients, args.soak_seconds, payload)
            server.stop()

        server = start_server(tmp_path, "--max-batch-size", "8", "--max-queue", str(args.queue_capacity))
        queue_overload(server, args.queue_capacity, args.queue_rounds, payload)
        server.stop()


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
