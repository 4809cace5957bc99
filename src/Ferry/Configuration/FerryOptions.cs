using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Ferry.Configuration;

/// <summary>
/// The broker's settings. Sources, later ones winning: built-in defaults, the JSON file given by
/// <c>--config</c>, <c>FERRY_</c> environment variables (<c>FERRY_DATA</c>, <c>FERRY_LISTENERS__KAFKA</c>,
/// <c>FERRY_STORAGE__SEGMENTBYTES</c>: double underscore for a section), then command-line flags.
/// </summary>
public sealed class FerryOptions
{
    /// <summary>Directory of all logs and metadata (default <c>./data</c>).</summary>
    [Required]
    public string Data { get; set; } = "./data";

    [Required, ValidateObjectMembers]
    public ListenerOptions Listeners { get; set; } = new();

    [Required, ValidateObjectMembers]
    public TlsSettings Tls { get; set; } = new();

    /// <summary>
    /// Users declared in the config file: created, or their password and tags set, at every start. Users added with
    /// <c>ferry users</c> or the admin API live on in the data directory beside them.
    /// </summary>
    [ValidateEnumeratedItems]
    public List<UserSettings> Users { get; set; } = [];

    [Required, ValidateObjectMembers]
    public SecuritySettings Security { get; set; } = new();

    [Required, ValidateObjectMembers]
    public AdminSettings Admin { get; set; } = new();

    [Required, ValidateObjectMembers]
    public StorageSettings Storage { get; set; } = new();

    [Required, ValidateObjectMembers]
    public GroupSettings Groups { get; set; } = new();

    [Required, ValidateObjectMembers]
    public TransactionSettings Transactions { get; set; } = new();

    /// <summary>Cluster membership (section <c>Cluster</c>); without <c>Voters</c> the node is a cluster of one.</summary>
    [Required, ValidateObjectMembers]
    public ClusterSettings Cluster { get; set; } = new();
}

public sealed class ListenerOptions
{
    /// <summary>
    /// Kafka protocol listeners, comma-separated <c>HOST:PORT</c> or <c>PROTOCOL://HOST:PORT</c> with Kafka's security
    /// protocols PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL (bare: PLAINTEXT). Default 127.0.0.1:9092.
    /// </summary>
    [Required]
    public string Kafka { get; set; } = "127.0.0.1:9092";

    /// <summary>AMQP 0-9-1 listeners, comma-separated <c>HOST:PORT</c>, <c>amqp://HOST:PORT</c> or <c>amqps://HOST:PORT</c> (default 127.0.0.1:5672).</summary>
    [Required]
    public string Amqp { get; set; } = "127.0.0.1:5672";

    /// <summary>HTTP listeners for health, admin API and metrics, comma-separated <c>HOST:PORT</c>, <c>http://</c> or <c>https://</c> (default 127.0.0.1:8080).</summary>
    [Required]
    public string Http { get; set; } = "127.0.0.1:8080";
}

/// <summary>One entry of <c>"Users"</c>: <c>{"Name": "alice", "Password": "...", "Tags": ["administrator"]}</c>.</summary>
public sealed class UserSettings
{
    /// <summary>Names starting with <c>__</c> are reserved (a cluster's peer principal is <c>__ferry_peer</c>).</summary>
    [Required, RegularExpression("^(?!__).*$", ErrorMessage = "User names starting with '__' are reserved for the cluster's own links.")]
    public string Name { get; set; } = "";

    [Required]
    public string Password { get; set; } = "";

    /// <summary>RabbitMQ's tags: <c>administrator</c> (super user everywhere), <c>monitoring</c>, <c>management</c> (read-only admin API).</summary>
    public List<string> Tags { get; set; } = [];
}

/// <summary>Authorization (section <c>Security</c>): Kafka ACLs and AMQP permissions.</summary>
public sealed class SecuritySettings
{
    /// <summary>
    /// Check Kafka ACLs and AMQP vhost permissions (default false: every authenticated client may do everything).
    /// True: whatever no ACL or permission grants is denied, except to super users.
    /// </summary>
    public bool Authorization { get; set; }

