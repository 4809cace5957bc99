using System.Text.Json.Serialization;
using Ferry.Broker.Cluster;
using Ferry.Broker.Security;
using Ferry.Broker.Security.Acls;

namespace Ferry.Cluster.Raft;

public enum ControllerOperation
{
    CreateTopic,
    DeleteTopic,
    CreatePartitions,
    AlterConfigs,
    AllocateProducerIds,
    AlterPartition,
    RegisterNode,

    /// <summary>A stopping node asks to be fenced first, so that its leaderships move before it goes (Kafka's ControlledShutdown).</summary>
    ControlledShutdown,

    /// <summary>Moves a partition to <see cref="ControllerRequest.Replicas"/>, or cancels its move when they are null (KIP-455).</summary>
    ReassignPartition,

    /// <summary>A broker-only node is alive (KRaft's BrokerHeartbeat): answered by the quorum leader, not written to the log.</summary>
    Heartbeat,
    // Users, ACLs, vhosts and permissions (decided by SecurityDecisions, see SecurityRequests).
    PutUser,
    DeleteUser,
    AddAcls,
    RemoveAcls,
    PutVhost,
    DeleteVhost,
    PutPermission,
    DeletePermission,
}

/// <summary>A controller request a node forwards to the quorum leader (over the leader's admin HTTP listener).</summary>
public sealed class ControllerRequest
{
    public ControllerOperation Operation { get; set; }
    public string? Name { get; set; }
    public int Partitions { get; set; }
    public short ReplicationFactor { get; set; } = -1;
    public List<List<int>>? Assignments { get; set; }
    public Dictionary<string, string>? Configs { get; set; }
    public bool ValidateOnly { get; set; }
    public List<ConfigChange>? Changes { get; set; }
    public bool ReplaceAll { get; set; }
    public int Partition { get; set; }
    public int LeaderId { get; set; }
    public int LeaderEpoch { get; set; }
    public int PartitionEpoch { get; set; }
    public List<int>? NewIsr { get; set; }
    public List<int>? Replicas { get; set; }
    public int NodeId { get; set; }
    public string? KafkaHost { get; set; }
    public int KafkaPort { get; set; }
    public string? KafkaSecurityProtocol { get; set; }
    public string? HttpEndPoint { get; set; }
    /// <summary>RegisterNode and Heartbeat of a broker-only node: which process of it asks (new at every start), so that two cannot hold one id.</summary>
    public Guid Incarnation { get; set; }

    public string? UserName { get; set; }
    public List<string>? Tags { get; set; }
    public List<ScramCredential>? Credentials { get; set; }
    /// <summary>PutUser: create only, keep a user that exists as it is.</summary>
    public bool IfAbsent { get; set; }
    public List<AclBinding>? Acls { get; set; }
    public List<AclFilter>? AclFilters { get; set; }
    public string? Vhost { get; set; }
    public string? Configure { get; set; }
    public string? Write { get; set; }
    public string? Read { get; set; }
}

public sealed record ConfigChange(string Name, string? Value);

/// <summary>The leader's answer: the outcome, and the log index the asker waits to have applied before it returns.</summary>
public sealed class ControllerReply
{
    /// <summary>A <c>TopicError</c>, <c>AlterPartitionError</c> or <c>SecurityError</c> value, by operation.</summary>
    public int Error { get; set; }
    public string? Message { get; set; }
    public long AppliedIndex { get; set; }
    public long ProducerIdFirst { get; set; }
    public long ProducerIdCount { get; set; }
    public PartitionState? State { get; set; }
    /// <summary>True when the node asked is not (or no longer) the quorum leader: ask again.</summary>
    public bool NotLeader { get; set; }

    /// <summary>True when no controller answered in time (no quorum): nothing was decided, try again.</summary>
    public bool Unavailable { get; set; }

    /// <summary>Security operations: what was there already (a replaced user, a vhost that existed...).</summary>
    public bool Existed { get; set; }
    /// <summary>RemoveAcls: per filter, the bindings it removed.</summary>
    public List<List<AclBinding>>? RemovedAcls { get; set; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
[JsonSerializable(typeof(ControllerRequest))]
[JsonSerializable(typeof(ControllerReply))]
public sealed partial class ControllerJsonContext : JsonSerializerContext;
