import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.graphdb.GraphDatabaseService;

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

        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
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
                .build();
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
}
