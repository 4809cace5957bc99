using System.Text.Json;
using Ferry.Broker.Cluster;

namespace Ferry.Cluster.Controller;

/// <summary>A registered node: its addresses (and its Kafka listener's security protocol) and whether the controller holds it alive.</summary>
public sealed record NodeRegistration(int Id, string KafkaHost, int KafkaPort, string HttpEndPoint, bool Fenced,
    string KafkaSecurityProtocol = ClusterNode.Plaintext);

/// <summary>A topic in committed metadata: its id, its config overrides and each partition's state.</summary>
public sealed record TopicImage(string Name, Guid Id, IReadOnlyDictionary<string, string> Configs, IReadOnlyList<PartitionState> Partitions);

/// <summary>
/// The committed metadata: nodes, topics with their partitions' replication state, the producer-id high mark.
/// Changed only by <see cref="Apply(MetadataRecord)"/>, which is deterministic (no clock, no randomness, no I/O), so every node that
/// applies the same records in the same order holds the same image. Readers get immutable snapshots lock-free.
/// </summary>
public sealed class MetadataImage
{
    private volatile State _state = State.Empty;

    public IReadOnlyDictionary<int, NodeRegistration> Nodes => _state.Nodes;
    public IReadOnlyDictionary<string, TopicImage> Topics => _state.Topics;
    public long ProducerIdEnd => _state.ProducerIdEnd;

    /// <summary>Users, ACLs, vhosts and permissions: an immutable snapshot, read lock-free.</summary>
    public SecurityImage Security => _state.Security;

    /// <summary>Applies one record; returns false when it changes nothing (a stale or duplicate decision).</summary>
    /// <remarks>Called by one thread at a time (the log applier).</remarks>
    public bool Apply(MetadataRecord record)
    {
        if (record is { Type: MetadataRecordType.Batch, Records: { } records }) return Apply(records).Count > 0;
        if (Next(_state, record) is not { } next) return false;
        _state = next;
        return true;
    }

    /// <summary>
    /// Applies the records of a batch in order and publishes the result at once, so that readers see all of them or
    /// none; returns those that changed something.
    /// </summary>
    public List<MetadataRecord> Apply(IReadOnlyList<MetadataRecord> records)
    {
        var state = _state;
        var changed = new List<MetadataRecord>(records.Count);
        foreach (var record in records)
        {
            if (record.Type == MetadataRecordType.Batch || Next(state, record) is not { } next) continue;
            state = next;
            changed.Add(record);
        }
        _state = state;
        return changed;
    }

    private static State? Next(State state, MetadataRecord record) =>
        record.Type switch
        {
            MetadataRecordType.RegisterNode => state with
            {
                Nodes = With(state.Nodes, record.NodeId,
                    new NodeRegistration(record.NodeId, record.KafkaHost ?? "", record.KafkaPort, record.HttpEndPoint ?? "", Fenced: false,
                        record.KafkaSecurityProtocol ?? ClusterNode.Plaintext)),
            },
            MetadataRecordType.FenceNode when state.Nodes.TryGetValue(record.NodeId, out var node) =>
                state with { Nodes = With(state.Nodes, node.Id, node with { Fenced = true }) },
            MetadataRecordType.CreateTopic when record.Topic is { } name && !state.Topics.ContainsKey(name) && record.Assignments is { Count: > 0 } assigned =>
                state with
                {
                    Topics = With(state.Topics, name, new TopicImage(name, record.TopicId, record.Configs ?? [],
                        assigned.Select(replicas => new PartitionState(replicas[0], 0, replicas, replicas, 0)).ToList())),
                },
            MetadataRecordType.DeleteTopic when record.Topic is { } name && state.Topics.ContainsKey(name) =>
                state with { Topics = Without(state.Topics, name) },
            MetadataRecordType.CreatePartitions when record.Topic is { } name && state.Topics.TryGetValue(name, out var topic) && record.Assignments is { } added =>
                state with
                {
                    Topics = With(state.Topics, name, topic with
                    {
                        Partitions = [.. topic.Partitions, .. added.Select(replicas => new PartitionState(replicas[0], 0, replicas, replicas, 0))],
                    }),
                },
            MetadataRecordType.AlterConfigs when record.Topic is { } name && state.Topics.TryGetValue(name, out var topic) =>
                state with { Topics = With(state.Topics, name, topic with { Configs = record.Configs ?? [] }) },
            MetadataRecordType.PartitionChange when record.Topic is { } name && state.Topics.TryGetValue(name, out var topic)
                && (uint)record.Partition < (uint)topic.Partitions.Count && record.Isr is { } isr =>
                state with
                {
                    Topics = With(state.Topics, name, topic with
                    {
                        Partitions = Replace(topic.Partitions, record.Partition, Changed(topic.Partitions[record.Partition], record, isr)),
                    }),
                },
            MetadataRecordType.ProducerIds when record.ProducerIdEnd > state.ProducerIdEnd => state with { ProducerIdEnd = record.ProducerIdEnd },
            var type when SecurityImage.Handles(type) => state.Security.Apply(record) is { } security ? state with { Security = security } : null,
            _ => null,
        };

