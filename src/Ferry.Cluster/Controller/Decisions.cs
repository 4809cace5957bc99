using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;

namespace Ferry.Cluster.Controller;

/// <summary>
/// What the controller decides from the committed image: replica placement, leader elections when a node is fenced
/// or returns, preferred-leader rebalance, and whether an AlterPartition is current. Pure functions of the image, so
/// they can be tested without a quorum; only the leader of the metadata quorum calls them and proposes the result.
/// </summary>
public static class Decisions
{
    /// <summary>
    /// Places <paramref name="count"/> partitions starting at <paramref name="firstPartition"/> round-robin over the
    /// live nodes (Kafka's rack-unaware assignment): partition p's replicas are consecutive nodes starting at a
    /// per-topic offset, so leaders spread across nodes.
    /// </summary>
    public static List<List<int>> Place(IReadOnlyList<int> liveNodes, string topic, int firstPartition, int count, int replicationFactor)
    {
        var nodes = liveNodes.Order().ToArray();
        int start = (int)((uint)StableHash(topic) % (uint)nodes.Length);
        var result = new List<List<int>>(count);
        for (int p = firstPartition; p < firstPartition + count; p++)
        {
            var replicas = new List<int>(replicationFactor);
            for (int r = 0; r < replicationFactor; r++) replicas.Add(nodes[(start + p + r) % nodes.Length]);
            result.Add(replicas);
        }
        return result;
    }