    /// <summary>Kafka principals that pass every check (Kafka's super.users): <c>User:alice</c>, <c>User:CN=ops,O=Example</c>. Users tagged administrator are super users too.</summary>
    public List<string> SuperUsers { get; set; } = [];

    /// <summary>Allow a Kafka operation on a resource that no ACL names (allow.everyone.if.no.acl.found, default false).</summary>
    public bool AllowEveryoneIfNoAclFound { get; set; }

    /// <summary>
    /// Longest a client may take to log in after connecting (and after its TLS handshake, itself bounded by
    /// <c>Tls:HandshakeTimeoutSeconds</c>), seconds (default 10): SASL on Kafka's SASL listeners, the AMQP handshake up to
    /// connection.open. Slower connections are closed with a log line.
    /// </summary>
    [Range(1, 3600)]
    public int AuthenticationTimeoutSeconds { get; set; } = 10;

    /// <summary>Open connections one client address may hold on each kind of port (Kafka, AMQP, HTTP); 0 (the default) for no limit.</summary>
    [Range(0, 1_000_000)]
    public int MaxConnectionsPerAddress { get; set; }

    /// <summary>
    /// Client connections this process holds at once over all Kafka, AMQP and HTTP listeners; more are closed at once
    /// with a log line. 0 (the default): three quarters of the file descriptors free under the open-file limit
    /// (<c>ulimit -n</c>) when the first connection arrives, so that a flood of connections cannot exhaust them.
    /// </summary>
    [Range(0, 10_000_000)]
    public int MaxConnections { get; set; }
}

/// <summary>The admin HTTP API (section <c>Admin</c>).</summary>
public sealed class AdminSettings
{
    /// <summary>
    /// Host names (besides IP addresses and localhost) that requests may carry in their Host header, such as the
    /// name a load balancer is reached by. Others are refused, which defeats DNS rebinding.
    /// </summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>Largest request body, bytes (default 8 MiB).</summary>
    [Range(1024, int.MaxValue)]
    public long MaxRequestBodyBytes { get; set; } = 8 * 1024 * 1024;
}

/// <summary>The certificate of every TLS listener (section <c>Tls</c>; flags <c>--tls-cert</c>, <c>--tls-key</c>, <c>--tls-client-ca</c>).</summary>
public sealed class TlsSettings
{
    /// <summary>PEM file: the server certificate, then any intermediates. Read again when it changes (or on SIGHUP).</summary>
    public string? CertificateFile { get; set; }

    /// <summary>PEM file: the certificate's private key (PKCS#8 or PKCS#1, unencrypted).</summary>
    public string? KeyFile { get; set; }

    /// <summary>
    /// PEM file of the authorities client certificates must chain to. Given, SSL and amqps listeners require a client
    /// certificate (mutual TLS), and SASL_SSL and https listeners ask for one and verify it if sent.
    /// </summary>
    public string? ClientCaFile { get; set; }

    /// <summary>Longest a TLS handshake may take, seconds (default 10).</summary>
    [Range(1, 600)]
    public int HandshakeTimeoutSeconds { get; set; } = 10;
}

/// <summary>Defaults for every log; topics can override some of them (Kafka topic configs).</summary>
public sealed class StorageSettings
{
    /// <summary>Segment size before a roll, bytes (default 1 GiB).</summary>
    [Range(1024, int.MaxValue)]
    public int SegmentBytes { get; set; } = 1 << 30;

    /// <summary>Segment age before a roll, milliseconds (default 7 days).</summary>
    [Range(1, long.MaxValue)]
    public long SegmentMs { get; set; } = 7L * 24 * 3600 * 1000;

    /// <summary>Keep data this long, milliseconds; -1 forever (default 7 days).</summary>
    [Range(-1, long.MaxValue)]
    public long RetentionMs { get; set; } = 7L * 24 * 3600 * 1000;

