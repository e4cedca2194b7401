"""Workers that share nothing but a token store: fresh interpreters of a few threads each,
released at the same moment, each thread asking for a valid token (the single-flight
tests of the file store and of the fleet stores run them)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

_WORKER = """
import json, pathlib, sys, threading, time
import cdata_oauth
properties, ready, go, count = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
pathlib.Path(ready).write_text("ready")
while not pathlib.Path(go).exists():
    time.sleep(0.005)
barrier = threading.Barrier(count)
tokens, errors = [], []
def run():
    try:
        barrier.wait(timeout=60)
        with cdata_oauth.connect(**properties) as conn:
            tokens.append(conn.tokens.access_token())
    except BaseException as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
threads = [threading.Thread(target=run) for _ in range(count)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"tokens": tokens, "errors": errors}))
"""


def run_workers(tmp_path: Path, properties: dict[str, Any], processes: int = 4,
                 threads: int = 8) -> list[dict[str, Any]]:
    """``processes`` fresh interpreters of ``threads`` threads each, released at once."""
    go = tmp_path / "go"
    children = []
    for index in range(processes):
        ready = tmp_path / f"ready-{index}"
        children.append((ready, subprocess.Popen(
            [sys.executable, "-c", _WORKER, json.dumps(properties), str(ready), str(go),
             str(threads)], cwd=ROOT, stdout=subprocess.PIPE, text=True)))
    try:
        deadline = time.monotonic() + 120
        while not all(ready.exists() for ready, _ in children):
            assert all(child.poll() is None for _, child in children), "a worker died early"
            assert time.monotonic() < deadline, "the workers never got ready"
            time.sleep(0.02)
        go.write_text("go")
        return [json.loads(child.communicate(timeout=180)[0]) for _, child in children]
    finally:
        for _, child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
