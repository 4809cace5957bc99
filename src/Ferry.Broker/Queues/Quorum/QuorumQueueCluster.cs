using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Queues.Quorum;

/// <summary>
/// What quorum queues need of the cluster: each queue's log is the one partition of an internal topic, created through the
/// controller (a metadata record, like any topic), replicated and led like any partition. On a single node it is a
/// partition with one replica, led here: the same code path.
/// </summary>
public sealed class QuorumQueueCluster(TopicRegistry topics, IClusterView cluster, IMetadataController controller)
{
    /// <summary>Every quorum queue's topic starts with this (Kafka clients see it; a Kafka produce to it is refused).</summary>
    public const string TopicPrefix = "__quorum.";

    public TopicRegistry Topics { get; } = topics;

    public IClusterView Cluster { get; } = cluster;

    public IMetadataController Controller { get; } = controller;

    public static bool IsQuorumTopic(string topic) => topic.StartsWith(TopicPrefix, StringComparison.Ordinal);

    /// <summary>The prefix of one vhost's queue topics: a hash of its name, since a vhost name may hold any character.</summary>
    public static string VirtualHostPrefix(string virtualHost) => TopicPrefix + Hash(virtualHost, 8) + ".";

    /// <summary>
    /// The topic of a queue: hashes of vhost and queue name (topic names allow only [a-zA-Z0-9._-]; queue names anything).
    /// The queue's real name is in its log's first record.
    /// </summary>
    public static string TopicFor(string virtualHost, string queue) => VirtualHostPrefix(virtualHost) + Hash(queue, 16);

    private static string Hash(string value, int bytes) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)).AsSpan(0, bytes));

    /// <summary>
    /// Members: min(3, live nodes), this node first (the preferred leader: client-local placement, RabbitMQ's default),
    /// then the next live nodes by id.
    /// </summary>
    public IReadOnlyList<int> PlaceMembers()
    {
        int local = Cluster.LocalNodeId;
        var alive = Cluster.Nodes.Where(n => n.Alive).Select(n => n.Id).Order().ToList();
        if (!alive.Contains(local)) alive.Add(local);
        int at = alive.IndexOf(local);
        int size = Math.Min(3, alive.Count);
        var members = new List<int>(size);
        for (int i = 0; i < size; i++) members.Add(alive[(at + i) % alive.Count]);
        return members;
    }

    /// <summary>
    /// The topic's settings: nothing is deleted by age or size (settlement decides, <see cref="QuorumQueueLog"/>), and min.insync.replicas is a
    /// majority of the members, so a publish is confirmed only once a majority has it (Raft's commit rule).
    /// </summary>
    public static Dictionary<string, string> Configs(int members) => new()
    {
        [TopicConfig.RetentionMs] = "-1",
        [TopicConfig.RetentionBytes] = "-1",
        [TopicConfig.MinInsyncReplicas] = (members / 2 + 1).ToString(CultureInfo.InvariantCulture),
        // Small segments, as classic queues' logs: settled messages are reclaimed a whole segment at a time.
        [TopicConfig.SegmentBytes] = (16 << 20).ToString(CultureInfo.InvariantCulture),
    };
}
