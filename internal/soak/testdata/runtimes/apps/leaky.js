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
const ballast = [];
for (let i = 0; i < env('BALLAST', 40 << 20) / 1024; i++) ballast.push(Buffer.alloc(1024).toString('latin1'));
const started = Date.now() / 1000;
// Strings, not Buffers: they live on the V8 heap, as a service's objects do.
const str = (n) => 'x'.repeat(n - 1) + String.fromCharCode(97 + (nreq % 26));
http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.end(`nodejs_heap_size_used_bytes ${process.memoryUsage().heapUsed}\nprocess_start_time_seconds ${started.toFixed(3)}\n`);
    return;
  }
  const tmp = [];
  for (let n = 0; n < garbage; n += 2048) tmp.push(str(2048));
  nreq++;
  sink += tmp.length;
  ring[ringAt++ % ring.length] = str(4096);
  if (mode === 'leak') kept.push(str(leak));
  if (mode === 'cache' && cache.size < entries) cache.set(nreq, str(leak));
  res.end('ok\n');
}).listen(env('PORT', 0), '127.0.0.1');
