using System.Collections.Concurrent;
using System.Text;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Groups;

/// <summary>
/// The group coordinator of this node (today the coordinator of every group): consumer groups under the
/// classic protocol and their committed offsets. The Kafka handlers call in here; each group is a
/// <see cref="ConsumerGroup"/> serialised by its own lock, so groups never wait on each other.
/// </summary>
/// <remarks>
/// Membership lives in memory only: after a restart every member is unknown and rejoins, as its client
/// does on UNKNOWN_MEMBER_ID. Committed offsets are durable in the <see cref="OffsetStore"/> and replayed at
/// open; a group with offsets but no members comes back Empty. Offsets of a group that stays empty for
/// <see cref="GroupOptions.OffsetsRetentionMinutes"/> (counted from when it emptied or its latest commit,
/// whichever is later) are deleted by a timer every <see cref="GroupOptions.OffsetsRetentionCheckIntervalMs"/>.
/// </remarks>
public sealed partial class GroupCoordinator : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, ConsumerGroup> _groups = new(StringComparer.Ordinal);
    private readonly OffsetStore _store;
    private readonly TopicRegistry _topics;
    private readonly ITimer _expiryTimer;
    private volatile bool _stopping;

    private GroupCoordinator(GroupOptions options, TopicRegistry topics, OffsetStore store, TimeProvider time, ILogger logger)
    {
        Options = options;
        _topics = topics;
        _store = store;
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

    /// <summary>Opens the offsets log in <c>DATA/__consumer_offsets/</c>, replays it and rebuilds the groups that have offsets.</summary>
    public static GroupCoordinator Open(BrokerOptions broker, GroupOptions options, TopicRegistry topics, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger<GroupCoordinator>();
        var store = OffsetStore.Open(Path.Combine(broker.DataDirectory, "__consumer_offsets"), broker.DefaultLogOptions with
        {
            SegmentBytes = Math.Min(broker.DefaultLogOptions.SegmentBytes, 100 * 1024 * 1024),
            // The store writes batches of up to 256 KiB, whatever the limit for producers is.
            MaxBatchBytes = Math.Max(broker.DefaultLogOptions.MaxBatchBytes, 1024 * 1024),
        }, broker.Time, loggerFactory.CreateLogger("Ferry.Broker.Groups.OffsetsLog"), out var offsets, out var pending);
        var coordinator = new GroupCoordinator(options, topics, store, broker.Time, logger);
        foreach (var (key, value) in offsets)
        {
            var group = coordinator._groups.GetOrAdd(key.Group, id => new ConsumerGroup(coordinator, id, stateTimestampMs: 0));
            group.Offsets[(key.Topic, key.Partition)] = value;
        }
        foreach (var (key, values) in pending)
        {
            var group = coordinator._groups.GetOrAdd(key.Group, id => new ConsumerGroup(coordinator, id, stateTimestampMs: 0));
            group.PendingTransactionalOffsets[key.ProducerId] = values;
        }
        return coordinator;
    }

    // ---- Membership --------------------------------------------------------------------------------------

    public Task<JoinResult> JoinAsync(JoinRequest request)
    {
        if (_stopping) return Task.FromResult(new JoinResult(GroupError.CoordinatorNotAvailable, request.MemberId));
        if (request.GroupId.Length == 0) return Task.FromResult(new JoinResult(GroupError.InvalidGroupId, request.MemberId));
        if (request.SessionTimeoutMs < Options.MinSessionTimeoutMs || request.SessionTimeoutMs > Options.MaxSessionTimeoutMs)
            return Task.FromResult(new JoinResult(GroupError.InvalidSessionTimeout, request.MemberId));
        return WithGroup(request.GroupId, create: request.MemberId.Length == 0, g => g.Join(request),
            Task.FromResult(new JoinResult(GroupError.UnknownMemberId, request.MemberId)));
    }

    public Task<SyncResult> SyncAsync(string groupId, int generation, string memberId, string? instanceId,
        string? protocolType, string? protocolName, IReadOnlyList<(string MemberId, byte[] Assignment)> assignments)
    {
        if (_stopping) return Task.FromResult(new SyncResult(GroupError.CoordinatorNotAvailable));
        if (groupId.Length == 0) return Task.FromResult(new SyncResult(GroupError.InvalidGroupId));
        return WithGroup(groupId, create: false, g => g.Sync(generation, memberId, instanceId, protocolType, protocolName, assignments),
            Task.FromResult(new SyncResult(GroupError.UnknownMemberId)));
    }

    public GroupError Heartbeat(string groupId, int generation, string memberId, string? instanceId)
    {
        if (_stopping) return GroupError.CoordinatorNotAvailable;
        if (groupId.Length == 0) return GroupError.InvalidGroupId;
        return WithGroup(groupId, create: false, g => g.Heartbeat(generation, memberId, instanceId), GroupError.UnknownMemberId);
    }

    /// <summary>Removes members (LeaveGroup v3+ names several, v5+ with the client's reason); the group rebalances once for all of them.</summary>
    public IReadOnlyList<LeaveOutcome> Leave(string groupId, IReadOnlyList<(string MemberId, string? GroupInstanceId, string? Reason)> members)
    {
        if (groupId.Length == 0) return members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, GroupError.InvalidGroupId)).ToList();
        return WithGroup(groupId, create: false,
            g => members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, g.Leave(m.MemberId, m.GroupInstanceId, m.Reason))).ToList(),
            members.Select(m => new LeaveOutcome(m.MemberId, m.GroupInstanceId, GroupError.UnknownMemberId)).ToList());
    }

    // ---- Offsets -----------------------------------------------------------------------------------------

    /// <summary>
    /// Stores offsets and completes once they are durable (see <see cref="OffsetStore"/>). Returns an error for
    /// the whole request (membership, generation) or one per partition (unknown partition, metadata too long).
    /// </summary>
    public async Task<(GroupError Error, GroupError[] Partitions)> CommitOffsetsAsync(string groupId, int generation,
        string memberId, string? instanceId, IReadOnlyList<OffsetCommitEntry> offsets)
    {
        var errors = new GroupError[offsets.Count];
        if (groupId.Length == 0) return (GroupError.InvalidGroupId, errors);
        if (_stopping) return (GroupError.CoordinatorNotAvailable, errors);
        long end = -1;
        var error = WithGroup(groupId, create: generation < 0, group =>
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
            // Appended under the group's lock, so the log holds this group's commits in the order the state has them.
            end = _store.Append(changes);
            foreach (var (key, value) in changes) group.Offsets[(key.Topic, key.Partition)] = value!;
            return GroupError.None;
        }, GroupError.IllegalGeneration);
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
        return (error, errors);
    }

    /// <summary>
    /// TxnOffsetCommit: stores offsets as part of <paramref name="producerId"/>'s open transaction, durable but not
    /// visible (OffsetFetch does not return them) until <see cref="CompleteTransactionAsync"/> commits them. A
    /// generation of -1 with no member id is not checked (KIP-447: producers that do not know the group).
    /// </summary>
    public async Task<(GroupError Error, GroupError[] Partitions)> CommitTransactionalOffsetsAsync(string groupId, long producerId,
        int generation, string memberId, string? instanceId, IReadOnlyList<OffsetCommitEntry> offsets)
    {
        var errors = new GroupError[offsets.Count];
        if (groupId.Length == 0) return (GroupError.InvalidGroupId, errors);
        if (_stopping) return (GroupError.CoordinatorNotAvailable, errors);
        long end = -1;
        var error = WithGroup(groupId, create: true, group =>
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
            end = _store.AppendPending(new PendingOffsetsKey(groupId, producerId), changes);
            if (!group.PendingTransactionalOffsets.TryGetValue(producerId, out var pending))
                group.PendingTransactionalOffsets[producerId] = pending = [];
            foreach (var (topic, partition, value) in changes) pending[(topic, partition)] = value;
            return GroupError.None;
        }, GroupError.IllegalGeneration);
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
        return (error, errors);
    }

    /// <summary>
    /// The transaction marker for a group (Kafka writes it into the group's <c>__consumer_offsets</c> partition):
    /// the producer's pending offsets become the group's committed offsets, or are dropped on abort. Completes once durable.
    /// </summary>
    public async Task CompleteTransactionAsync(string groupId, long producerId, bool commit)
    {
        long end = WithGroup(groupId, create: false, group =>
        {
            if (!group.PendingTransactionalOffsets.Remove(producerId, out var pending)) return -1L;
            long written = _store.AppendMarker(new PendingOffsetsKey(groupId, producerId), commit);
            if (commit)
            {
                foreach (var (key, value) in pending) group.Offsets[key] = value;
            }
            return written;
        }, -1L);
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
    }

    /// <summary>Partitions of the group with offsets still inside an open transaction (OffsetFetch require_stable: UNSTABLE_OFFSET_COMMIT).</summary>
    public IReadOnlySet<(string Topic, int Partition)> UnstablePartitions(string groupId) => WithGroup(groupId, create: false, group =>
    {
        if (group.PendingTransactionalOffsets.Count == 0) return (IReadOnlySet<(string, int)>)EmptyPartitions;
        var set = new HashSet<(string, int)>();
        foreach (var pending in group.PendingTransactionalOffsets.Values) set.UnionWith(pending.Keys);
        return set;
    }, EmptyPartitions);

    private static readonly HashSet<(string, int)> EmptyPartitions = [];

    private GroupError CheckEntry(OffsetCommitEntry entry)
    {
        if (!PartitionExists(entry.Topic, entry.Partition)) return GroupError.UnknownTopicOrPartition;
        if (entry.Metadata is not null && Encoding.UTF8.GetByteCount(entry.Metadata) > Options.OffsetMetadataMaxBytes) return GroupError.OffsetMetadataTooLarge;
        return GroupError.None;
    }

    private bool PartitionExists(string topic, int partition) =>
        _topics.TryGet(topic, out var t) && t.TryGetPartition(partition) is not null;

    /// <summary>The group's committed offsets for the partitions asked (null: every partition it has an offset for); null offset: none.</summary>
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
        }, empty);
    }

    /// <summary>Deletes offsets of partitions no member subscribes to (OffsetDelete).</summary>
    public async Task<(GroupError Error, IReadOnlyList<GroupError> Partitions)> DeleteOffsetsAsync(string groupId,
        IReadOnlyList<(string Topic, int Partition)> partitions)
    {
        var errors = new GroupError[partitions.Count];
        long end = -1;
        var error = WithGroup(groupId, create: false, group =>
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
            end = _store.Append(changes);
            foreach (var (key, _) in changes) group.Offsets.Remove((key.Topic, key.Partition));
            return GroupError.None;
        }, GroupError.GroupIdNotFound);
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
        return (error, errors);
    }

    /// <summary>
    /// A deleted topic takes every group's committed offsets for it along (as Kafka's coordinator does on
    /// partition deletion), durably. The topic has left the registry already, so a commit racing in either
    /// came first under the group's lock (and is deleted here) or finds the partition unknown.
    /// </summary>
    private async Task DeleteTopicOffsetsAsync(string topic)
    {
        long end = -1;
        foreach (var group in _groups.Values)
        {
            lock (group.Lock)
            {
                var doomed = group.Offsets.Keys.Where(k => string.Equals(k.Topic, topic, StringComparison.Ordinal)).ToList();
                if (doomed.Count == 0) continue;
                end = _store.Append(doomed.Select(k => (new OffsetKey(group.Id, k.Topic, k.Partition), (CommittedOffset?)null)));
                foreach (var key in doomed) group.Offsets.Remove(key);
            }
        }
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
    }

    // ---- Administration ----------------------------------------------------------------------------------

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
    }, new GroupDescription(groupId, GroupState.Dead, "", "", []));

    /// <summary>Deletes empty groups and their offsets (DeleteGroups).</summary>
    public async Task<IReadOnlyList<(string GroupId, GroupError Error)>> DeleteGroupsAsync(IReadOnlyList<string> groupIds)
    {
        var results = new List<(string, GroupError)>(groupIds.Count);
        long end = -1;
        foreach (var groupId in groupIds)
        {
            var error = WithGroup(groupId, create: false, group =>
            {
                if (group.State != GroupState.Empty) return GroupError.NonEmptyGroup;
                if (group.Offsets.Count > 0)
                {
                    end = _store.Append(group.Offsets.Keys.Select(k => (new OffsetKey(groupId, k.Topic, k.Partition), (CommittedOffset?)null)));
                    group.Offsets.Clear();
                }
                RemoveDead(group);
                return GroupError.None;
            }, GroupError.GroupIdNotFound);
            results.Add((groupId, error));
        }
        if (end >= 0) await _store.WaitForDurableAsync(end).ConfigureAwait(false);
        return results;
    }

    /// <summary>For the admin surface: a group's members with their assignments, and its offsets against the high watermarks.</summary>
    public GroupSummary? Summarize(string groupId) => WithGroup(groupId, create: false, Summarize, null);

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
        long now = Time.GetUtcNow().ToUnixTimeMilliseconds();
        long retentionMs = Options.OffsetsRetentionMinutes * 60_000;
        int expired = 0;
        try
        {
            foreach (var group in _groups.Values)
            {
                lock (group.Lock)
                {
                    if (group.State != GroupState.Empty) continue;
                    if (group.Offsets.Count > 0 && group.EmptySinceMs + retentionMs <= now)
                    {
                        _store.Append(group.Offsets.Keys.Select(k => (new OffsetKey(group.Id, k.Topic, k.Partition), (CommittedOffset?)null)));
                        OffsetsExpired(Logger, group.Id, group.Offsets.Count);
                        group.Offsets.Clear();
                        expired++;
                    }
                    if (group.Offsets.Count == 0 && group.MemberCount == 0 && group.PendingTransactionalOffsets.Count == 0) RemoveDead(group);
                }
            }
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
    /// Rewrites the live offsets and drops the older segments of the offsets log once most of its records are
    /// superseded (and there are enough of them to matter), so a long-running broker's log stays near its live size.
    /// </summary>
    public bool CompactOffsetsIfMostlyDead(long minimumRecords = 100_000)
    {
        long live = _groups.Values.Sum(g => { lock (g.Lock) return (long)g.Offsets.Count; });
        if (_stopping || _store.RecordsSinceCompaction < Math.Max(minimumRecords, 2 * live)) return false;
        try
        {
            long start = _store.BeginCompaction();
            live = 0;
            foreach (var group in _groups.Values)
            {
                lock (group.Lock)
                {
                    foreach (var (producerId, pending) in group.PendingTransactionalOffsets)
                    {
                        _store.AppendPending(new PendingOffsetsKey(group.Id, producerId), pending.Select(kv => (kv.Key.Topic, kv.Key.Partition, kv.Value)));
                        live += pending.Count;
                    }
                    if (group.Offsets.Count == 0) continue;
                    _store.Append(group.Offsets.Select(kv => (new OffsetKey(group.Id, kv.Key.Topic, kv.Key.Partition), (CommittedOffset?)kv.Value)));
                    live += group.Offsets.Count;
                }
            }
            _store.EndCompaction(start, live);
            return true;
        }
        catch (ObjectDisposedException)
        {
            return false; // stopping
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
    /// Runs <paramref name="action"/> under the group's lock. A group found dead (deleted meanwhile) is looked
    /// up again, so that a request never acts on a group that is gone.
    /// </summary>
    private T WithGroup<T>(string groupId, bool create, Func<ConsumerGroup, T> action, T missing)
    {
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

    /// <summary>
    /// The host is stopping: answer every waiting JoinGroup and SyncGroup (COORDINATOR_NOT_AVAILABLE, so
    /// clients look for the coordinator again) so that connections can close, and refuse new ones.
    /// </summary>
    public void Stop()
    {
        _stopping = true;
        _expiryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        foreach (var group in _groups.Values)
        {
            lock (group.Lock) group.Shutdown();
        }
    }

    /// <summary>Stops, then closes the offsets log cleanly (flushed, with its clean-shutdown marker).</summary>
    public async ValueTask DisposeAsync()
    {
        Stop();
        await _expiryTimer.DisposeAsync().ConfigureAwait(false);
        await _store.DisposeAsync().ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 2121, Level = LogLevel.Error, Message = "Expiring committed offsets failed; retrying at the next check")]
    private static partial void ExpiryFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2122, Level = LogLevel.Error, Message = "Compacting the offsets log failed; retrying at the next check")]
    private static partial void CompactionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 2120, Level = LogLevel.Information, Message = "Group {GroupId} stayed empty past the offsets retention: {Count} committed offsets deleted")]
    private static partial void OffsetsExpired(ILogger logger, string groupId, int count);
}
