using System.Collections.Concurrent;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Controller;

/// <summary>
/// Applies committed metadata to this node, whichever way it arrives (a voter's Raft log, a broker-only node's fetch
/// from a voter): the <see cref="MetadataImage"/>, then the local topics made to match it, then the role changes
/// told to the subscribers (replica manager, coordinators). One applier per node, fed in commit order, one record at
/// a time; the reads (<see cref="Nodes"/>, <see cref="GetPartition"/>) are lock-free snapshots of the image.
/// </summary>
public sealed partial class MetadataApplier
{
    /// <summary>
    /// How long a fenced node stays in Kafka Metadata (<see cref="ClusterNode.RecentlyFenced"/>): Kafka's
    /// broker.session.timeout.ms (9 s), the time a dead Kafka broker stays listed. Fencing itself stays immediate.
    /// </summary>
    private const long FencedListedMs = 9_000;

    private readonly int _localNodeId;
    private readonly TopicRegistry _topics;
    private readonly ILogger _logger;
    private readonly MetadataImage _image = new();

    /// <summary>When this node applied each node's fencing (its own clock), until the node registers again.</summary>
    private readonly ConcurrentDictionary<int, long> _fencedAt = new();
    private readonly Lock _subscribersLock = new();
    private readonly List<Action<PartitionRoleChange>> _subscribers = [];

    /// <summary>Held while the image changes with its index, so that a snapshot read is the image as of its index.</summary>
    private readonly Lock _gate = new();
    private readonly RecentMetadataRecords? _recent;
    private long _imageIndex = -1;
    private long _appliedIndex;
    private TaskCompletionSource _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="keepRecent">Hold the last applied entries for broker-only nodes fetching them (<see cref="ReadAfter"/>): on voters.</param>
    public MetadataApplier(int localNodeId, TopicRegistry topics, ILogger logger, bool keepRecent = false)
    {
        _localNodeId = localNodeId;
        _topics = topics;
        _logger = logger;
        _recent = keepRecent ? new RecentMetadataRecords() : null;
    }

    public MetadataImage Image => _image;

    /// <summary>The last log index applied here, side effects (topics, roles) included.</summary>
    public long AppliedIndex => Volatile.Read(ref _appliedIndex);

