using System.Collections.Concurrent;
using System.Text;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Groups;

/// <summary>
/// The group coordinator of this node: consumer groups under the classic protocol and their committed offsets,
/// for the groups whose <c>__consumer_offsets</c> partition this node leads (Kafka's <c>GroupCoordinator</c> and
/// <c>GroupMetadataManager</c>). The Kafka handlers call in here; each group is a <see cref="ConsumerGroup"/>
/// serialised by its own lock, so groups never wait on each other.
/// </summary>
/// <remarks>
/// <para>Committed offsets are records of the internal topic <see cref="OffsetsTopic.Name"/> (see
/// <see cref="OffsetRecords"/>), replicated like any topic. When this node becomes the leader of one of its
/// partitions it reads that partition's log (requests for its groups get COORDINATOR_LOAD_IN_PROGRESS meanwhile);
/// when it stops leading it forgets them (NOT_COORDINATOR), so clients find the new leader through FindCoordinator.
/// An OffsetCommit is answered once its record is committed: below the partition's high watermark and durable by the
/// fsync policy (acks=all), so an acknowledged commit survives the coordinator's death. A single node leads every
/// partition from the start: the same path, with nothing to wait for but the fsync.</para>
/// <para>Membership lives in memory only: after a restart or a coordinator move every member is unknown and
/// rejoins, as its client does on UNKNOWN_MEMBER_ID. Offsets of a group that stays empty for
/// <see cref="GroupOptions.OffsetsRetentionMinutes"/> (counted from when it emptied or its latest commit,
/// whichever is later) are deleted by a timer every <see cref="GroupOptions.OffsetsRetentionCheckIntervalMs"/>.</para>
/// </remarks>
public sealed partial class GroupCoordinator : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, OffsetsPartition> _owned = new();
    private readonly TopicRegistry _topics;
    private readonly ITimer _expiryTimer;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _ownershipLock = new();
    private IDisposable? _subscription;
    private Task _ensureTopic = Task.CompletedTask;
    private volatile bool _stopping;

    private GroupCoordinator(GroupOptions options, TopicRegistry topics, TimeProvider time, ILogger logger)
    {
        Options = options;
        _topics = topics;
        Time = time;
        Logger = logger;
        var interval = TimeSpan.FromMilliseconds(options.OffsetsRetentionCheckIntervalMs);
        _expiryTimer = time.CreateTimer(static state =>
        {
            var coordinator = (GroupCoordinator)state!;
            coordinator.ExpireOffsets();
            coordinator.CompactOffsetsIfMostlyDead();
        }, this, interval, interval);
        topics.AddDeletionHook(DeleteTopicOffsetsAsync);
    }

    public GroupOptions Options { get; }
    internal TimeProvider Time { get; }
    internal ILogger Logger { get; }

    /// <summary>
    /// The coordinator of a single node: creates <c>__consumer_offsets</c> if it is missing (moving the offsets of an
    /// earlier release's <c>DATA/__consumer_offsets/</c> log into it), then loads every partition, which this node
    /// leads for good. Returns once every group with offsets is back.
    /// </summary>
    public static GroupCoordinator Open(BrokerOptions broker, GroupOptions options, TopicRegistry topics, ILoggerFactory loggerFactory)
    {
        var coordinator = new GroupCoordinator(options, topics, broker.Time, loggerFactory.CreateLogger<GroupCoordinator>());
        if (!topics.TryGet(OffsetsTopic.Name, out var offsets))
        {
            var created = topics.Create(OffsetsTopic.Name, options.OffsetsTopicPartitions, OffsetsTopic.Configs);
            if (!created.Succeeded && created.Error != TopicError.TopicAlreadyExists)
                throw new InvalidOperationException($"Cannot create {OffsetsTopic.Name}: {created.Message}");
            topics.TryGet(OffsetsTopic.Name, out offsets);
        }
        LegacyOffsetsLog.MigrateInto(Path.Combine(broker.DataDirectory, OffsetsTopic.Name), offsets, broker, loggerFactory.CreateLogger("Ferry.Broker.Groups.OffsetsLog"));
        foreach (var partition in offsets.Partitions) coordinator.Load(partition.Index, partition.LeaderEpoch).GetAwaiter().GetResult();
        return coordinator;
    }

    /// <summary>
    /// The coordinator of a cluster node: owns nothing until committed metadata makes this node the leader of an
    /// offsets partition. Call <see cref="StartClustered"/> once the replica roles are applied.
    /// </summary>
    public static GroupCoordinator OpenClustered(BrokerOptions broker, GroupOptions options, TopicRegistry topics, ILoggerFactory loggerFactory) =>
        new(options, topics, broker.Time, loggerFactory.CreateLogger<GroupCoordinator>());

    /// <summary>
    /// Follows this node's roles in <c>__consumer_offsets</c> (subscribe after the replica manager, so that a partition
    /// leads before its groups load), and has the controller create the topic until it exists: RF min(3, voters).
    /// </summary>
    public void StartClustered(IClusterView cluster, IMetadataController controller)
    {
        _subscription = cluster.Subscribe(change =>
        {
            if (!string.Equals(change.Topic, OffsetsTopic.Name, StringComparison.Ordinal)) return;
            if (change.Role == PartitionRole.Leader && change.State is { } state) BeginLoad(change.Partition, state.LeaderEpoch);
            else Unload(change.Partition);
        });
        _ensureTopic = InternalTopics.EnsureCreatedAsync(_topics, controller, new TopicSpec(OffsetsTopic.Name, Options.OffsetsTopicPartitions,
            Configs: OffsetsTopic.Configs), reason => OffsetsTopicWaiting(Logger, reason), _stop.Token);
    }

    /// <summary>Leadership of an offsets partition arrived (at <paramref name="leaderEpoch"/>): read it, off the caller's thread.</summary>
    private void BeginLoad(int index, int leaderEpoch)
    {
        lock (_ownershipLock)
        {
            if (_owned.TryGetValue(index, out var current) && current.LeaderEpoch == leaderEpoch) return;
        }
        _ = Task.Run(() => Load(index, leaderEpoch));
    }

    /// <summary>
    /// Reads the partition's log into groups (the latest record of each key wins; no compaction needed to read it
    /// right), then serves them, unless leadership moved on meanwhile. Compacts right after if most records are dead.
    /// </summary>
    private async Task Load(int index, int leaderEpoch)
    {
        if (!_topics.TryGet(OffsetsTopic.Name, out var topic) || topic.TryGetPartition(index) is not { } partition) return;
        var owned = new OffsetsPartition(partition, leaderEpoch);
        lock (_ownershipLock)
        {
            if (_stopping) return;
            if (_owned.TryGetValue(index, out var previous)) DropGroups(previous.Index, GroupError.CoordinatorLoadInProgress);
            _owned[index] = owned;
            // Groups left from an earlier ownership are stale: the log is the truth.
            DropGroups(index, GroupError.CoordinatorLoadInProgress);
        }
        var offsets = new Dictionary<OffsetKey, CommittedOffset>();
        var pendingOffsets = new Dictionary<PendingOffsetsKey, Dictionary<(string Topic, int Partition), CommittedOffset>>();
        long records;
        try
        {
            records = owned.Load(offsets, pendingOffsets);
        }
        catch (ObjectDisposedException)
        {
            return; // closing
        }
        lock (_ownershipLock)
        {
            if (!_owned.TryGetValue(index, out var current) || current != owned) return;
            foreach (var (key, value) in offsets)
            {
                var group = _groups.GetOrAdd(key.Group, id => new ConsumerGroup(this, id, stateTimestampMs: 0));
                lock (group.Lock) group.Offsets[(key.Topic, key.Partition)] = value;
            }
            foreach (var (key, values) in pendingOffsets)
            {
                var group = _groups.GetOrAdd(key.Group, id => new ConsumerGroup(this, id, stateTimestampMs: 0));
                lock (group.Lock) group.PendingTransactionalOffsets[key.ProducerId] = values;
            }
            owned.Loaded = true;
        }
        Loaded(Logger, OffsetsTopic.Name, index, leaderEpoch, offsets.Count, records);
        if (records > offsets.Count) await CompactAsync(owned).ConfigureAwait(false);
    }

    /// <summary>Leadership of an offsets partition went elsewhere: its groups are forgotten here (NOT_COORDINATOR from now on).</summary>
    private void Unload(int index)
    {
        lock (_ownershipLock)
        {
            if (!_owned.TryRemove(index, out _)) return;
            DropGroups(index, GroupError.NotCoordinator);
        }
        Unloaded(Logger, OffsetsTopic.Name, index);
    }

    private void DropGroups(int index, GroupError answer)
    {
        foreach (var group in _groups.Values)
        {
            if (PartitionOf(group.Id) != index) continue;
            lock (group.Lock)
            {
                group.Shutdown(answer);
                RemoveDead(group);
            }
        }
    }

    private int PartitionOf(string groupId) => InternalTopicOwnership.PartitionOf(_topics, CoordinatorKind.Group, groupId);

    /// <summary>Whether this node coordinates <paramref name="groupId"/> now (None), and if not the error to answer with.</summary>
    public GroupError CheckCoordinator(string groupId) => Ownership(groupId, out _);

    private GroupError Ownership(string groupId, out OffsetsPartition owned)
    {
        owned = null!;
        if (_stopping) return GroupError.CoordinatorNotAvailable;
        int index = PartitionOf(groupId);
        if (index < 0) return GroupError.CoordinatorNotAvailable;
        if (!_owned.TryGetValue(index, out owned!))
        {
            // Leadership may have arrived a moment before the load began (BeginLoad runs off the metadata thread).
            return InternalTopicOwnership.LeadsHere(_topics, CoordinatorKind.Group, index) ? GroupError.CoordinatorLoadInProgress : GroupError.NotCoordinator;
        }
        return owned.Loaded ? GroupError.None : GroupError.CoordinatorLoadInProgress;
    }

    /// <summary>True while some partition led here is still being read (ListGroups answers COORDINATOR_LOAD_IN_PROGRESS).</summary>
    public bool IsLoading => _owned.Values.Any(o => !o.Loaded);

    // ---- Membership --------------------------------------------------------------------------------------

    public Task<JoinResult> JoinAsync(JoinRequest request)
    {
        if (_stopping) return Task.FromResult(new JoinResult(GroupError.CoordinatorNotAvailable, request.MemberId));
        if (request.GroupId.Length == 0) return Task.FromResult(new JoinResult(GroupError.InvalidGroupId, request.MemberId));
        if (request.SessionTimeoutMs < Options.MinSessionTimeoutMs || request.SessionTimeoutMs > Options.MaxSessionTimeoutMs)
            return Task.FromResult(new JoinResult(GroupError.InvalidSessionTimeout, request.MemberId));
        return WithGroup(request.GroupId, create: request.MemberId.Length == 0, g => g.Join(request),
            Task.FromResult(new JoinResult(GroupError.UnknownMemberId, request.MemberId)),
            error => Task.FromResult(new JoinResult(error, request.MemberId)));
    }

    public Task<SyncResult> SyncAsync(string groupId, int generation, string memberId, string? instanceId,
        string? protocolType, string? protocolName, IReadOnlyList<(string MemberId, byte[] Assignment)> assignments)
    {
        if (_stopping) return Task.FromResult(new SyncResult(GroupError.CoordinatorNotAvailable));
        if (groupId.Length == 0) return Task.FromResult(new SyncResult(GroupError.InvalidGroupId));
        return WithGroup(groupId, create: false, g => g.Sync(generation, memberId, instanceId, protocolType, protocolName, assignments),
            Task.FromResult(new SyncResult(GroupError.UnknownMemberId)), error => Task.FromResult(new SyncResult(error)));
    }

    public GroupError Heartbeat(string groupId, int generation, string memberId, string? instanceId)
    {
        if (_stopping) return GroupError.CoordinatorNotAvailable;
        if (groupId.Length == 0) return GroupError.InvalidGroupId;
        return WithGroup(groupId, create: false, g => g.Heartbeat(generation, memberId, instanceId), GroupError.UnknownMemberId, error => error);
    }

    /// <summary>Removes members (LeaveGroup v3+ names several, v5+ with the client's reason); the group rebalances once for all of them.</summary>
    public IReadOnlyList<LeaveOutcome> Leave(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId, string? Reason)> members)
    {
        if (groupId.Length == 0) return members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, GroupError.InvalidGroupId)).ToList();
        return WithGroup(groupId, create: false,
            g => members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, g.Leave(m.MemberId, m.GroupInstanceId, m.Reason))).ToList(),
            members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, GroupError.UnknownMemberId)).ToList(),
            error => members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, error)).ToList());
    }

    // ---- Offsets -----------------------------------------------------------------------------------------

    /// <summary>
    /// Stores offsets and completes once they are committed in <c>__consumer_offsets</c> (see remarks). Returns an
    /// error for the whole request (coordinator, membership, generation) or one per partition (unknown partition,
    /// metadata too long).
    /// </summary>
    public async Task<(GroupError Error, GroupError[] Partitions)> CommitOffsetsAsync(string groupId, int generation,
        string memberId, string? instanceId, IReadOnlyList<OffsetCommitEntry> offsets)
    {
        var errors = new GroupError[offsets.Count];
        if (groupId.Length == 0) return (GroupError.InvalidGroupId, errors);
        if (_stopping) return (GroupError.CoordinatorNotAvailable, errors);
        PendingWrite write = default;
        ConsumerGroup? committing = null;
        List<(OffsetKey Key, CommittedOffset? Value)>? written = null;
        var error = Write(groupId, create: generation < 0, (group, owned) =>
        {
            var valid = group.ValidateCommit(generation, memberId, instanceId);
            if (valid != GroupError.None) return valid;
            long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            var changes = new List<(OffsetKey Key, CommittedOffset? Value)>(offsets.Count);
            for (int i = 0; i < offsets.Count; i++)
            {
                var entry = offsets[i];
                errors[i] = CheckEntry(entry);
                if (errors[i] == GroupError.None) changes.Add((new OffsetKey(groupId, entry.Topic, entry.Partition), new CommittedOffset(entry.Offset, entry.LeaderEpoch, entry.Metadata, now)));
            }
            if (changes.Count == 0) return GroupError.None;
            // Appended under the group's lock, so the log holds this group's commits in the order they were taken.
            write = owned.Append(changes, now);
            committing = group;
            written = changes;
            return GroupError.None;
        }, GroupError.IllegalGeneration);
        if (error == GroupError.None) error = await OffsetsPartition.CommitAsync(write).ConfigureAwait(false);
        // Seen by OffsetFetch only once committed: an offset a failover could still take back is never shown.
        if (error == GroupError.None && committing is not null) ApplyCommitted(committing, written!, write.LastOffset);
        return (error, errors);
    }

    /// <summary>
    /// TxnOffsetCommit: stores offsets as part of <paramref name="producerId"/>'s open transaction, committed in
    /// <c>__consumer_offsets</c> but not visible (OffsetFetch does not return them) until
    /// <see cref="CompleteTransactionAsync"/> commits them. A generation of -1 with no member id is not checked
    /// (KIP-447: producers that do not know the group).
    /// </summary>
    public async Task<(GroupError Error, GroupError[] Partitions)> CommitTransactionalOffsetsAsync(string groupId, long producerId,
        int generation, string memberId, string? instanceId, IReadOnlyList<OffsetCommitEntry> offsets)
    {
        var errors = new GroupError[offsets.Count];
        if (groupId.Length == 0) return (GroupError.InvalidGroupId, errors);
        if (_stopping) return (GroupError.CoordinatorNotAvailable, errors);
        PendingWrite write = default;
        var error = Write(groupId, create: true, (group, owned) =>
        {
            var valid = generation < 0 && memberId.Length == 0 ? GroupError.None : group.ValidateCommit(generation, memberId, instanceId);
            if (valid != GroupError.None) return valid;
            long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
            var changes = new List<(string Topic, int Partition, CommittedOffset Value)>(offsets.Count);
            for (int i = 0; i < offsets.Count; i++)
            {
                var entry = offsets[i];
                errors[i] = CheckEntry(entry);
                if (errors[i] == GroupError.None) changes.Add((entry.Topic, entry.Partition, new CommittedOffset(entry.Offset, entry.LeaderEpoch, entry.Metadata, now)));
            }
            if (changes.Count == 0) return GroupError.None;
            write = owned.AppendPending(new PendingOffsetsKey(groupId, producerId), changes, now);
            // Pending from the append on: require_stable readers wait rather than read an offset about to change.
            if (!group.PendingTransactionalOffsets.TryGetValue(producerId, out var pending))
                group.PendingTransactionalOffsets[producerId] = pending = [];
            foreach (var (topic, partition, value) in changes) pending[(topic, partition)] = value;
            return GroupError.None;
        }, GroupError.IllegalGeneration);
        if (error == GroupError.None) error = await OffsetsPartition.CommitAsync(write).ConfigureAwait(false);
        return (error, errors);
    }

    /// <summary>
    /// The transaction marker for a group (Kafka writes it into the group's <c>__consumer_offsets</c> partition):
    /// the producer's pending offsets become the group's committed offsets, or are dropped on abort. Completes once
    /// committed; throws <see cref="IOException"/> when the marker could not be committed, so the transaction
    /// coordinator retries it (the pending offsets stay until a marker is committed).
    /// </summary>
    public async Task CompleteTransactionAsync(string groupId, long producerId, bool commit)
    {
        PendingWrite write = default;
        ConsumerGroup? completing = null;
        var key = new PendingOffsetsKey(groupId, producerId);
        var error = Write(groupId, create: false, (group, owned) =>
        {
            if (!group.PendingTransactionalOffsets.ContainsKey(producerId)) return GroupError.None;
            write = owned.AppendMarker(key, commit, Time.GetUtcNow().ToUnixTimeMilliseconds());
            completing = group;
            return GroupError.None;
        }, GroupError.None);
        if (error == GroupError.None) error = await OffsetsPartition.CommitAsync(write).ConfigureAwait(false);
        if (error != GroupError.None) throw new IOException($"The transaction marker for group {groupId} was not committed: {error}.");
        if (completing is null) return;
        List<(OffsetKey Key, CommittedOffset? Value)>? committed = null;
        lock (completing.Lock)
        {
            if (completing.PendingTransactionalOffsets.Remove(producerId, out var pending) && commit)
                committed = pending.Select(kv => (new OffsetKey(groupId, kv.Key.Topic, kv.Key.Partition), (CommittedOffset?)kv.Value)).ToList();
        }
        if (committed is not null) ApplyCommitted(completing, committed, write.LastOffset);
    }

    /// <summary>
    /// The transaction marker for one <c>__consumer_offsets</c> partition (WriteTxnMarkers names partitions, not groups):
    /// <see cref="CompleteTransactionAsync"/> for every group there with offsets pending in the producer's transaction.
    /// NOT_COORDINATOR when this node does not lead the partition (the coordinator asks the new leader).
    /// </summary>
    public async Task<GroupError> CompleteTransactionInPartitionAsync(int offsetsPartition, long producerId, bool commit)
    {
        if (_stopping) return GroupError.CoordinatorNotAvailable;
        if (!_owned.TryGetValue(offsetsPartition, out var owned)) return GroupError.NotCoordinator;
        if (!owned.Loaded) return GroupError.CoordinatorLoadInProgress;
        var pending = _groups.Values.Where(g => PartitionOf(g.Id) == offsetsPartition && HasPending(g, producerId)).Select(g => g.Id).ToList();
        try
        {
            foreach (var groupId in pending) await CompleteTransactionAsync(groupId, producerId, commit).ConfigureAwait(false);
        }
        catch (IOException)
        {
            return _owned.ContainsKey(offsetsPartition) ? GroupError.CoordinatorNotAvailable : GroupError.NotCoordinator;
        }
        return GroupError.None;
    }

    private static bool HasPending(ConsumerGroup group, long producerId)
    {
        lock (group.Lock) return group.PendingTransactionalOffsets.ContainsKey(producerId);
    }

    /// <summary>Partitions of the group with offsets still inside an open transaction (OffsetFetch require_stable: UNSTABLE_OFFSET_COMMIT).</summary>
    public IReadOnlySet<(string Topic, int Partition)> UnstablePartitions(string groupId) => WithGroup(groupId, create: false, group =>
    {
        if (group.PendingTransactionalOffsets.Count == 0) return (IReadOnlySet<(string, int)>)EmptyPartitions;
        var set = new HashSet<(string, int)>();
        foreach (var pending in group.PendingTransactionalOffsets.Values) set.UnionWith(pending.Keys);
        return set;
    }, EmptyPartitions, _ => EmptyPartitions);

    private static readonly HashSet<(string, int)> EmptyPartitions = [];

    private GroupError CheckEntry(OffsetCommitEntry entry)
    {
        if (!PartitionExists(entry.Topic, entry.Partition)) return GroupError.UnknownTopicOrPartition;
        if (entry.Metadata is not null && Encoding.UTF8.GetByteCount(entry.Metadata) > Options.OffsetMetadataMaxBytes) return GroupError.OffsetMetadataTooLarge;
        return GroupError.None;
    }

    private static void ApplyCommitted(ConsumerGroup group, List<(OffsetKey Key, CommittedOffset? Value)> changes, long position)
    {
        lock (group.Lock)
        {
            if (group.State == GroupState.Dead) return;
            foreach (var (key, value) in changes)
            {
                var k = (key.Topic, key.Partition);
                if (group.OffsetPositions.TryGetValue(k, out long latest) && latest > position) continue;
                group.OffsetPositions[k] = position;
                group.Offsets[k] = value!;
            }
        }
    }

    /// <summary>Deletions show at once (they only hide offsets); a commit taken before them and completing after stays hidden.</summary>
    private static void ApplyDeleted(ConsumerGroup group, IEnumerable<(string Topic, int Partition)> keys, PendingWrite write)
    {
        foreach (var key in keys.ToList())
        {
            group.Offsets.Remove(key);
            if (write.Owner is not null) group.OffsetPositions[key] = write.LastOffset;
        }
    }

    private bool PartitionExists(string topic, int partition) =>
        _topics.TryGet(topic, out var t) && t.TryGetPartition(partition) is not null;

    /// <summary>
    /// The group's committed offsets for the partitions asked (null: every partition it has an offset for); null offset:
    /// none. Ask <see cref="CheckCoordinator"/> first: a group this node does not coordinate has no offsets here.
    /// </summary>
    public IReadOnlyList<(string Topic, int Partition, CommittedOffset? Offset)> FetchOffsets(string groupId,
        IReadOnlyList<(string Topic, IReadOnlyList<int> Partitions)>? wanted)
    {
        var empty = wanted?.SelectMany(t => t.Partitions.Select(p => (t.Topic, p, (CommittedOffset?)null))).ToList() ?? [];
        return WithGroup(groupId, create: false, group =>
        {
            if (wanted is null)
                return group.Offsets.OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition)
                    .Select(kv => (kv.Key.Topic, kv.Key.Partition, (CommittedOffset?)kv.Value)).ToList();
            return wanted.SelectMany(t => t.Partitions.Select(p => (t.Topic, p, group.Offsets.GetValueOrDefault((t.Topic, p))))).ToList();
        }, empty, _ => empty);
    }

    /// <summary>Deletes offsets of partitions no member subscribes to (OffsetDelete).</summary>
    public async Task<(GroupError Error, IReadOnlyList<GroupError> Partitions)> DeleteOffsetsAsync(string groupId,
        IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        var errors = new GroupError[partitions.Count];
        PendingWrite write = default;
        var error = Write(groupId, create: false, (group, owned) =>
        {
            if (group.State != GroupState.Empty && group.ProtocolType != ConsumerProtocol.ProtocolType) return GroupError.NonEmptyGroup;
            var subscribed = group.State == GroupState.Empty ? [] : group.SubscribedTopics();
            var changes = new List<(OffsetKey, CommittedOffset?)>();
            for (int i = 0; i < partitions.Count; i++)
            {
                var (topic, partition) = partitions[i];
                if (subscribed.Contains(topic)) errors[i] = GroupError.GroupSubscribedToTopic;
                else if (group.Offsets.ContainsKey((topic, partition))) changes.Add((new OffsetKey(groupId, topic, partition), null));
            }
            if (changes.Count == 0) return GroupError.None;
            write = owned.Append(changes, Now);
            ApplyDeleted(group, changes.Select(c => (c.Item1.Topic, c.Item1.Partition)), write);
            return GroupError.None;
        }, GroupError.GroupIdNotFound);
        if (error == GroupError.None) error = await OffsetsPartition.CommitAsync(write).ConfigureAwait(false);
        return (error, errors);
    }

    /// <summary>
    /// A deleted topic takes every group's committed offsets for it along (as Kafka's coordinator does on
    /// partition deletion), as tombstones in <c>__consumer_offsets</c>, written by the coordinators of the groups (every
    /// node runs this; each writes for the groups it leads). The topic has left the registry already, so a commit racing
    /// in either came first under the group's lock (and is deleted here) or finds the partition unknown.
    /// </summary>
    private async Task DeleteTopicOffsetsAsync(string topic)
    {
        var writes = new List<PendingWrite>();
        foreach (var group in _groups.Values)
        {
            if (Ownership(group.Id, out var owned) != GroupError.None) continue;
            lock (group.Lock)
            {
                var doomed = group.Offsets.Keys.Where(k => string.Equals(k.Topic, topic, StringComparison.Ordinal)).ToList();
                if (doomed.Count == 0) continue;
                PendingWrite write;
                try
                {
                    write = owned.Append(doomed.Select(k => (new OffsetKey(group.Id, k.Topic, k.Partition), (CommittedOffset?)null)), Now);
                }
                catch (OffsetsWriteException)
                {
                    continue; // no longer the coordinator: the new one has the offsets (see the README on deleted topics)
                }
                writes.Add(write);
                ApplyDeleted(group, doomed, write);
            }
        }
        foreach (var write in writes) await OffsetsPartition.CommitAsync(write).ConfigureAwait(false);
    }

    private long Now => Time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- Administration ----------------------------------------------------------------------------------

    /// <summary>The groups this node coordinates.</summary>
    public IReadOnlyList<GroupListing> ListGroups()
    {
        var listings = new List<GroupListing>();
        foreach (var group in _groups.Values)
        {
            lock (group.Lock)
            {
                if (group.State != GroupState.Dead) listings.Add(new GroupListing(group.Id, group.ProtocolType ?? "", group.State));
            }
        }
        return listings.OrderBy(l => l.GroupId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The group as DescribeGroups shows it; an unknown group is Dead with no members, as Kafka answers.</summary>
    public GroupDescription DescribeGroup(string groupId) => WithGroup(groupId, create: false, group =>
    {
        // Kafka shows members' metadata and assignments only once the generation is stable.
        bool stable = group.State == GroupState.Stable;
        var members = group.Members.Select(m => new MemberDescription(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost,
            stable ? m.MetadataFor(group.ProtocolName) : [], stable ? m.Assignment : [])).ToList();
        return new GroupDescription(group.Id, group.State, group.ProtocolType ?? "",
            stable ? group.ProtocolName ?? "" : "", members);
    }, new GroupDescription(groupId, GroupState.Dead, "", "", []), _ => new GroupDescription(groupId, GroupState.Dead, "", "", []));

    /// <summary>Deletes empty groups and their offsets (DeleteGroups).</summary>
    public async Task<IReadOnlyList<(string GroupId, GroupError Error)>> DeleteGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var results = new List<(string, GroupError)>(groupIds.Count);
        var writes = new List<PendingWrite>(groupIds.Count);
        foreach (var groupId in groupIds)
        {
            PendingWrite write = default;
            var error = Write(groupId, create: false, (group, owned) =>
            {
                if (group.State != GroupState.Empty) return GroupError.NonEmptyGroup;
                if (group.Offsets.Count > 0)
                {
                    write = owned.Append(group.Offsets.Keys.Select(k => (new OffsetKey(groupId, k.Topic, k.Partition), (CommittedOffset?)null)), Now);
                    ApplyDeleted(group, group.Offsets.Keys, write);
                }
                RemoveDead(group);
                return GroupError.None;
            }, GroupError.GroupIdNotFound);
            results.Add((groupId, error));
            writes.Add(write);
        }
        for (int i = 0; i < results.Count; i++)
        {
            var committed = await OffsetsPartition.CommitAsync(writes[i]).ConfigureAwait(false);
            if (committed != GroupError.None) results[i] = (results[i].Item1, committed);
        }
        return results;
    }

    /// <summary>For the admin surface: a group's members with their assignments, and its offsets against the high watermarks.</summary>
    public GroupSummary? Summarize(string groupId) => WithGroup(groupId, create: false, Summarize, null, _ => null);

    public IReadOnlyList<GroupSummary> SummarizeAll() =>
        _groups.Keys.Order(StringComparer.Ordinal).Select(Summarize).OfType<GroupSummary>().ToList();

    private GroupSummary Summarize(ConsumerGroup group)
    {
        var members = group.Members.Select(m =>
        {
            IReadOnlyList<(string, int)> assigned = group.ProtocolType == ConsumerProtocol.ProtocolType
                && ConsumerProtocol.TryReadAssignment(m.Assignment, out var partitions) ? partitions : [];
            return new MemberSummary(m.MemberId, m.GroupInstanceId, m.ClientId, m.ClientHost, assigned);
        }).ToList();
        var offsets = group.Offsets.OrderBy(kv => kv.Key.Topic, StringComparer.Ordinal).ThenBy(kv => kv.Key.Partition).Select(kv =>
        {
            var partition = _topics.TryGet(kv.Key.Topic, out var topic) ? topic.TryGetPartition(kv.Key.Partition) : null;
            long highWatermark = partition?.HighWatermark ?? -1;
            long lag = highWatermark < 0 ? -1 : Math.Max(0, highWatermark - kv.Value.Offset);
            return new PartitionLag(kv.Key.Topic, kv.Key.Partition, kv.Value.Offset, kv.Value.Metadata, highWatermark, lag);
        }).ToList();
        return new GroupSummary(group.Id, group.State, group.Generation, group.ProtocolType, group.ProtocolName, group.LeaderId, members, offsets);
    }

    // ---- Expiry and lifecycle ----------------------------------------------------------------------------

    /// <summary>Deletes the offsets of groups empty for longer than the retention, and forgets empty groups with none. Returns the groups expired.</summary>
    public int ExpireOffsets()
    {
        if (_stopping) return 0;
        long now = Now;
        long retentionMs = Options.OffsetsRetentionMinutes * 60_000;
        int expired = 0;
        try
        {
            foreach (var group in _groups.Values)
            {
                if (Ownership(group.Id, out var owned) != GroupError.None) continue;
                lock (group.Lock)
                {
                    if (group.State != GroupState.Empty) continue;
                    if (group.Offsets.Count > 0 && group.EmptySinceMs + retentionMs <= now)
                    {
                        // Not waited on: a tombstone lost with a failover leaves the offsets to the next coordinator's expiry.
                        var write = owned.Append(group.Offsets.Keys.Select(k => (new OffsetKey(group.Id, k.Topic, k.Partition), (CommittedOffset?)null)), now);
                        OffsetsExpired(Logger, group.Id, group.Offsets.Count);
                        ApplyDeleted(group, group.Offsets.Keys, write);
                        expired++;
                    }
                    if (group.Offsets.Count == 0 && group.MemberCount == 0 && group.PendingTransactionalOffsets.Count == 0) RemoveDead(group);
                }
            }
        }
        catch (OffsetsWriteException)
        {
            // Leadership moved while expiring; the new coordinator expires them.
        }
        catch (ObjectDisposedException)
        {
            // The offsets log closed under a shutdown.
        }
        catch (IOException ex)
        {
            // This runs on a timer thread, where an exception would end the process; the next round retries.
            ExpiryFailed(Logger, ex);
        }
        return expired;
    }

    /// <summary>
    /// For each offsets partition led here whose records are mostly superseded (and enough to matter): rewrites the
    /// live offsets at the tail of a fresh segment and, once that is committed, moves the log start past every older
    /// segment (followers move theirs as they learn the leader's), so a long-running log stays near its live size.
    /// A crash in the middle leaves old records followed by some of the rewrite, which load to the same state.
    /// (Kafka's log cleaner does this job for <c>__consumer_offsets</c>.)
    /// </summary>
    public bool CompactOffsetsIfMostlyDead(long minimumRecords = 100_000)
    {
        bool compacted = false;
        foreach (var owned in _owned.Values)
        {
            if (_stopping || !owned.Loaded) continue;
            long live = LiveOffsets(owned.Index).Count;
            if (Interlocked.Read(ref owned.RecordsSinceCompaction) < Math.Max(minimumRecords, 2 * live)) continue;
            compacted |= CompactAsync(owned).GetAwaiter().GetResult();
        }
        return compacted;
    }

    private List<ConsumerGroup> LiveOffsets(int index) =>
        _groups.Values.Where(g => PartitionOf(g.Id) == index && (g.Offsets.Count > 0 || g.PendingTransactionalOffsets.Count > 0)).ToList();

    private async Task<bool> CompactAsync(OffsetsPartition owned)
    {
        try
        {
            var partition = owned.Partition;
            partition.Roll();
            long start = partition.LogEndOffset;
            long live = 0;
            PendingWrite last = default;
            foreach (var group in LiveOffsets(owned.Index))
            {
                lock (group.Lock)
                {
                    foreach (var (producerId, pending) in group.PendingTransactionalOffsets)
                    {
                        var written = owned.AppendPending(new PendingOffsetsKey(group.Id, producerId), pending.Select(kv => (kv.Key.Topic, kv.Key.Partition, kv.Value)), Now);
                        if (written.Owner is not null) last = written;
                        live += pending.Count;
                    }
                    if (group.Offsets.Count == 0) continue;
                    last = owned.Append(group.Offsets.Select(kv => (new OffsetKey(group.Id, kv.Key.Topic, kv.Key.Partition), (CommittedOffset?)kv.Value)), Now);
                    live += group.Offsets.Count;
                }
            }
            if (await OffsetsPartition.CommitAsync(last).ConfigureAwait(false) != GroupError.None) return false;
            partition.DeleteRecords(start);
            Interlocked.Exchange(ref owned.RecordsSinceCompaction, live);
            return true;
        }
        catch (Exception e) when (e is OffsetsWriteException or ObjectDisposedException)
        {
            return false; // leadership moved, or stopping
        }
        catch (IOException ex)
        {
            CompactionFailed(Logger, ex);
            return false;
        }
    }

    private void RemoveDead(ConsumerGroup group)
    {
        group.MarkDead();
        _groups.TryRemove(new KeyValuePair<string, ConsumerGroup>(group.Id, group));
    }

    /// <summary>
    /// Runs <paramref name="action"/> under the group's lock, if this node coordinates the group (else
    /// <paramref name="refused"/> with the error to answer). A group found dead (deleted meanwhile) is looked up
    /// again, so that a request never acts on a group that is gone.
    /// </summary>
    private T WithGroup<T>(string groupId, bool create, Func<ConsumerGroup, T> action, T missing, Func<GroupError, T> refused)
    {
        var check = Ownership(groupId, out _);
        if (check != GroupError.None) return refused(check);
        while (true)
        {
            var group = create ? _groups.GetOrAdd(groupId, id => new ConsumerGroup(this, id)) : _groups.GetValueOrDefault(groupId);
            if (group is null) return missing;
            lock (group.Lock)
            {
                if (group.State != GroupState.Dead) return action(group);
            }
        }
    }

    /// <summary>A change that writes to the group's offsets partition; a refused write is the client's error.</summary>
    private GroupError Write(string groupId, bool create, Func<ConsumerGroup, OffsetsPartition, GroupError> action, GroupError missing)
    {
        var check = Ownership(groupId, out var owned);
        if (check != GroupError.None) return check;
        try
        {
            return WithGroup(groupId, create, group => action(group, owned), missing, error => error);
        }
        catch (OffsetsWriteException e)
        {
            return e.Error;
        }
    }

    /// <summary>
    /// The host is stopping: answer every waiting JoinGroup and SyncGroup (COORDINATOR_NOT_AVAILABLE, so
    /// clients look for the coordinator again) so that connections can close, and refuse new ones.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        _stop.Cancel();
        _subscription?.Dispose();
        _expiryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var group in _groups.Values)
        {
            lock (group.Lock) group.Shutdown();
        }
    }

    /// <summary>Stops; the offsets partitions are logs of the topic registry, which closes them.</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        await _ensureTopic.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _expiryTimer.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Loaded {Topic}-{Partition} at leader epoch {LeaderEpoch}: {Offsets} committed offsets from {Records} records")]
    private static partial void Loaded(ILogger logger, string topic, int partition, int leaderEpoch, int offsets, long records);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Information, Message = "No longer the coordinator of {Topic}-{Partition}'s groups: unloaded")]
    private static partial void Unloaded(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Information, Message = "The offsets topic cannot be created yet: {Reason}; retrying")]
    private static partial void OffsetsTopicWaiting(ILogger logger, string? reason);

    [LoggerMessage(EventId = 2121, Level = LogLevel.Error, Message = "Expiring committed offsets failed; retrying at the next check")]
    private static partial void ExpiryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Error, Message = "Compacting the offsets log failed; retrying at the next check")]
    private static partial void CompactionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information, Message = "Group {GroupId} stayed empty past the offsets retention: {Count} committed offsets deleted")]
    private static partial void OffsetsExpired(ILogger logger, string groupId, int count);
}
