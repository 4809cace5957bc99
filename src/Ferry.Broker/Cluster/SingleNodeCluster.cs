using System.Globalization;
using System.Text;
using Ferry.Broker.Metadata;
using Ferry.Broker.Topics;

namespace Ferry.Broker.Cluster;

/// <summary>
/// The cluster of one: this node is the only broker, the controller and the leader of every partition at epoch 0.
/// Changes go straight to the local <see cref="TopicRegistry"/>, durable when they return; no network, no quorum,
/// so <c>ferry serve</c> without <c>--voters</c> runs as it always has.
/// </summary>
public sealed class SingleNodeCluster : IClusterView, IMetadataController
{
    /// <summary>Producer ids reserved per block; a crash wastes at most the rest of one.</summary>
    public const long ProducerIdBlockSize = 1000;

    private readonly TopicRegistry _topics;
    private readonly string _producerIdsPath;
    private readonly Lock _producerIdLock = new();
    private readonly PartitionState _state;
    private long _reservedEnd = -1;

    public SingleNodeCluster(TopicRegistry topics, BrokerOptions options, int nodeId, string clusterId)
    {
        _topics = topics;
        _producerIdsPath = Path.Combine(options.DataDirectory, "producer-ids");
        LocalNodeId = nodeId;
        ClusterId = clusterId;
        _state = PartitionState.SingleNode(nodeId);
        Nodes = [new ClusterNode(nodeId, null, 0, Alive: true)];
    }

    public string ClusterId { get; }
    public int LocalNodeId { get; }
    public int ControllerId => LocalNodeId;
    public IReadOnlyList<ClusterNode> Nodes { get; }

    public PartitionState? GetPartition(string topic, int partition) =>
        _topics.TryGet(topic, out var t) && t.TryGetPartition(partition) is not null ? _state : null;

    /// <summary>Every partition is led here from the start and for good: the replay is the whole story.</summary>
    public IDisposable Subscribe(Action<PartitionRoleChange> onChange)
    {
        foreach (var topic in _topics.Topics)
        {
            foreach (var partition in topic.Partitions) onChange(new PartitionRoleChange(topic.Name, partition.Index, PartitionRole.Leader, _state));
        }
        return NoSubscription.Instance;
    }

    public ValueTask<TopicResult> CreateTopicAsync(TopicSpec spec, CancellationToken cancellationToken = default)
    {
        if (spec.ReplicationFactor is not (-1 or 1) || spec.Assignments?.Any(a => a.Count != 1 || a[0] != LocalNodeId) == true)
            return new(new TopicResult(TopicError.InvalidReplicationFactor, "Ferry runs as a single node: the replication factor must be 1."));
        return new(spec.ValidateOnly ? _topics.Validate(spec.Name, spec.Partitions, spec.Configs) : _topics.Create(spec.Name, spec.Partitions, spec.Configs));
    }

    public ValueTask<TopicResult> DeleteTopicAsync(string name, CancellationToken cancellationToken = default) => _topics.DeleteAsync(name);

    public ValueTask<TopicResult> CreatePartitionsAsync(string name, int newTotal, bool validateOnly, CancellationToken cancellationToken = default) =>
        new(_topics.CreatePartitions(name, newTotal, validateOnly));

    public ValueTask<TopicResult> AlterConfigsAsync(string name, IReadOnlyList<(string Name, string? Value)> changes, bool replaceAll,
        bool validateOnly, CancellationToken cancellationToken = default) =>
        new(_topics.AlterConfigs(name, changes, replaceAll, validateOnly));

    /// <summary>The block's end is written durably (<c>DATA/producer-ids</c>) before any id in it is handed out.</summary>
    public ValueTask<ProducerIdBlock> AllocateProducerIdBlockAsync(CancellationToken cancellationToken = default)
    {
        lock (_producerIdLock)
        {
            if (_reservedEnd < 0)
            {
                var stored = DurableFile.ReadAllBytes(_producerIdsPath);
                _reservedEnd = stored is null ? 0 : long.Parse(Encoding.ASCII.GetString(stored), CultureInfo.InvariantCulture);
            }
            var block = new ProducerIdBlock(_reservedEnd, ProducerIdBlockSize);
            DurableFile.WriteAllBytes(_producerIdsPath, Encoding.ASCII.GetBytes(block.End.ToString(CultureInfo.InvariantCulture)));
            _reservedEnd = block.End;
            return new(block);
        }
    }

    /// <summary>The only replica is the leader; the ISR cannot change.</summary>
    public ValueTask<AlterPartitionResult> AlterPartitionAsync(AlterPartitionRequest request, CancellationToken cancellationToken = default)
    {
        var state = GetPartition(request.Topic, request.Partition);
        if (state is null) return new(new AlterPartitionResult(AlterPartitionError.UnknownTopicOrPartition, null));
        if (request.LeaderId != LocalNodeId || request.LeaderEpoch != state.LeaderEpoch) return new(new AlterPartitionResult(AlterPartitionError.FencedLeaderEpoch, state));
        if (request.PartitionEpoch != state.PartitionEpoch) return new(new AlterPartitionResult(AlterPartitionError.InvalidUpdateVersion, state));
        if (request.NewIsr is not [var only] || only != LocalNodeId) return new(new AlterPartitionResult(AlterPartitionError.InvalidRequest, state));
        return new(new AlterPartitionResult(AlterPartitionError.None, state));
    }

    /// <summary>A cluster of one has one place for every replica: moving a partition onto this node is already done.</summary>
    public ValueTask<TopicResult> ReassignPartitionAsync(string topic, int partition, IReadOnlyList<int>? targetReplicas, CancellationToken cancellationToken = default)
    {
        if (GetPartition(topic, partition) is null)
            return new(new TopicResult(TopicError.UnknownPartition, $"Partition {topic}-{partition} does not exist."));
        if (targetReplicas is null) return new(new TopicResult(TopicError.NoReassignmentInProgress, $"No reassignment of {topic}-{partition} is in progress."));
        if (targetReplicas is not [var only] || only != LocalNodeId)
            return new(new TopicResult(TopicError.InvalidReplicaAssignment, $"This cluster has one broker, {LocalNodeId}: replicas [{string.Join(',', targetReplicas)}] cannot be placed."));
        return new(TopicResult.Ok);
    }

    private sealed class NoSubscription : IDisposable
    {
        public static readonly NoSubscription Instance = new();
        public void Dispose() { }
    }
}
