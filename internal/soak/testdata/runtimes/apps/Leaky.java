// The JVM version of leaky.go (see ../README.md): GET /work allocates
// GARBAGE bytes that die at once, keeps RING recent responses of RINGSIZE bytes (4,096) (they live
// long enough to be promoted, so the old generation climbs between major
// collections), and by MODE keeps LEAK bytes a request for ever (leak) or in
// a cache of at most CACHE entries (cache). GET /metrics exposes
// jvm_memory_used_bytes{area="heap"} (the sum of the heap pools, as the
// Prometheus JMX exporter and Micrometer do; with LIVE=1,
// jvm_gc_live_data_size_bytes instead) and process_start_time_seconds.
import com.sun.net.httpserver.HttpServer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;

public class Leaky {
    static int env(String k, int d) {
        String v = System.getenv(k);
        return v == null || v.isEmpty() ? d : Integer.parseInt(v);
    }

    static final Object lock = new Object();
    static byte[][] ring;
    static int ringAt, nreq;
    static final List<byte[]> kept = new ArrayList<>();
    static final Map<Integer, byte[]> cache = new HashMap<>();
    static long sink;

    public static void main(String[] args) throws Exception {
        String mode = System.getenv().getOrDefault("MODE", "clean");
        int garbage = env("GARBAGE", 100000), leak = env("LEAK", 0), entries = env("CACHE", 0);
        int ringSize = env("RINGSIZE", 4096);
        ring = new byte[env("RING", 500)][];
        byte[][] ballast = new byte[env("BALLAST", 40 << 20) / 1024][];
        for (int i = 0; i < ballast.length; i++) ballast[i] = new byte[1024];
        double started = System.currentTimeMillis() / 1000.0;
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", env("PORT", 0)), 128);
        s.createContext("/work", ex -> {
            List<byte[]> tmp = new ArrayList<>();
            for (int n = 0; n < garbage; n += 2048) tmp.add(new byte[2048]);
            synchronized (lock) {
                nreq++;
                sink += tmp.size();
                ring[ringAt++ % ring.length] = new byte[ringSize];
                if (mode.equals("leak")) kept.add(new byte[leak]);
                if (mode.equals("cache") && cache.size() < entries) {
                    cache.put(nreq, new byte[leak]);
                    if (cache.size() == entries)
                        System.err.printf("cache full: %d entries after %.1f s (request %d)%n", entries,
                                System.currentTimeMillis() / 1000.0 - started, nreq);
                }
            }
            byte[] b = "ok\n".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        boolean live = "1".equals(System.getenv("LIVE"));
        s.createContext("/metrics", ex -> {
            if (live) {
                // The long-lived pool's usage after its last collection, as
                // Micrometer's jvm.gc.live.data.size: set when that pool is
                // collected (Parallel GC: at each full collection), held
                // between (the java-*-live recordings).
                long after = 0;
                for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
                    if (p.getType() == MemoryType.HEAP && (p.getName().contains("Old Gen") || p.getName().contains("Tenured"))
                            && p.getCollectionUsage() != null)
                        after += p.getCollectionUsage().getUsed();
                byte[] b = String.format("jvm_gc_live_data_size_bytes %d%nprocess_start_time_seconds %.3f%n", after, started)
                        .getBytes(StandardCharsets.UTF_8);
                ex.sendResponseHeaders(200, b.length);
                ex.getResponseBody().write(b);
                ex.close();
                return;
            }
            long used = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans())
                if (p.getType() == MemoryType.HEAP) used += p.getUsage().getUsed();
            byte[] b = String.format("jvm_memory_used_bytes{area=\"heap\"} %d%nprocess_start_time_seconds %.3f%n", used, started)
                    .getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        s.setExecutor(Executors.newFixedThreadPool(4));
        s.start();
        if (ballast.length < 0) System.out.println(ballast[0]);
    }
}
