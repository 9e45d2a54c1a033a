import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.kernel.api.KernelTransactionHandle;
import org.neo4j.kernel.api.TerminationMark;
import org.neo4j.kernel.api.exceptions.Status;
import org.neo4j.kernel.api.net.NetworkConnectionTracker;
import org.neo4j.kernel.api.net.TrackedNetworkConnection;
import org.neo4j.kernel.api.query.ExecutingQuery;
import org.neo4j.kernel.impl.api.KernelTransactions;
import org.neo4j.kernel.internal.GraphDatabaseAPI;

import inet.ipaddr.IPAddressString;

/**
 * The local twin server Twinsight runs when NEO4J_URI names no server of the user's.
 *
 * An embedded Neo4j Community with only Bolt on loopback: no neo4j-admin, no tarball,
 * just the jars Maven fetched. Settings arrive as system properties so the Python side
 * owns every default. Auth stays on (password set at start) so a wrong password fails
 * the same way it would against a real deployment.
 */
public final class TwinsightNeo4j {
    private static String prop(String name, String fallback) {
        String v = System.getProperty("twinsight." + name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    public static void main(String[] args) throws Exception {
        Path home = Path.of(prop("home", "neo4j-home")).toAbsolutePath();
        String host = prop("host", "127.0.0.1");
        int port = Integer.parseInt(prop("port", "7687"));
        long pageCacheMb = Long.parseLong(prop("pagecache_mb", "256"));
        long txTimeoutS = Long.parseLong(prop("tx_timeout_s", "120"));
        String user = prop("user", "neo4j");
        // The password comes through the environment so it never shows in `ps`.
        String passwordEnv = prop("password_env", "");
        String password = passwordEnv.isEmpty() ? null : System.getenv(passwordEnv);
        if (password == null || password.isEmpty()) {
            password = prop("password", "twinsight");
        }
        Path ready = Path.of(prop("ready_file", home.resolve("ready").toString()));
        Files.deleteIfExists(ready);
        long txMemoryMb = Long.parseLong(prop("tx_memory_mb", "0"));
        long txMemoryTotalMb = Long.parseLong(prop("tx_memory_total_mb", "0"));
        // LOAD CSV confined to an empty directory of its own (nothing to read in it).
        Path importDir = home.resolve("import-empty");
        Files.createDirectories(importDir);

        DatabaseManagementServiceBuilder builder = new DatabaseManagementServiceBuilder(home)
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, new SocketAddress(host, port))
                .setConfig(BoltConnector.advertised_address, new SocketAddress(host, port))
                .setConfig(HttpConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.pagecache_memory, pageCacheMb * 1024L * 1024L)
                .setConfig(GraphDatabaseSettings.transaction_timeout, Duration.ofSeconds(txTimeoutS))
                .setConfig(GraphDatabaseSettings.logs_directory, home.resolve("logs"))
                // Keep two rotated transaction log files, not Neo4j's default of two days:
                // a twin reloaded a few times a day would otherwise fill the disk with logs
                // nobody replays (one benchmark day left 67 GB behind).
                .setConfig(GraphDatabaseSettings.keep_logical_logs, prop("tx_log_retention", "2 files"))
                // Logs are pruned at checkpoints: every 5 minutes rather than 15 keeps a
                // bulk load's logs to a few GB.
                .setConfig(GraphDatabaseSettings.check_point_interval_time,
                        Duration.ofSeconds(Long.parseLong(prop("checkpoint_s", "300"))))
                // The server reads nothing from disk or network on a query's behalf: no
                // file:// URLs for LOAD CSV, an empty import root in case they come back on,
                // and every address blocked for http(s)/ftp URLs (SSRF to loopback services).
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, importDir)
                .setConfig(GraphDatabaseInternalSettings.cypher_ip_blocklist,
                        List.of(new IPAddressString("0.0.0.0/0"), new IPAddressString("::/0")));
        // One transaction may not take the heap (a list bomb would end the JVM, which
        // exits on OutOfMemoryError): refused with MemoryLimitExceeded instead.
        if (txMemoryMb > 0) {
            builder.setConfig(GraphDatabaseSettings.memory_transaction_max_size, txMemoryMb * 1024L * 1024L);
        }
        if (txMemoryTotalMb > 0) {
            builder.setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txMemoryTotalMb * 1024L * 1024L);
        }
        DatabaseManagementService dbms = builder.build();
        try {
            setPassword(dbms.database("system"), user, password);
        } catch (RuntimeException e) {
            System.err.println("twinsight-neo4j: cannot set the password: " + e.getMessage());
            dbms.shutdown();
            System.exit(1);
        }