    /// <summary>Keep at most this many bytes per log; -1 for no limit (default).</summary>
    [Range(-1, long.MaxValue)]
    public long RetentionBytes { get; set; } = -1;

    /// <summary>How often retention runs, milliseconds (default 5 minutes, as Kafka's log.retention.check.interval.ms).</summary>
    [Range(100, long.MaxValue)]
    public long RetentionCheckIntervalMs { get; set; } = 5 * 60 * 1000;

    /// <summary>
    /// fsync before answering acks=all produce and publisher confirms (default true). False answers them once
    /// the write reaches the page cache, as Kafka does with its default flush settings.
    /// </summary>
    public bool Fsync { get; set; } = true;

    /// <summary>Memory of the log cleaner's key map, bytes, 24 a distinct key (default 32 MiB; Kafka's log.cleaner.dedupe.buffer.size).</summary>
    [Range(1024, long.MaxValue)]
    public long CleanerDedupeBufferBytes { get; set; } = 32L << 20;

    /// <summary>Read and write throttle of the log cleaner, bytes per second (default unlimited; Kafka's log.cleaner.io.max.bytes.per.second).</summary>
    [Range(1, double.MaxValue)]
    public double CleanerIoMaxBytesPerSecond { get; set; } = double.MaxValue;

    /// <summary>Pause of the log cleaner when no compacted log needs cleaning, ms (default 15000; Kafka's log.cleaner.backoff.ms).</summary>
    [Range(10, long.MaxValue)]
    public long CleanerBackoffMs { get; set; } = 15_000;

    /// <summary>Largest record batch accepted, bytes (default 1 MiB + 12, Kafka's max.message.bytes).</summary>
    [Range(1024, int.MaxValue)]
    public int MaxBatchBytes { get; set; } = 1024 * 1024 + 12;

    /// <summary>
    /// Most segment and queue ack files holding a descriptor at once; idle ones are closed past it and reopened on
    /// use (default 0: half the process's open-file limit).
    /// </summary>
    [Range(0, int.MaxValue)]
    public int MaxOpenFiles { get; set; }
}

/// <summary>Consumer groups and their committed offsets (Kafka's group coordinator settings).</summary>
/// <summary>The transaction coordinator (section <c>Transactions</c>), with Kafka's names and defaults.</summary>
public sealed class TransactionSettings
{
    /// <summary>Largest transaction.timeout.ms a producer may ask for, milliseconds (default 900000, transaction.max.timeout.ms).</summary>
    [Range(1, int.MaxValue)]
    public int MaxTimeoutMs { get; set; } = 900_000;

    /// <summary>
    /// How often transactions past their timeout are aborted, milliseconds (default 10000,
    /// transaction.abort.timed.out.transaction.cleanup.interval.ms).
    /// </summary>
    [Range(10, int.MaxValue)]
    public int AbortTimedOutTransactionCleanupIntervalMs { get; set; } = 10_000;

    /// <summary>Forget a transactional id idle this long, milliseconds (default 604800000 = 7 days, transactional.id.expiration.ms).</summary>
    [Range(1, long.MaxValue)]
    public long TransactionalIdExpirationMs { get; set; } = 7L * 24 * 60 * 60 * 1000;

    /// <summary>
    /// Partitions of the internal <c>__transaction_state</c> topic when it is first created (default 8; Kafka's
    /// transaction.state.log.num.partitions, 50 there). Later changes do not re-partition it.
    /// </summary>
    [Range(1, 1000)]
    public int StateLogNumPartitions { get; set; } = Ferry.Broker.Transactions.TransactionStateTopic.DefaultPartitions;
}

public sealed class GroupSettings
{
    /// <summary>
    /// Wait for more members before the first rebalance of an empty group completes, milliseconds (default 3000,
    /// group.initial.rebalance.delay.ms): consumers that start together form one generation. 0 lets a lone
    /// consumer start at once, at the price of a rebalance for every consumer that follows it.
    /// </summary>
    [Range(0, 300_000)]
    public int InitialRebalanceDelayMs { get; set; } = 3_000;

