"""The Python version of leaky.go (see ../README.md). CPython has no heap
metric of its own in prometheus_client: the recording keeps RSS only.
GET /metrics exposes process_start_time_seconds."""
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

def env(k, d):
    v = os.environ.get(k)
    return int(v) if v else d

MODE = os.environ.get("MODE", "clean")
GARBAGE, LEAK, ENTRIES = env("GARBAGE", 100000), env("LEAK", 0), env("CACHE", 0)
ring = [None] * env("RING", 500)
state = {"at": 0, "n": 0}
kept, cache = [], {}
def fill(n, i=0):
    """n bytes, allocated and written now: a byte value known only at run
    time, so the compiler cannot fold it into one shared constant."""
    return bytes((65 + i % 26,)) * n


ballast = [fill(1024, i) for i in range(env("BALLAST", 40 << 20) // 1024)]
started = time.time()

class H(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        try:
            self.work()
        except MemoryError:
            os._exit(137)  # under ulimit -v: die as the OOM killer would have

    def work(self):
        if self.path == "/metrics":
            body = b"process_start_time_seconds %.3f\n" % started
        else:
            tmp = [fill(2048, i) for i in range(0, GARBAGE, 2048)]
            state["n"] += 1
            ring[state["at"] % len(ring)] = fill(4096, state["n"])
            state["at"] += 1
            if MODE == "leak":
                kept.append(fill(LEAK, state["n"]))
            elif MODE == "cache" and len(cache) < ENTRIES:
                cache[state["n"]] = fill(LEAK, state["n"])
            body = b"ok %d\n" % len(tmp)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

ThreadingHTTPServer(("127.0.0.1", env("PORT", 0)), H).serve_forever()