        CountDownLatch stop = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            System.out.println("twinsight-neo4j: shutting down");
            dbms.shutdown();
            stop.countDown();
        }));
        String guardApp = prop("guard_app", "twinsight-guard");
        if (!guardApp.equals("-")) {
            new GuardWatchdog(dbms, guardApp,
                    Long.parseLong(prop("guard_grace_ms", "1500")),
                    Double.parseDouble(prop("guard_heap_fraction", "0.8")),
                    Long.parseLong(prop("guard_min_alloc_mb", "128")) * 1024L * 1024L,
                    Long.parseLong(prop("guard_tx_memory_mb", "0")) * 1024L * 1024L).start();
        }
        Files.writeString(ready, Long.toString(ProcessHandle.current().pid()));
        System.out.println("twinsight-neo4j: ready on bolt://" + host + ":" + port);
        stop.await();
    }

    /** The initial password is set on the system database, the way neo4j-admin would. */
    private static void setPassword(GraphDatabaseService system, String user, String password) {
        long exists = (long) system.executeTransactionally(
                "SHOW USERS YIELD user WHERE user = $u RETURN count(*) AS n",
                Map.of("u", user), r -> r.next().get("n"));
        String verb = exists == 0 ? "CREATE" : "ALTER";
        try {
            system.executeTransactionally(verb + " USER " + quote(user)
                    + " SET PASSWORD $p CHANGE NOT REQUIRED", Map.of("p", password));
        } catch (RuntimeException e) {
            // Restart with the same password: Neo4j refuses a no-op change, which is fine.
            if (e.getMessage() == null || !e.getMessage().contains("cannot be the same")) {
                throw e;
            }
        }
    }

    private static String quote(String name) {
        return "`" + name.replace("`", "``") + "`";
    }

    /**
     * Stops the guard's read queries that the server cannot stop itself.
     *
     * Neo4j checks a transaction's timeout and memory limit between rows, not inside one
     * expression: `[a IN range(1, 20000) | [b IN range(1, 20000) | b]]` fills the heap in
     * seconds without counting against db.memory.transaction.max, and `reduce()` over a
     * long range keeps a core busy long after its timeout (it finishes, or never does).
     * Every 25 ms this watchdog looks at the transactions tagged with the guard's metadata
     * (`app`), and only those: they run in READ mode, so stopping them loses no write.
     *
     * A guard query is stopped when it outlives its termination mark or its timeout by a
     * grace period, or, when the old generation still holds more than a fraction of the
     * heap after a collection, when it is the guard query whose thread allocated the most
     * since it started. Stopping = mark for termination, close the query's connection, and
     * Thread.stop() on the Bolt worker serving it while it computes (stopIfComputing). A
     * guard query whose memory, as Neo4j itself estimates it, passes the guard's share is
     * only marked: tracked operators check the mark (db.memory.transaction.max itself must
     * stay high enough for ingest's write batches).
     */
    static final class GuardWatchdog extends Thread {
        private static final long MONITOR_NANOS = 2_000_000_000L;
        private final DatabaseManagementService dbms;
        private final String app;
        private final long graceNanos;
        private final double heapFraction;
        private final long minAllocBytes;
        private final long txMemoryBytes;
        private final com.sun.management.ThreadMXBean threadBean =
                (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        private final MemoryPoolMXBean oldGen;
        private final NetworkConnectionTracker connections;
        private final List<String> databases;
        /** Query id -> {thread id, bytes that thread had allocated when the query was first seen on it}. */
        private Map<Long, long[]> baseline = new HashMap<>();
        /** Queries whose connection was closed, and those whose thread was stopped (they
         *  stay listed for a moment while they unwind). */
        private final Set<Long> closed = new HashSet<>();
        private final Set<Long> stopped = new HashSet<>();
        private long lastCollection = System.nanoTime();

        GuardWatchdog(DatabaseManagementService dbms, String app, long graceMs, double heapFraction,
                      long minAllocBytes, long txMemoryBytes) {
            super("twinsight-guard-watchdog");
            setDaemon(true);
            this.dbms = dbms;
            this.app = app;
            this.graceNanos = graceMs * 1_000_000L;
            this.heapFraction = heapFraction;
            this.minAllocBytes = minAllocBytes;
            this.txMemoryBytes = txMemoryBytes;
            MemoryPoolMXBean old = null;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                if (pool.getType() == MemoryType.HEAP && pool.getName().contains("Old Gen")) {
                    old = pool;
                }
            }
            this.oldGen = old;
            this.connections = ((GraphDatabaseAPI) dbms.database("system")).getDependencyResolver()
                    .resolveDependency(NetworkConnectionTracker.class);
            this.databases = dbms.listDatabases();  // Community: the default one and system
        }

        @Override
        public void run() {
            while (true) {
                try {
                    Thread.sleep(25);
                    check();
                } catch (InterruptedException e) {
                    return;
                } catch (Throwable t) {
                    System.out.println("twinsight-neo4j: guard watchdog: " + t);
                }
            }
        }

        private void check() {
            List<KernelTransactionHandle> guarded = guardTransactions();
            if (guarded.isEmpty()) {
                baseline.clear();
                stopped.clear();
                closed.clear();
                return;
            }
            long now = System.nanoTime();
            long heapMax = Runtime.getRuntime().maxMemory();
            long retained = oldGen != null ? oldGen.getUsage().getUsed()
                    : Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
            boolean pressure = retained > heapFraction * heapMax;
            Map<Long, Thread> workers = boltWorkers();
            Map<Long, long[]> seen = new HashMap<>();
            Set<Long> live = new HashSet<>();
            KernelTransactionHandle heaviest = null;
            ExecutingQuery heaviestQuery = null;
            Thread heaviestThread = null;
            long heaviestAlloc = minAllocBytes;
            for (KernelTransactionHandle h : guarded) {
                ExecutingQuery q = h.executingQuery().orElse(null);
                if (q != null) {
                    live.add(q.internalQueryId());
                }
                if (q == null || stopped.contains(q.internalQueryId())) {
                    continue;  // stopped: unwinding
                }
                Thread t = serving(h, workers);
                Optional<TerminationMark> mark = h.terminationMark();
                long timeout = h.timeout().timeoutNanos();
                if (mark.isPresent() && now - mark.get().getTimestampNanos() > graceNanos) {
                    stop(h, q, t, mark.get().getReason(), "outlived its termination");
                    continue;
                }
                // Neo4j's own monitor marks a timed-out transaction within its check interval
                // (2 s); a query it has not marked by then plus the grace is stopped here.
                if (mark.isEmpty() && timeout > 0 && now - h.startTimeNanos() > timeout + MONITOR_NANOS + graceNanos) {
                    stop(h, q, t, Status.Transaction.TransactionTimedOut, "outlived its timeout");
                    continue;
                }
                Long estimate = h.transactionStatistic().getEstimatedUsedHeapMemory();
                if (mark.isEmpty() && txMemoryBytes > 0 && estimate != null && estimate > txMemoryBytes) {
                    // Operators that track memory check the mark row by row: asking is enough
                    // (the rule above stops the thread if it does not listen).
                    h.markForTermination(Status.General.TransactionMemoryLimit);
                    System.out.println("twinsight-neo4j: guard watchdog ended a query holding "
                            + (estimate >> 20) + " MiB (guard limit " + (txMemoryBytes >> 20) + " MiB): "
                            + excerpt(q));
                    continue;
                }
                if (t == null) {
                    continue;
                }
                long allocated = threadBean.getThreadAllocatedBytes(t.getId());
                long[] base = baseline.get(q.internalQueryId());
                if (base == null || base[0] != t.getId()) {
                    base = new long[] {t.getId(), allocated};
                }
                seen.put(q.internalQueryId(), base);
                if (pressure && allocated - base[1] > heaviestAlloc) {
                    heaviest = h;
                    heaviestQuery = q;
                    heaviestThread = t;
                    heaviestAlloc = allocated - base[1];
                }
            }
            baseline = seen;
            stopped.retainAll(live);
            closed.retainAll(live);
            if (heaviest != null && now - lastCollection > 250_000_000L) {
                // The old generation may be full of garbage a mixed collection has not reached
                // yet: collect once, and stop a query only if the heap is still full after it.
                System.gc();
                lastCollection = System.nanoTime();
                retained = oldGen != null ? oldGen.getUsage().getUsed()
                        : Runtime.getRuntime().totalMemory() - Runtime.getRuntime().freeMemory();
                if (retained <= heapFraction * heapMax) {
                    return;
                }
            }
            if (heaviest != null) {
                stop(heaviest, heaviestQuery, heaviestThread, Status.General.TransactionMemoryLimit,
                        "allocated " + (heaviestAlloc >> 20) + " MiB while the old generation held "
                                + (100 * retained / heapMax) + "% of the heap");
            }
        }

        /** Executing transactions that carry the guard's metadata, in every database. */
        private List<KernelTransactionHandle> guardTransactions() {
            List<KernelTransactionHandle> out = new ArrayList<>();
            for (String name : databases) {
                KernelTransactions txs;
                try {
                    txs = ((GraphDatabaseAPI) dbms.database(name)).getDependencyResolver()
                            .resolveDependency(KernelTransactions.class);
                } catch (RuntimeException e) {
                    continue;  // a database that is stopped or starting
                }
                for (KernelTransactionHandle h : txs.executingTransactions()) {
                    if (app.equals(h.getMetaData().get("app"))) {
                        out.add(h);
                    }
                }
            }
            return out;
        }

        /**
         * Bolt workers by the connection they serve: a worker carries it in its name while
         * it works for it ("neo4j.BoltWorker-5 [bolt-1 - /127.0.0.1:46870]"), and a
         * connection runs one request at a time, so that worker is the one executing the
         * connection's query.
         */
        private static Map<Long, Thread> boltWorkers() {
            ThreadGroup root = Thread.currentThread().getThreadGroup();
            while (root.getParent() != null) {
                root = root.getParent();
            }
            Thread[] all = new Thread[root.activeCount() * 2 + 16];
            int n = root.enumerate(all, true);
            Map<Long, Thread> out = new HashMap<>();
            for (int i = 0; i < n; i++) {
                String name = all[i].getName();
                int at = name.indexOf("[bolt-");
                if (at < 0) {
                    continue;
                }
                int end = at + 6;
                while (end < name.length() && Character.isDigit(name.charAt(end))) {
                    end++;
                }
                if (end > at + 6) {
                    out.put(Long.parseLong(name.substring(at + 6, end)), all[i]);
                }
            }
            return out;
        }

        private static Thread serving(KernelTransactionHandle h, Map<Long, Thread> workers) {
            String id = h.clientInfo().map(c -> c.connectionId()).orElse(null);
            if (id == null || !id.startsWith("bolt-")) {
                return null;
            }
            try {
                return workers.get(Long.parseLong(id.substring(5)));
            } catch (NumberFormatException e) {
                return null;
            }
        }

        private static String excerpt(ExecutingQuery q) {
            String text = q.rawQueryText().replaceAll("\\s+", " ");
            return text.substring(0, Math.min(200, text.length()));
        }

        /** Ends a guard query: mark it and close its connection (once), then stop its thread
         *  if it is computing (else the next check tries again). */
        private void stop(KernelTransactionHandle h, ExecutingQuery q, Thread t, Status status, String why) {
            long id = q.internalQueryId();
            if (closed.add(id)) {
                h.markForTermination(status);
                // A stopped worker cannot answer (Bolt fails to encode a ThreadDeath), so the
                // connection is closed: the client sees it end at once instead of waiting.
                h.clientInfo().map(c -> connections.get(c.connectionId())).ifPresent(TrackedNetworkConnection::close);
                System.out.println("twinsight-neo4j: guard watchdog stopped a query that " + why + ": " + excerpt(q));
            }
            if (t != null && stopIfComputing(t)) {
                stopped.add(id);
            }
        }

        /**
         * Thread.stop() on a thread suspended inside expression evaluation, never elsewhere:
         * a ThreadDeath in Netty's buffer release runs into the JDK's Cleaner, which exits
         * the JVM, and one in the kernel or the page cache could leave a page latched. The
         * thread is suspended, its stack read, and stopped only when every frame above the
         * Cypher runtime is plain computation (Cypher, values, Scala, java.lang/java.util).
         */
        @SuppressWarnings({"deprecation", "removal"})
        private static boolean stopIfComputing(Thread t) {
            try {
                t.suspend();
            } catch (UnsupportedOperationException e) {
                return false;  // Java 20+: no suspend/stop, the mark and the closed connection are all there is
            }
            try {
                if (!computing(t.getStackTrace())) {
                    return false;
                }
                t.stop();
                return true;
            } finally {
                t.resume();
            }
        }

        static boolean computing(StackTraceElement[] stack) {
            for (StackTraceElement frame : stack) {
                String c = frame.getClassName();
                if (c.startsWith("org.neo4j.cypher.internal.runtime.")) {
                    return true;
                }
                boolean plain = c.startsWith("org.neo4j.cypher.") || c.startsWith("org.neo4j.values.")
                        || c.startsWith("scala.") || c.startsWith("jdk.internal.util.")
                        || ((c.startsWith("java.lang.") || c.startsWith("java.util."))
                            && !c.startsWith("java.util.concurrent.") && !c.startsWith("java.lang.ref.")
                            && !c.startsWith("java.lang.Thread"));
                if (!plain) {
                    return false;
                }
            }
            return false;
        }
    }
}
