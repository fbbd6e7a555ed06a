// The Node.js version of leaky.go (see ../README.md). GET /metrics exposes
// nodejs_heap_size_used_bytes (prom-client's name) and
// process_start_time_seconds.
const http = require('http');
const env = (k, d) => (process.env[k] ? parseInt(process.env[k], 10) : d);
const mode = process.env.MODE || 'clean';
const garbage = env('GARBAGE', 100000), leak = env('LEAK', 0), entries = env('CACHE', 0);
const ring = new Array(env('RING', 500));
let ringAt = 0, nreq = 0, sink = 0;
const kept = [], cache = new Map();
// Arrays of small integers, not strings or Buffers: they live on the V8
// heap, one 8-byte slot each, and V8 cannot share or fold them.
const obj = (n) => new Array(Math.max(1, n >> 3)).fill(nreq);
const ballast = [];
for (let i = 0; i < env('BALLAST', 40 << 20) / 1024; i++) ballast.push(obj(1024));
const started = Date.now() / 1000;
http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.end(`nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}\nprocess_start_time_seconds ${started.toFixed(3)}\n`);
    return;
  }
  const tmp = [];
  for (let n = 0; n < garbage; n += 2048) tmp.push(obj(2048));
  nreq++;
  sink += tmp.length;
  ring[ringAt++ % ring.length] = obj(4096);
  if (mode === 'leak') kept.push(obj(leak));
  if (mode === 'cache' && cache.size < entries) cache.set(nreq, obj(leak));
  res.end('ok ' + ballast.length + '\n'); // the handler holds the ballast: it stays live
}).listen(env('PORT', 0), '127.0.0.1');
