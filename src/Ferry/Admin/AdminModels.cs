namespace Ferry.Admin;

// The admin API's JSON shapes, shared by the endpoints and the `ferry` client commands (one definition, one
// source-generated serializer: see FerryJsonContext). Names are camelCase on the wire.

internal sealed record ErrorResponse(string Error, int Status);

internal sealed record MessageRates(double MessagesInPerSecond, double MessagesOutPerSecond, double BytesInPerSecond, double BytesOutPerSecond)
{
    public static MessageRates Zero { get; } = new(0, 0, 0, 0);
}

internal sealed record ListenerAddresses(string Kafka, string Amqp, string Http);

internal sealed record OverviewCounts(int Topics, int Partitions, int Queues, int Exchanges, int Connections, int? Groups);

internal sealed record Overview(
    string Version,
    DateTimeOffset StartedAt,
    double UptimeSeconds,
    string DataDirectory,
    ListenerAddresses Listeners,
    OverviewCounts Counts,
    MessageRates Topics,
    MessageRates Queues);

internal sealed record TopicSummary(string Name, Guid Id, int Partitions, long Messages, long SizeBytes);

internal sealed record PartitionInfo(int Partition, int Leader, int LeaderEpoch, long LogStartOffset, long HighWatermark, long Messages, long SizeBytes, int Segments,
    IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr);

internal sealed record ConfigEntry(string Name, string Value, string Source);

internal sealed record TopicDetail(string Name, Guid Id, IReadOnlyList<PartitionInfo> Partitions, IReadOnlyList<ConfigEntry> Configs, MessageRates Rates);

/// <param name="ReplicationFactor">Null: the cluster's default.</param>
internal sealed record CreateTopicRequest(string Name, int Partitions = 1, Dictionary<string, string>? Configs = null, short? ReplicationFactor = null);

/// <param name="Set">Configs to set.</param>
/// <param name="Delete">Configs to return to the broker default.</param>
/// <param name="Partitions">A new, higher partition count.</param>
internal sealed record AlterTopicRequest(Dictionary<string, string>? Set = null, List<string>? Delete = null, int? Partitions = null);

internal sealed record ProduceRecord(string? Key, string? Value, Dictionary<string, string>? Headers = null, int? Partition = null, long? Timestamp = null);

internal sealed record ProduceRequest(List<ProduceRecord> Records);

internal sealed record ProducedBatch(int Partition, long BaseOffset, long LastOffset);

/// <param name="TopicCreated">The topic did not exist and this produce created it (Kafka:AutoCreateTopics).</param>
internal sealed record ProduceResponse(string Topic, int Count, List<ProducedBatch> Batches, bool TopicCreated = false);

internal sealed record RecordHeaderEntry(string Key, string? Value);

internal sealed record ConsumedRecord(int Partition, long Offset, long Timestamp, string? Key, string? Value, List<RecordHeaderEntry> Headers);

/// <param name="NextOffset">Where the next read should start.</param>
/// <param name="SkippedUnreadable">Records in compressed batches whose data cannot be decompressed, skipped over.</param>
internal sealed record RecordsResponse(
    string Topic,
    int Partition,
    long LogStartOffset,
    long HighWatermark,
    long NextOffset,
    long SkippedUnreadable,
    List<ConsumedRecord> Records);

internal sealed record QueueInfo(
    string Name,
    bool Durable,
    bool Exclusive,
    bool AutoDelete,
    long Messages,
    long Ready,
    long Unacked,
    int Consumers,
    long PublishedTotal,
    long DeliveredTotal,
    MessageRates Rates,
    Dictionary<string, string>? Arguments,
    string Vhost = "/",
    string Type = "classic",
    int? Leader = null,
    IReadOnlyList<int>? Members = null,
    IReadOnlyList<int>? InSync = null);

internal sealed record DeclareQueueRequest(bool Durable = true, bool AutoDelete = false, Dictionary<string, string>? Arguments = null);

internal sealed record QueueOperationResult(string Queue, long Messages);