    /// <summary>Smallest session timeout a consumer may ask for, milliseconds (default 6000, group.min.session.timeout.ms).</summary>
    [Range(1, int.MaxValue)]
    public int MinSessionTimeoutMs { get; set; } = 6_000;

    /// <summary>Largest session timeout a consumer may ask for, milliseconds (default 1800000, group.max.session.timeout.ms).</summary>
    [Range(1, int.MaxValue)]
    public int MaxSessionTimeoutMs { get; set; } = 1_800_000;

    /// <summary>Delete the committed offsets of a group that stays empty this long, minutes (default 10080 = 7 days, offsets.retention.minutes).</summary>
    [Range(1, long.MaxValue / 60_000)]
    public long OffsetsRetentionMinutes { get; set; } = 7 * 24 * 60;

    /// <summary>How often expired offsets are looked for, milliseconds (default 600000, offsets.retention.check.interval.ms).</summary>
    [Range(100, long.MaxValue)]
    public long OffsetsRetentionCheckIntervalMs { get; set; } = 600_000;

    /// <summary>Longest metadata string of a committed offset, bytes (default 4096, offset.metadata.max.bytes).</summary>
    [Range(0, 32_767)]
    public int OffsetMetadataMaxBytes { get; set; } = 4096;

    /// <summary>Partitions of <c>__consumer_offsets</c> when it is created (default 8; Kafka's offsets.topic.num.partitions, 50 there).</summary>
    [Range(1, 1000)]
    public int OffsetsTopicNumPartitions { get; set; } = Ferry.Broker.Groups.OffsetsTopic.DefaultPartitions;
}

/// <summary>Settings of a node in a replicated cluster (<c>--node-id</c>, <c>--voters</c>, <c>Cluster:Secret</c>).</summary>
public sealed class ClusterSettings
{
    /// <summary>This node's id: one of <see cref="Voters"/>, or another for a broker-only node (then <see cref="Join"/> is needed).</summary>
    public int? NodeId { get; set; }

    /// <summary><c>1@HOST:PORT,2@HOST:PORT,...</c>, the same on every node; this node's entry is its inter-node listener.</summary>
    public string? Voters { get; set; }

    /// <summary>
    /// A broker-only node's way in (<c>--join</c>): <c>HOST:PORT</c> or <c>http://HOST:PORT</c> of running nodes' admin
    /// HTTP listeners, comma-separated; it fetches the committed metadata from them at start. Ignored on voters.
    /// </summary>
    public string? Join { get; set; }

    /// <summary>
    /// Where this node's inter-node listener binds (<c>HOST:PORT</c>) when peers reach it at another address than its
    /// voter entry (a proxy, NAT); unset: its voter entry. The voter entry stays its identity in the quorum.
    /// </summary>
    public string? ListenAddress { get; set; }

    /// <summary>The admin HTTP address peers forward controller requests to (<c>HOST:PORT</c>); unset: the HTTP listener.</summary>
    public string? AdvertisedHttp { get; set; }

    /// <summary>Shared by all nodes (config file or <c>FERRY_CLUSTER__SECRET</c>); peers present it on controller requests.</summary>
    public string? Secret { get; set; }

    /// <summary>A node the metadata leader cannot reach for this long loses its partition leaderships (default 2000).</summary>
    [Range(200, 600_000)]
    public int SessionTimeoutMs { get; set; } = 2_000;

    /// <summary>
    /// Lower bound of the metadata quorum's election timeout; the upper is twice it (default 1000, Kafka's
    /// controller.quorum.election.timeout.ms). A Raft request to a peer must finish in three quarters of it.
    /// </summary>
    [Range(50, 60_000)]
    public int ElectionTimeoutMs { get; set; } = 1_000;
}