    /// <summary>
    /// A node was fenced: it leaves every ISR it is in, and partitions it led get a new leader from the remaining ISR
    /// (never an out-of-sync replica). A partition whose only in-sync replica was that node keeps it as its ISR and has
    /// no leader until it returns (no unclean election).
    /// </summary>
    public static List<MetadataRecord> OnFenced(MetadataImage image, int fenced)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            for (int p = 0; p < topic.Partitions.Count; p++)
            {
                var state = topic.Partitions[p];
                if (!state.Isr.Contains(fenced) && state.Leader != fenced) continue;
                var isr = state.Isr.Where(r => r != fenced).ToList();
                if (isr.Count == 0)
                {
                    if (state.Leader == PartitionState.NoLeader) continue;
                    records.Add(Change(topic.Name, p, state, PartitionState.NoLeader, state.Isr.ToList()));
                    continue;
                }
                int leader = state.Leader == fenced || state.Leader == PartitionState.NoLeader
                    ? FirstAlive(state.Replicas, isr, image)
                    : state.Leader;
                records.Add(Change(topic.Name, p, state, leader, isr));
            }
        }
        return records;
    }

    /// <summary>
    /// Leaderless partitions get a leader again once an ISR member is alive; a partition whose preferred replica (the
    /// first) is alive and in sync but not leading moves back to it (auto leader balance).
    /// </summary>
    public static List<MetadataRecord> Rebalance(MetadataImage image)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            for (int p = 0; p < topic.Partitions.Count; p++)
            {
                var state = topic.Partitions[p];
                int preferred = state.Replicas[0];
                if (state.Leader == PartitionState.NoLeader)
                {
                    int leader = FirstAlive(state.Replicas, state.Isr, image);
                    if (leader != PartitionState.NoLeader) records.Add(Change(topic.Name, p, state, leader, state.Isr.ToList()));
                }
                else if (state.Leader != preferred && state.Isr.Contains(preferred) && image.IsAlive(preferred))
                {
                    records.Add(Change(topic.Name, p, state, preferred, state.Isr.ToList()));
                }
            }
        }
        return records;
    }

    /// <summary>Checks a leader's ISR change against the committed state (KIP-497) and builds the record that makes it.</summary>
    public static AlterPartitionResult AlterPartition(MetadataImage image, AlterPartitionRequest request, out MetadataRecord? record)
    {
        record = null;
        if (!image.Topics.TryGetValue(request.Topic, out var topic) || (uint)request.Partition >= (uint)topic.Partitions.Count)
            return new(AlterPartitionError.UnknownTopicOrPartition, null);
        var state = topic.Partitions[request.Partition];
        if (request.LeaderId != state.Leader || request.LeaderEpoch != state.LeaderEpoch) return new(AlterPartitionError.FencedLeaderEpoch, state);
        if (request.PartitionEpoch != state.PartitionEpoch) return new(AlterPartitionError.InvalidUpdateVersion, state);
        var isr = request.NewIsr.Distinct().ToList();
        if (!isr.Contains(state.Leader) || isr.Any(r => !state.Replicas.Contains(r) || !image.IsAlive(r)))
            return new(AlterPartitionError.InvalidRequest, state);
        if (isr.Order().SequenceEqual(state.Isr.Order())) return new(AlterPartitionError.None, state);
        record = Change(request.Topic, request.Partition, state, state.Leader, isr);
        return new(AlterPartitionError.None, state with { Isr = isr, PartitionEpoch = state.PartitionEpoch + 1 });
    }

    /// <summary>
    /// Starts moving a partition to <paramref name="target"/> (KIP-455), or cancels its running move when that is null:
    /// the replicas become the target's followed by the original's that are not in it; those new to it are adding and
    /// start fetching, those not in it are removing and go in <see cref="CompleteReassignments"/>. A new target
    /// replaces a running one, measured from the original replicas. Cancelling goes back to the original replicas,
    /// keeping only their members in the ISR and moving leadership to one of them if needed.
    /// </summary>
    public static TopicResult Reassign(MetadataImage image, string topic, int partition, IReadOnlyList<int>? target, out MetadataRecord? record)
    {
        record = null;
        if (!image.Topics.TryGetValue(topic, out var t)) return new(TopicError.UnknownTopic, $"Topic '{topic}' does not exist.");
        if ((uint)partition >= (uint)t.Partitions.Count) return new(TopicError.UnknownPartition, $"Partition {topic}-{partition} does not exist.");
        var state = t.Partitions[partition];
        var original = state.OriginalReplicas;
        if (target is null)
        {
            if (!state.IsReassigning) return new(TopicError.NoReassignmentInProgress, $"No reassignment of {topic}-{partition} is in progress.");
            return Cancel(topic, partition, state, image, out record);
        }
        if (target.Count == 0 || target.Distinct().Count() != target.Count)
            return new(TopicError.InvalidReplicaAssignment, "The replicas must be distinct brokers, at least one.");
        if (target.FirstOrDefault(r => !image.Nodes.ContainsKey(r)) is var unknown && !target.All(image.Nodes.ContainsKey))
            return new(TopicError.InvalidReplicaAssignment, $"Broker {unknown} is not registered.");
        // Moving back to the original replicas is cancelling the move that runs.
        if (target.SequenceEqual(original)) return state.IsReassigning ? Cancel(topic, partition, state, image, out record) : TopicResult.Ok;
        // A replica added by a move this one replaces, and in neither set, leaves at once: the ISR and the leader too.
        record = WithReplicas(topic, partition, state, [.. target, .. original.Where(r => !target.Contains(r))],
            [.. target.Where(r => !original.Contains(r))], [.. original.Where(r => !target.Contains(r))], image);
        return record is null
            ? new(TopicError.InvalidReplicaAssignment, $"No replica of {topic}-{partition} would be left in sync and alive to lead.")
            : TopicResult.Ok;
    }

    private static TopicResult Cancel(string topic, int partition, PartitionState state, MetadataImage image, out MetadataRecord? record)
    {
        record = WithReplicas(topic, partition, state, state.OriginalReplicas, [], [], image);
        return record is null
            ? new(TopicError.InvalidReplicaAssignment, $"No original replica of {topic}-{partition} is in sync and alive to lead; the reassignment goes on.")
            : TopicResult.Ok;
    }

    /// <summary>
    /// Completes every reassignment whose target replicas are all in sync: the replicas become the target, the ISR
    /// keeps only target members, and a leader being removed hands leadership to an in-sync target replica.
    /// </summary>
    public static List<MetadataRecord> CompleteReassignments(MetadataImage image)
    {
        var records = new List<MetadataRecord>();
        foreach (var topic in image.Topics.Values.OrderBy(t => t.Name, StringComparer.Ordinal))
        {
            for (int p = 0; p < topic.Partitions.Count; p++)
            {
                var state = topic.Partitions[p];
                if (!state.IsReassigning || !state.TargetReplicas.All(state.Isr.Contains)) continue;
                if (WithReplicas(topic.Name, p, state, state.TargetReplicas, [], [], image) is { } record) records.Add(record);
            }
        }
        return records;
    }

    /// <summary>
    /// The change that gives the partition <paramref name="replicas"/> (with those adding and removing; both empty:
    /// no move runs): the ISR keeps only its members, and a leader not among them hands over to an in-sync, live one.
    /// Null when none of them could lead.
    /// </summary>
    private static MetadataRecord? WithReplicas(string topic, int partition, PartitionState state, IReadOnlyList<int> replicas,
        List<int> adding, List<int> removing, MetadataImage image)
    {
        var isr = state.Isr.Where(replicas.Contains).ToList();
        int leader = replicas.Contains(state.Leader) ? state.Leader : FirstAlive(replicas, isr, image);
        if (isr.Count == 0 || leader == PartitionState.NoLeader) return null;
        var record = Change(topic, partition, state, leader, isr);
        record.Replicas = [.. replicas];
        record.AddingReplicas = adding;
        record.RemovingReplicas = removing;
        return record;
    }

    private static int FirstAlive(IReadOnlyList<int> replicas, IReadOnlyList<int> isr, MetadataImage image)
    {
        foreach (int replica in replicas)
        {
            if (isr.Contains(replica) && image.IsAlive(replica)) return replica;
        }
        return PartitionState.NoLeader;
    }

    /// <summary>A change bumps the partition epoch always and the leader epoch when the leader changes.</summary>
    private static MetadataRecord Change(string topic, int partition, PartitionState state, int leader, List<int> isr) => new()
    {
        Type = MetadataRecordType.PartitionChange,
        Topic = topic,
        Partition = partition,
        Leader = leader,
        LeaderEpoch = leader == state.Leader ? state.LeaderEpoch : state.LeaderEpoch + 1,
        Isr = isr,
        PartitionEpoch = state.PartitionEpoch + 1,
    };

    /// <summary>FNV-1a: the same on every node and every run (string.GetHashCode is randomized per process).</summary>
    public static int StableHash(string value)
    {
        uint hash = 2166136261;
        foreach (char c in value)
        {
            hash ^= c;
            hash *= 16777619;
        }
        return (int)hash;
    }
}