internal sealed record ExchangeInfo(string Name, string Type, bool Durable, bool AutoDelete, bool Internal, string? AlternateExchange);

internal sealed record BindingInfo(string Source, string Destination, string DestinationType, string RoutingKey, Dictionary<string, string>? Arguments);

internal sealed record ConnectionInfo(
    string Id,
    string Protocol,
    string? Peer,
    string? Local,
    DateTimeOffset ConnectedAt,
    string? ClientId,
    string? ClientSoftware,
    string? User);

internal sealed record GroupSummary(string GroupId, string State, string ProtocolType, int Members, long TotalLag);

internal sealed record GroupMemberInfo(string MemberId, string? GroupInstanceId, string ClientId, string ClientHost, List<string> Assignment);

internal sealed record GroupOffsetInfo(string Topic, int Partition, long CommittedOffset, long LogEndOffset, long Lag, string? Metadata);

internal sealed record GroupDetail(
    string GroupId,
    string State,
    string ProtocolType,
    string Protocol,
    List<GroupMemberInfo> Members,
    List<GroupOffsetInfo> Offsets,
    long TotalLag);

/// <param name="Topic">The topic to reset; null: every topic the group has offsets for.</param>
/// <param name="Partitions">Partitions of <paramref name="Topic"/>; null: all.</param>
/// <param name="To"><c>earliest</c>, <c>latest</c>, <c>offset</c> (Value), <c>timestamp</c> (Value, ms since the epoch) or <c>shift</c> (Value, may be negative).</param>
internal sealed record ResetOffsetsRequest(string? Topic, List<int>? Partitions, string To, long? Value = null, bool DryRun = false);

internal sealed record ResetOffsetsResponse(string GroupId, bool DryRun, List<GroupOffsetInfo> Offsets);

/// <summary>What a client command prints with --json when the operation has no other result.</summary>
internal sealed record CliMessage(bool Ok, string Message);

/// <summary><c>GET /api/cluster</c>: the cluster view of the node asked.</summary>
/// <param name="Mode"><c>single-node</c> or <c>raft</c>.</param>
internal sealed record ClusterStatus(string ClusterId, int NodeId, int ControllerId, string Mode, IReadOnlyList<ClusterNodeInfo> Nodes,
    IReadOnlyList<ClusterPartitionInfo> Partitions, int UnderReplicatedPartitions, int OfflinePartitions);

/// <param name="Role"><c>controller</c> (the metadata leader) or <c>broker</c>.</param>
internal sealed record ClusterNodeInfo(int Id, string Kafka, bool Alive, string Role);

internal sealed record ClusterPartitionInfo(string Topic, int Partition, int Leader, int LeaderEpoch, IReadOnlyList<int> Replicas, IReadOnlyList<int> Isr);

internal sealed record UserInfo(string Name, List<string> Tags, List<string> Mechanisms);

/// <summary>RabbitMQ's body: tags comma-separated.</summary>
internal sealed record PutUserRequest(string? Password, string? Tags);

/// <summary>
/// One Kafka ACL as the admin API shows and takes it, with Kafka's names: resourceType TOPIC, GROUP, CLUSTER,
/// TRANSACTIONAL_ID; patternType LITERAL or PREFIXED; operation READ, WRITE, ..., ALL; permission ALLOW or DENY.
/// </summary>
/// Missing fields in a request: LITERAL, host *, ALLOW.
internal sealed record AclInfo(string? ResourceType, string? ResourceName, string? PatternType, string? Principal, string? Host, string? Operation, string? Permission);

/// <summary><c>GET /api/vhosts</c>: RabbitMQ's shape, the name and what it holds.</summary>
internal sealed record VhostInfo(string Name, int Queues, int Exchanges);

/// <summary>RabbitMQ's body of <c>PUT /api/permissions/VHOST/USER</c>, and what <c>GET /api/permissions</c> lists.</summary>
internal sealed record PermissionInfo(string? User, string? Vhost, string? Configure, string? Write, string? Read);