    private static PartitionState Changed(PartitionState state, MetadataRecord record, List<int> isr)
    {
        var changed = state with { Leader = record.Leader, LeaderEpoch = record.LeaderEpoch, Isr = isr, PartitionEpoch = record.PartitionEpoch };
        if (record.Replicas is not { Count: > 0 } replicas) return changed;
        return changed with
        {
            Replicas = replicas,
            AddingReplicas = record.AddingReplicas is { Count: > 0 } adding ? adding : null,
            RemovingReplicas = record.RemovingReplicas is { Count: > 0 } removing ? removing : null,
        };
    }

    public bool IsAlive(int nodeId) => _state.Nodes.TryGetValue(nodeId, out var node) && !node.Fenced;

    public byte[] Serialize()
    {
        var state = _state;
        return JsonSerializer.SerializeToUtf8Bytes(new Snapshot([.. state.Nodes.Values.OrderBy(n => n.Id)],
            [.. state.Topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal)], state.ProducerIdEnd, state.Security.ToSnapshot()), MetadataJsonContext.Default.Snapshot);
    }

    public void Restore(ReadOnlySpan<byte> bytes)
    {
        var snapshot = JsonSerializer.Deserialize(bytes, MetadataJsonContext.Default.Snapshot) ?? throw new InvalidDataException("Empty metadata snapshot.");
        // The version goes on from the one replaced, so that a cache keyed on it never mistakes the restored image for the old one.
        var security = SecurityImage.FromSnapshot(snapshot.Security);
        _state = new State(snapshot.Nodes.ToDictionary(n => n.Id), snapshot.Topics.ToDictionary(t => t.Name, StringComparer.Ordinal), snapshot.ProducerIdEnd,
            security with { Version = _state.Security.Version + 1 });
    }

    private static Dictionary<TKey, TValue> With<TKey, TValue>(IReadOnlyDictionary<TKey, TValue> source, TKey key, TValue value) where TKey : notnull
    {
        var copy = new Dictionary<TKey, TValue>(source.Count + 1, (source as Dictionary<TKey, TValue>)?.Comparer);
        foreach (var (k, v) in source) copy[k] = v;
        copy[key] = value;
        return copy;
    }

    private static Dictionary<TKey, TValue> Without<TKey, TValue>(IReadOnlyDictionary<TKey, TValue> source, TKey key) where TKey : notnull
    {
        var copy = new Dictionary<TKey, TValue>(source, (source as Dictionary<TKey, TValue>)?.Comparer);
        copy.Remove(key);
        return copy;
    }

    private static List<PartitionState> Replace(IReadOnlyList<PartitionState> source, int index, PartitionState value)
    {
        var copy = source.ToList();
        copy[index] = value;
        return copy;
    }

    private sealed record State(IReadOnlyDictionary<int, NodeRegistration> Nodes, IReadOnlyDictionary<string, TopicImage> Topics, long ProducerIdEnd,
        SecurityImage Security)
    {
        public static readonly State Empty = new(new Dictionary<int, NodeRegistration>(), new Dictionary<string, TopicImage>(StringComparer.Ordinal), 0,
            SecurityImage.Empty);
    }

    /// <summary>What a snapshot holds; <see cref="Security"/> is null in snapshots written before it was in the quorum.</summary>
    internal sealed record Snapshot(List<NodeRegistration> Nodes, List<TopicImage> Topics, long ProducerIdEnd, SecurityImage.SecuritySnapshot? Security = null);
}