    /// <summary>Returns once <see cref="AppliedIndex"/> reached <paramref name="index"/>.</summary>
    public async Task WaitForAppliedAsync(long index, CancellationToken cancellationToken)
    {
        while (true)
        {
            var applied = Volatile.Read(ref _applied);
            if (AppliedIndex >= index) return;
            await applied.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What a broker-only node that applied up to <paramref name="after"/> needs next: the entries after it (at most
    /// <paramref name="max"/>), or a snapshot when they are no longer all held; null while this node's own index is
    /// unknown (a restored snapshot and no entry applied since).
    /// </summary>
    public MetadataFeedReply? ReadAfter(long after, int max, string clusterId, int controllerId)
    {
        lock (_gate)
        {
            if (_recent is null || _imageIndex < 0) return null;
            // The asker is ahead of this voter (it fetched from another one): nothing new here yet.
            if (after >= _imageIndex) return new MetadataFeedReply { ClusterId = clusterId, ControllerId = controllerId, AppliedIndex = _imageIndex };
            if (_recent.TryRead(after, max, out var records, out bool more))
            {
                long last = more ? records[^1].Index : _imageIndex;
                return new MetadataFeedReply { ClusterId = clusterId, ControllerId = controllerId, AppliedIndex = last, Records = records, More = more };
            }
            return new MetadataFeedReply { ClusterId = clusterId, ControllerId = controllerId, AppliedIndex = _imageIndex, Snapshot = _image.Serialize() };
        }
    }

    public IReadOnlyList<ClusterNode> Nodes =>
        [.. _image.Nodes.Values.OrderBy(n => n.Id).Select(n => new ClusterNode(n.Id, n.KafkaHost, n.KafkaPort, !n.Fenced, n.KafkaSecurityProtocol,
            RecentlyFenced: n.Fenced && _fencedAt.TryGetValue(n.Id, out long at) && Environment.TickCount64 - at < FencedListedMs))];

    public PartitionState? GetPartition(string topic, int partition) =>
        _image.Topics.TryGetValue(topic, out var t) && (uint)partition < (uint)t.Partitions.Count ? t.Partitions[partition] : null;

    public IDisposable Subscribe(Action<PartitionRoleChange> onChange)
    {
        lock (_subscribersLock)
        {
            foreach (var topic in _image.Topics.Values)
            {
                for (int p = 0; p < topic.Partitions.Count; p++)
                {
                    if (RoleOf(topic.Partitions[p]) is { } role) onChange(new PartitionRoleChange(topic.Name, p, role, topic.Partitions[p]));
                }
            }
            _subscribers.Add(onChange);
        }
        return new Subscription(this, onChange);
    }

    /// <summary>
    /// Applies one committed entry (a record or a batch): a batch is published to readers at once, then its records
    /// take effect on this node one by one.
    /// </summary>
    /// <remarks><paramref name="record"/> null: an entry without metadata (a new term's first entry), which only moves the index on.</remarks>
    public async ValueTask ApplyAsync(long index, MetadataRecord? record)
    {
        List<MetadataRecord> changed;
        lock (_gate)
        {
            changed = record is null ? []
                : record is { Type: MetadataRecordType.Batch, Records: { } records } ? _image.Apply(records)
                : _image.Apply(record) ? [record] : [];
            _recent?.Add(index, record);
            _imageIndex = index;
        }
        foreach (var done in changed) await OnAppliedAsync(done).ConfigureAwait(false);
        Published(index);
    }

    /// <summary>
    /// Replaces the image by a snapshot, then makes the local topics exactly the image's. <paramref name="index"/>:
    /// the last entry it holds; null when not known (DotNext restoring its own snapshot: known at the next entry).
    /// </summary>
    public async ValueTask RestoreAsync(ReadOnlyMemory<byte> snapshot, long? index)
    {
        lock (_gate)
        {
            _image.Restore(snapshot.Span);
            _imageIndex = index ?? -1;
            _recent?.Clear(index ?? -1);
        }
        await ReconcileAsync().ConfigureAwait(false);
        if (index is { } known) Published(known);
    }

    private void Published(long index)
    {
        if (index > Volatile.Read(ref _appliedIndex)) Volatile.Write(ref _appliedIndex, index);
        Interlocked.Exchange(ref _applied, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private PartitionRole? RoleOf(PartitionState state) =>
        state.Leader == _localNodeId ? PartitionRole.Leader
        : state.Replicas.Contains(_localNodeId) ? PartitionRole.Follower
        : null;

    /// <summary>Called after each applied security record (users, ACLs, vhosts, permissions), in commit order: the local vhosts follow.</summary>
    internal Func<MetadataRecord, ValueTask>? SecurityApplied { get; set; }

    /// <summary>Called after a snapshot replaced the image.</summary>
    internal Func<ValueTask>? SecurityRestored { get; set; }

    private async ValueTask OnAppliedAsync(MetadataRecord record)
    {
        if (SecurityImage.Handles(record.Type))
        {
            if (SecurityApplied is { } applied) await applied(record).ConfigureAwait(false);
            return;
        }
        string? name = record.Topic;
        switch (record.Type)
        {
            case MetadataRecordType.FenceNode:
                _fencedAt[record.NodeId] = Environment.TickCount64;
                break;
            case MetadataRecordType.RegisterNode:
                _fencedAt.TryRemove(record.NodeId, out _);
                break;
            case MetadataRecordType.CreateTopic when name is not null && _image.Topics.TryGetValue(name, out var created):
                Materialize(created);
                NotifyTopic(created);
                break;
            case MetadataRecordType.DeleteTopic when name is not null:
                if (_topics.TryGet(name, out var local))
                {
                    var removed = local.Partitions.Select(p => p.Index).ToList();
                    await _topics.DeleteAsync(name).ConfigureAwait(false);
                    foreach (int p in removed) Notify(new PartitionRoleChange(name, p, PartitionRole.Removed, null));
                }
                break;
            case MetadataRecordType.CreatePartitions when name is not null && _image.Topics.TryGetValue(name, out var grown):
                Materialize(grown);
                NotifyTopic(grown);
                break;
            case MetadataRecordType.AlterConfigs when name is not null && _image.Topics.TryGetValue(name, out var altered):
                _topics.AlterConfigs(name, altered.Configs.Select(c => (c.Key, (string?)c.Value)).ToList(), replaceAll: true, validateOnly: false);
                break;
            case MetadataRecordType.PartitionChange when name is not null && GetPartition(name, record.Partition) is { } state:
                if (RoleOf(state) is { } role) Notify(new PartitionRoleChange(name, record.Partition, role, state));
                // A reassignment that took this node off the partition: its fetcher stops.
                else if (record.Replicas is not null) Notify(new PartitionRoleChange(name, record.Partition, PartitionRole.Removed, state));
                break;
        }
    }

    /// <summary>After a snapshot: local topics become exactly the image's (deleted ones go, missing ones are created).</summary>
    private async ValueTask ReconcileAsync()
    {
        foreach (var topic in _topics.Topics.ToList())
        {
            if (!_image.Topics.TryGetValue(topic.Name, out var wanted) || wanted.Id != topic.Id) await _topics.DeleteAsync(topic.Name).ConfigureAwait(false);
        }
        foreach (var topic in _image.Topics.Values)
        {
            Materialize(topic);
            NotifyTopic(topic);
        }
        if (SecurityRestored is { } restored) await restored().ConfigureAwait(false);
    }

    /// <summary>
    /// Every node holds every partition's log directory (empty where it is not a replica), so that the handlers
    /// that look topics up locally answer alike on every node; data goes only to replicas.
    /// </summary>
    private void Materialize(TopicImage topic)
    {
        if (!_topics.TryGet(topic.Name, out var local))
        {
            var created = _topics.Create(topic.Name, topic.Partitions.Count, topic.Configs, topic.Id);
            if (!created.Succeeded) MaterializeFailed(_logger, topic.Name, created.Message);
            return;
        }
        if (local.Partitions.Count < topic.Partitions.Count) _topics.CreatePartitions(topic.Name, topic.Partitions.Count, validateOnly: false);
    }

    private void NotifyTopic(TopicImage topic)
    {
        for (int p = 0; p < topic.Partitions.Count; p++)
        {
            if (RoleOf(topic.Partitions[p]) is { } role) Notify(new PartitionRoleChange(topic.Name, p, role, topic.Partitions[p]));
        }
    }

    private void Notify(PartitionRoleChange change)
    {
        lock (_subscribersLock)
        {
            foreach (var subscriber in _subscribers) subscriber(change);
        }
    }

    private sealed class Subscription(MetadataApplier owner, Action<PartitionRoleChange> onChange) : IDisposable
    {
        public void Dispose()
        {
            lock (owner._subscribersLock) owner._subscribers.Remove(onChange);
        }
    }

    [LoggerMessage(EventId = 9007, Level = LogLevel.Error, Message = "Committed topic {Topic} cannot be created on this node: {Reason}")]
    private static partial void MaterializeFailed(ILogger logger, string topic, string? reason);
}
