using Ferry.Broker.Diagnostics;
using Ferry.Storage;
using Ferry.Storage.Records;

namespace Ferry.Broker.Topics;

/// <summary>
/// One partition of a topic, and the only door to its log: appends as leader (producer checks, leader epoch
/// stamped) or as follower (the leader's bytes as they are), reads bounded by the high watermark for consumers,
/// the wait for commit behind acks=all, truncation to a leader's log, log-start moves; its idempotent-producer
/// state, its leader-epoch cache and the signal that wakes fetchers (Kafka's <c>Partition</c>, Redpanda's
/// <c>partition_proxy</c>).
/// </summary>
/// <remarks>
/// <para>Until told otherwise (<see cref="MakeLeader"/>, <see cref="MakeFollower"/>) a partition leads alone at
/// epoch 0, as on a single node: the high watermark moves with each append, exactly to the log end.</para>
/// <para>As a leader with followers, the high watermark is the smallest log end among the in-sync replicas (the
/// leader's own included), advanced as followers fetch (<see cref="ReadAsReplica"/>). Appends are serialized
/// by <see cref="_appendLock"/>; replica state (followers, ISR, commit waiters) by <see cref="_replicaLock"/>,
/// never taken inside the append lock's log write.</para>
/// </remarks>
public sealed class Partition
{
    private readonly Lock _appendLock = new();
    private readonly Lock _replicaLock = new();
    private readonly ProducerStateTable _producers = new();
    private readonly PartitionTransactions _transactions = new();
    private readonly LeaderEpochCache _epochs;
    private readonly List<(long Offset, TaskCompletionSource Done)> _commitWaiters = [];
    private volatile RoleState _role = RoleState.Standalone;
    private FollowerState[] _followers = [];
    private long _highWatermark;
    /// <summary>The log end when this replica became leader (-1 while it follows): KIP-207's leader epoch start offset.</summary>
    private long _leaderEpochStartOffset = -1;

    /// <param name="highWatermark">The checkpointed high watermark of a replica (clamped to the log); null on a single
    /// node, whose lone leader has committed its whole log.</param>
    internal Partition(string topic, int index, Log log, long? highWatermark = null)
    {
        Topic = topic;
        Index = index;
        Log = log;
        _epochs = LeaderEpochCache.Open(log.Directory, log.LogStartOffset, log.LogEndOffset);
        _highWatermark = highWatermark is { } known ? Math.Clamp(known, log.LogStartOffset, log.LogEndOffset) : log.LogEndOffset;
        // The cleaner leaves alone what consumers cannot read yet (and open transactions, below the LSO).
        log.CleanableUpperBound = () => LastStableOffset;
    }

    public string Topic { get; }
    public int Index { get; }
    internal Log Log { get; }

    /// <summary>The epoch this node leads or follows the partition at (0 on a single node).</summary>
    public int LeaderEpoch => _role.LeaderEpoch;

    /// <summary>The node leading the partition as this node last learned it; -1 when unknown or on a single node.</summary>
    public int LeaderId => _role.LeaderId;

    public bool IsLeader => _role.IsLeader;

    /// <summary>The in-sync replicas' node ids (empty on a single node, where the leader is the only replica).</summary>
    public IReadOnlyList<int> Isr => _role.Isr;

    /// <summary>acks=all needs this many in-sync replicas, the leader included (<c>min.insync.replicas</c>).</summary>
    public int MinInsyncReplicas { get; set; } = 1;

    public AppendSignal Appended { get; } = new();

    /// <summary>Messages and bytes appended and fetched (metrics and admin rates).</summary>
    public TrafficCounters Traffic { get; } = new();

    /// <summary>Every offset below this is on every in-sync replica: what consumers may read.</summary>
    public long HighWatermark => Volatile.Read(ref _highWatermark);

    public long LogStartOffset => Log.LogStartOffset;

    /// <summary>The offset the next append gets (past the high watermark while followers catch up).</summary>
    public long LogEndOffset => Log.LogEndOffset;

    /// <summary>
    /// What read_committed consumers may read: below the first offset of the oldest open transaction, and never past
    /// the high watermark. With no transaction open it is the high watermark (two volatile reads, no lock).
    /// </summary>
    public long LastStableOffset
    {
        get
        {
            long highWatermark = HighWatermark, firstUnstable = _transactions.FirstUnstableOffset;
            return firstUnstable < highWatermark ? firstUnstable : highWatermark;
        }
    }

    /// <summary>This partition's open and aborted transactions.</summary>
    public PartitionTransactions Transactions => _transactions;

    /// <summary>The idempotent and transactional producers this partition knows (DescribeProducers).</summary>
    public IReadOnlyList<ProducerSnapshot> Producers
    {
        get
        {
            var open = _transactions.Open;
            lock (_appendLock) return _producers.Snapshot(open);
        }
    }

    public long SizeInBytes => Log.SizeInBytes;
    public int SegmentCount => Log.SegmentCount;

    /// <summary>The base offset of every segment, oldest first (a queue on the partition reclaims whole segments).</summary>
    public IReadOnlyList<long> SegmentBaseOffsets => Log.SegmentBaseOffsets;

    /// <summary>Where each leader epoch starts in the log.</summary>
    public LeaderEpochCache Epochs => _epochs;

    private int InSyncCount => _role.Isr.Length == 0 ? 1 : _role.Isr.Length;

    /// <summary>Whether the ISR has min.insync.replicas members now (what acks=all asks before appending).</summary>
    public bool HasMinInsync => InSyncCount >= MinInsyncReplicas;

    /// <summary>
    /// Appends a producer's records (one or more batches) as leader, after checking its idempotence sequence; a
    /// retried batch already in the log is answered with its original offsets and not written again. Each batch
    /// is stamped with the leader epoch (outside the CRC). <paramref name="requireMinInsync"/> (acks=all) refuses
    /// the append when the ISR is smaller than min.insync.replicas.
    /// </summary>
    public PartitionAppendResult Append(Span<byte> records, bool requireMinInsync = false)
    {
        if (RecordBatch.Check(records, verifyCrc: false) is var check && check != BatchCheck.Valid)
        {
            return PartitionAppendResult.Failed(check switch
            {
                BatchCheck.Incomplete => PartitionAppendError.InvalidRecord,
                _ => PartitionAppendError.CorruptMessage,
            });
        }
        var options = Log.Options;
        var invalid = AppendChecks.Validate(records, options, Log.NowMs, Topic, Index, out var recordErrors, out var message);
        if (invalid != PartitionAppendError.None)
            return PartitionAppendResult.Failed(invalid) with { RecordErrors = recordErrors, Message = message };
        if (AppendChecks.Recompress(records, options) is { } recompressed) records = recompressed;

        long producerId = RecordBatch.ProducerId(records);
        // Markers are the coordinator's alone (WriteTxnMarker); a transactional batch needs its producer's id.
        if (RecordBatch.IsControl(records) || (RecordBatch.IsTransactional(records) && producerId < 0))
            return PartitionAppendResult.Failed(PartitionAppendError.InvalidRecord);
        short epoch = RecordBatch.ProducerEpoch(records);
        int firstSequence = RecordBatch.BaseSequence(records);
        int lastSequence = LastSequence(records, firstSequence);

        AppendResult appended;
        lock (_appendLock)
        {
            var role = _role;
            if (!role.IsLeader) return PartitionAppendResult.Failed(PartitionAppendError.NotLeaderOrFollower);
            if (requireMinInsync && InSyncCount < MinInsyncReplicas) return PartitionAppendResult.Failed(PartitionAppendError.NotEnoughReplicas);
            switch (_producers.Check(producerId, epoch, firstSequence, lastSequence, out long duplicateOffset))
            {
                case SequenceCheck.Duplicate:
                    return new PartitionAppendResult(PartitionAppendError.None, duplicateOffset,
                        duplicateOffset + RecordBatch.LastOffsetDelta(records), -1, Log.LogStartOffset);
                case SequenceCheck.OutOfOrder:
                    return PartitionAppendResult.Failed(PartitionAppendError.OutOfOrderSequence);
                case SequenceCheck.StaleEpoch:
                    return PartitionAppendResult.Failed(PartitionAppendError.InvalidProducerEpoch);
                case SequenceCheck.UnknownProducer:
                    return PartitionAppendResult.Failed(PartitionAppendError.UnknownProducerId);
            }
            appended = AppendAsLeader(records, role.LeaderEpoch);
            if (appended.Succeeded)
            {
                _producers.Record(producerId, epoch, firstSequence, lastSequence, appended.BaseOffset, RecordBatch.MaxTimestamp(records));
                if (RecordBatch.IsTransactional(records)) _transactions.OnData(producerId, appended.BaseOffset);
            }
        }
        if (!appended.Succeeded)
        {
            return PartitionAppendResult.Failed(appended.Error switch
            {
                AppendError.BatchTooLarge => PartitionAppendError.MessageTooLarge,
                AppendError.CorruptBatch => PartitionAppendError.CorruptMessage,
                _ => PartitionAppendError.InvalidRecord,
            });
        }
        OnAppended(appended, records.Length);
        return new PartitionAppendResult(PartitionAppendError.None, appended.BaseOffset, appended.LastOffset, appended.LogAppendTime, Log.LogStartOffset);
    }

    /// <summary>
    /// Whether the producer, at <paramref name="epoch"/>, has a transaction open in this partition (a transactional
    /// batch appended and no marker since): its coordinator already vouched for the partition (KIP-890).
    /// </summary>
    public bool HasOpenTransaction(long producerId, short epoch)
    {
        lock (_appendLock) return _producers.CurrentEpoch(producerId) == epoch && _transactions.IsOpen(producerId);
    }

    /// <summary>Appends the broker's own batches (tools, the admin API) as leader, with no producer checks.</summary>
    public AppendResult AppendRaw(Span<byte> batches)
    {
        AppendResult result;
        lock (_appendLock)
        {
            var role = _role;
            if (!role.IsLeader) return AppendResult.Failed(AppendError.InvalidInput);
            result = AppendAsLeader(batches, role.LeaderEpoch);
        }
        if (result.Succeeded) OnAppended(result, batches.Length);
        return result;
    }

    /// <summary>Under the append lock: stamps the epoch on every batch and records where the epoch starts.</summary>
    private AppendResult AppendAsLeader(Span<byte> batches, int leaderEpoch)
    {
        for (var rest = batches; rest.Length >= RecordBatch.HeaderSize;)
        {
            int size = RecordBatch.TotalSize(rest);
            if (size <= 0 || size > rest.Length) break; // the log's own check refuses it
            RecordBatch.SetPartitionLeaderEpoch(rest, leaderEpoch);
            rest = rest[size..];
        }
        if (leaderEpoch > _epochs.LatestEpoch) _epochs.Assign(leaderEpoch, Log.LogEndOffset);
        return Log.Append(batches);
    }

    /// <summary>
    /// Appends batches fetched from the leader, as the leader stored them (offsets, epochs, times). They must
    /// start at this log's end. Producer state is kept as the leader keeps it, so that this replica recognises
    /// retries if it becomes leader.
    /// </summary>
    public AppendResult AppendAsFollower(Span<byte> batches)
    {
        AppendResult result;
        lock (_appendLock)
        {
            if (_role.IsLeader) return AppendResult.Failed(AppendError.InvalidInput);
            long next = Log.LogEndOffset;
            for (var rest = batches; rest.Length >= RecordBatch.HeaderSize;)
            {
                int size = RecordBatch.TotalSize(rest);
                if (size <= 0 || size > rest.Length) break;
                _epochs.Assign(Math.Max(0, RecordBatch.PartitionLeaderEpoch(rest)), Math.Max(next, RecordBatch.BaseOffset(rest)));
                rest = rest[size..];
            }
            result = Log.AppendReplicated(batches);
            if (!result.Succeeded)
            {
                _epochs.TruncateFromEnd(Log.LogEndOffset);
                return result;
            }
            RecordProducers(batches);
        }
        Traffic.AddIn(result.LastOffset - result.BaseOffset + 1, batches.Length);
        Appended.Notify();
        return result;
    }

    private void RecordProducers(ReadOnlySpan<byte> batches)
    {
        for (var rest = batches; rest.Length >= RecordBatch.HeaderSize;)
        {
            int size = RecordBatch.TotalSize(rest);
            if (size <= 0 || size > rest.Length) break;
            var batch = rest[..size];
            long producerId = RecordBatch.ProducerId(batch), baseOffset = RecordBatch.BaseOffset(batch);
            if (RecordBatch.IsControl(batch))
            {
                if (ControlRecord.ReadMarker(batch) is { } commit)
                {
                    _producers.RecordMarker(producerId, RecordBatch.ProducerEpoch(batch), ControlRecord.ReadCoordinatorEpoch(batch));
                    _transactions.OnMarker(producerId, baseOffset, commit);
                }
            }
            else
            {
                int first = RecordBatch.BaseSequence(batch);
                _producers.Record(producerId, RecordBatch.ProducerEpoch(batch), first, LastSequence(batch, first), baseOffset, RecordBatch.MaxTimestamp(batch));
                if (RecordBatch.IsTransactional(batch) && producerId >= 0) _transactions.OnData(producerId, baseOffset);
            }
            rest = rest[size..];
        }
    }

    /// <summary>
    /// Writes a transaction marker (Kafka's WriteTxnMarkers, done by the coordinator on the partition's leader): a
    /// control batch that commits or aborts <paramref name="producerId"/>'s open transaction here. A marker of an
    /// epoch older than the producer's current one is refused (KIP-890: a zombie coordinator or producer cannot
    /// end a newer transaction). Returns the marker's offset to wait on for its commit, or the error.
    /// </summary>
    public PartitionAppendResult WriteTxnMarker(long producerId, short producerEpoch, bool commit, int coordinatorEpoch, long timestamp)
    {
        var marker = ControlRecord.BuildMarker(producerId, producerEpoch, commit, coordinatorEpoch, timestamp);
        AppendResult appended;
        lock (_appendLock)
        {
            var role = _role;
            if (!role.IsLeader) return PartitionAppendResult.Failed(PartitionAppendError.NotLeaderOrFollower);
            if (_producers.CurrentEpoch(producerId) is { } current && current > producerEpoch)
                return PartitionAppendResult.Failed(PartitionAppendError.InvalidProducerEpoch);
            if (_producers.CoordinatorEpoch(producerId) > coordinatorEpoch)
                return PartitionAppendResult.Failed(PartitionAppendError.TransactionCoordinatorFenced);
            appended = AppendAsLeader(marker, role.LeaderEpoch);
            if (appended.Succeeded)
            {
                _producers.RecordMarker(producerId, producerEpoch, coordinatorEpoch);
                _transactions.OnMarker(producerId, appended.BaseOffset, commit);
            }
        }
        if (!appended.Succeeded) return PartitionAppendResult.Failed(PartitionAppendError.InvalidRecord);
        OnAppended(appended, marker.Length);
        return new PartitionAppendResult(PartitionAppendError.None, appended.BaseOffset, appended.LastOffset, appended.LogAppendTime, Log.LogStartOffset);
    }

    private void OnAppended(AppendResult appended, int bytes)
    {
        Traffic.AddIn(appended.LastOffset - appended.BaseOffset + 1, bytes);
        // Alone, the leader's log end is the high watermark: one write, no lock (the single-node path).
        if (Volatile.Read(ref _followers).Length == 0) AdvanceHighWatermark(appended.LastOffset + 1);
        else MaybeAdvanceHighWatermark();
        Appended.Notify();
    }

    private static int LastSequence(ReadOnlySpan<byte> batch, int firstSequence)
    {
        if (firstSequence < 0) return -1;
        long last = (long)firstSequence + RecordBatch.LastOffsetDelta(batch);
        return (int)(last > int.MaxValue ? last - int.MaxValue - 1 : last);
    }

    /// <summary>
    /// Completes once the records up to <paramref name="lastOffset"/> are committed: below the high watermark (on
    /// every in-sync replica) and durable here by the log's fsync policy. Faults with
    /// <see cref="PartitionCommitException"/> if leadership is lost first, or if the ISR had shrunk below
    /// min.insync.replicas when the high watermark passed (Kafka's NOT_ENOUGH_REPLICAS_AFTER_APPEND).
    /// </summary>
    public Task WaitForCommitAsync(long lastOffset)
    {
        if (HighWatermark > lastOffset)
        {
            if (InSyncCount < MinInsyncReplicas)
                return Task.FromException(new PartitionCommitException(PartitionAppendError.NotEnoughReplicasAfterAppend));
            return Log.WaitForDurableAsync(lastOffset + 1);
        }
        return WaitForHighWatermarkAsync(lastOffset);
    }

    private async Task WaitForHighWatermarkAsync(long lastOffset)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_replicaLock)
        {
            if (!_role.IsLeader) throw new PartitionCommitException(PartitionAppendError.NotLeaderOrFollower);
            if (HighWatermark > lastOffset) done.TrySetResult();
            else _commitWaiters.Add((lastOffset, done));
        }
        await done.Task.ConfigureAwait(false);
        if (InSyncCount < MinInsyncReplicas) throw new PartitionCommitException(PartitionAppendError.NotEnoughReplicasAfterAppend);
        await Log.WaitForDurableAsync(lastOffset + 1).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads whole batches from <paramref name="offset"/>, up to the high watermark, the last stable offset
    /// (read_committed) or the log end (the first batch even over <paramref name="maxBytes"/> unless
    /// <paramref name="wholeFirstBatch"/> is false, see <see cref="Log.Read(long, int, long, bool)"/>).
    /// </summary>
    public PartitionReadResult Read(long offset, int maxBytes, ReadBound bound = ReadBound.HighWatermark, bool wholeFirstBatch = true)
    {
        long highWatermark = HighWatermark, firstUnstable = _transactions.FirstUnstableOffset;
        long lastStable = firstUnstable < highWatermark ? firstUnstable : highWatermark;
        long limit = bound switch
        {
            ReadBound.HighWatermark => highWatermark,
            ReadBound.LastStable => lastStable,
            _ => long.MaxValue,
        };
        var read = Log.Read(offset, maxBytes, limit, wholeFirstBatch);
        return new PartitionReadResult(read.Status, read.Slice, read.LogStartOffset, highWatermark, read.LogEndOffset, lastStable);
    }

    /// <summary>
    /// A follower's fetch, on the leader: <paramref name="fetchOffset"/> says everything below it is in the
    /// follower's log, which may advance the high watermark; the read returns what follows, up to the log end.
    /// </summary>
    public PartitionReadResult ReadAsReplica(int replicaId, long fetchOffset, int maxBytes, long nowMs, bool wholeFirstBatch = true)
    {
        RecordFollowerFetch(replicaId, fetchOffset, nowMs);
        return Read(fetchOffset, maxBytes, ReadBound.LogEnd, wholeFirstBatch);
    }

    private void RecordFollowerFetch(int replicaId, long fetchOffset, long nowMs)
    {
        lock (_replicaLock)
        {
            var follower = Array.Find(_followers, f => f.ReplicaId == replicaId);
            if (follower is null || fetchOffset > Log.LogEndOffset) return;
            long leaderEnd = Log.LogEndOffset;
            // Kafka's rule: caught up now if it has the log end; else at its previous fetch if it then asked for
            // at least what the leader had at that time.
            if (fetchOffset >= leaderEnd) follower.LastCaughtUpMs = nowMs;
            else if (fetchOffset >= follower.LeaderEndAtLastFetch) follower.LastCaughtUpMs = Math.Max(follower.LastCaughtUpMs, follower.LastFetchMs);
            follower.LogEndOffset = fetchOffset;
            follower.LastFetchMs = nowMs;
            follower.LeaderEndAtLastFetch = leaderEnd;
        }
        MaybeAdvanceHighWatermark();
    }

    /// <summary>The followers as the leader sees them (empty unless this node leads with followers).</summary>
    public IReadOnlyList<FollowerProgress> Followers
    {
        get
        {
            lock (_replicaLock) return Array.ConvertAll(_followers, f => new FollowerProgress(f.ReplicaId, f.LogEndOffset, f.LastFetchMs, f.LastCaughtUpMs));
        }
    }

    /// <summary>
    /// High watermark = the smallest log end among the leader and the in-sync followers, counting also followers
    /// whose addition to the ISR is pending (KIP-497's "maximal ISR": the controller may commit it at any time,
    /// and then that follower may be elected). It never moves backwards.
    /// </summary>
    private void MaybeAdvanceHighWatermark()
    {
        long candidate;
        lock (_replicaLock)
        {
            var role = _role;
            if (!role.IsLeader) return;
            candidate = Log.LogEndOffset;
            foreach (var follower in _followers)
            {
                if (follower.CountsForHighWatermark(role)) candidate = Math.Min(candidate, follower.LogEndOffset);
            }
        }
        AdvanceHighWatermark(candidate);
    }

    private void AdvanceHighWatermark(long candidate)
    {
        long current = Volatile.Read(ref _highWatermark);
        while (candidate > current)
        {
            long seen = Interlocked.CompareExchange(ref _highWatermark, candidate, current);
            if (seen == current)
            {
                if (Volatile.Read(ref _followers).Length > 0 || _commitWaiters.Count > 0) CompleteWaiters(candidate, null);
                Appended.Notify();
                return;
            }
            current = seen;
        }
    }

    private void CompleteWaiters(long highWatermark, PartitionAppendError? failure)
    {
        List<TaskCompletionSource>? done = null;
        lock (_replicaLock)
        {
            for (int i = _commitWaiters.Count - 1; i >= 0; i--)
            {
                var (offset, waiter) = _commitWaiters[i];
                if (failure is null && offset >= highWatermark) continue;
                (done ??= []).Add(waiter);
                _commitWaiters.RemoveAt(i);
            }
        }
        if (done is null) return;
        foreach (var waiter in done)
        {
            if (failure is { } error) waiter.TrySetException(new PartitionCommitException(error));
            else waiter.TrySetResult();
        }
    }

    /// <summary>
    /// Becomes the leader at <paramref name="leaderEpoch"/>: the epoch starts at the current log end (so that
    /// OffsetForLeaderEpoch answers followers of the previous epoch at once, as Kafka's <c>makeLeader</c> does),
    /// the other replicas become followers to track, and the high watermark advances as they fetch.
    /// </summary>
    public void MakeLeader(int localId, int leaderEpoch, int partitionEpoch, IReadOnlyList<int> replicas, IReadOnlyList<int> isr, long nowMs)
    {
        lock (_appendLock)
        {
            lock (_replicaLock)
            {
                var old = _followers;
                _followers = replicas.Where(r => r != localId).Select(r =>
                    Array.Find(old, f => f.ReplicaId == r) is { } kept && _role.IsLeader && _role.LeaderEpoch == leaderEpoch
                        ? kept : new FollowerState(r, nowMs)).ToArray();
                _role = new RoleState(true, localId, leaderEpoch, partitionEpoch, [.. isr], [], localId);
            }
            _epochs.Assign(leaderEpoch, Log.LogEndOffset);
            Volatile.Write(ref _leaderEpochStartOffset, Log.LogEndOffset);
        }
        MaybeAdvanceHighWatermark();
    }

    /// <summary>
    /// A new leader whose high watermark has not yet reached the offset its epoch began at (its followers have not
    /// fetched since): what the previous leader showed as committed is not yet visible here, so ListOffsets answers
    /// OFFSET_NOT_AVAILABLE and the client asks again, rather than a latest offset that went backwards (KIP-207).
    /// </summary>
    public bool HighWatermarkBehindEpochStart => IsLeader && HighWatermark < Volatile.Read(ref _leaderEpochStartOffset);

    /// <summary>
    /// Becomes a follower of <paramref name="leaderId"/> at <paramref name="leaderEpoch"/>: appends from
    /// producers are refused and acks=all waits fail with NOT_LEADER_OR_FOLLOWER (they were never acknowledged).
    /// </summary>
    public void MakeFollower(int localId, int leaderId, int leaderEpoch, int partitionEpoch)
    {
        lock (_appendLock)
        {
            lock (_replicaLock)
            {
                _role = new RoleState(false, leaderId, leaderEpoch, partitionEpoch, [], [], localId);
                _followers = [];
                Volatile.Write(ref _leaderEpochStartOffset, -1);
            }
        }
        CompleteWaiters(0, PartitionAppendError.NotLeaderOrFollower);
    }

    /// <summary>
    /// The replica set changed under this leader at its epoch (a reassignment began or ended, KIP-455): replicas
    /// new to it are tracked from now, those kept keep their progress, those gone no longer count.
    /// </summary>
    public void UpdateReplicas(int leaderEpoch, IReadOnlyList<int> replicas, long nowMs)
    {
        lock (_replicaLock)
        {
            var role = _role;
            if (!role.IsLeader || role.LeaderEpoch != leaderEpoch) return;
            var old = _followers;
            _followers = replicas.Where(r => r != role.LocalId).Select(r => Array.Find(old, f => f.ReplicaId == r) ?? new FollowerState(r, nowMs)).ToArray();
        }
        MaybeAdvanceHighWatermark();
    }

    /// <summary>The controller committed a new ISR (after this leader's AlterPartition, or an election).</summary>
    public void UpdateIsr(int leaderEpoch, int partitionEpoch, IReadOnlyList<int> isr)
    {
        lock (_replicaLock)
        {
            var role = _role;
            if (!role.IsLeader || role.LeaderEpoch != leaderEpoch || partitionEpoch < role.PartitionEpoch) return;
            _role = role with { PartitionEpoch = partitionEpoch, Isr = [.. isr], PendingIsr = [] };
        }
        MaybeAdvanceHighWatermark();
        // The ISR may have shrunk to this leader alone: waiters whose offsets are now below the high watermark
        // have been completed and will see the ISR size against min.insync.replicas.
    }

    /// <summary>An ISR change this leader has asked the controller for and not yet seen committed.</summary>
    public void SetPendingIsr(IReadOnlyList<int> isr)
    {
        lock (_replicaLock)
        {
            if (_role.IsLeader) _role = _role with { PendingIsr = [.. isr] };
        }
    }

    /// <summary>The partition epoch this node last saw (the fence for AlterPartition).</summary>
    public int PartitionEpoch => _role.PartitionEpoch;

    /// <summary>
    /// A follower learns the leader's high watermark and log start from each fetch response; its own high
    /// watermark is the leader's, up to what it has.
    /// </summary>
    public void UpdateFromLeader(long leaderHighWatermark, long leaderLogStart)
    {
        if (_role.IsLeader) return;
        if (leaderLogStart > Log.LogStartOffset) DeleteRecordsUpTo(leaderLogStart);
        long candidate = Math.Min(leaderHighWatermark, Log.LogEndOffset);
        long current = Volatile.Read(ref _highWatermark);
        if (candidate != current) Volatile.Write(ref _highWatermark, candidate);
    }

    /// <summary>How a request's current leader epoch (-1: not given) compares with this leader's.</summary>
    public EpochCheck CheckLeaderEpoch(int requestEpoch, bool requireLeader = true)
    {
        var role = _role;
        if (requestEpoch >= 0 && requestEpoch < role.LeaderEpoch) return EpochCheck.Fenced;
        if (requestEpoch > role.LeaderEpoch) return EpochCheck.Unknown;
        return requireLeader && !role.IsLeader ? EpochCheck.NotLeader : EpochCheck.Ok;
    }

    /// <summary>
    /// OffsetForLeaderEpoch: the largest epoch at or below <paramref name="epoch"/> and where it ends in this log.
    /// </summary>
    public (int Epoch, long EndOffset) EndOffsetForEpoch(int epoch) => _epochs.EndOffsetFor(epoch, Log.LogEndOffset);

    /// <summary>
    /// Removes every batch at or past <paramref name="offset"/> (a follower matching its leader), cuts the leader
    /// epochs that started there, and rebuilds producer state from the whole remaining log.
    /// </summary>
    public void TruncateTo(long offset)
    {
        lock (_appendLock)
        {
            Log.TruncateTo(offset);
            _epochs.TruncateFromEnd(Log.LogEndOffset);
            RebuildProducerState();
            long end = Log.LogEndOffset;
            if (Volatile.Read(ref _highWatermark) > end) Volatile.Write(ref _highWatermark, end);
        }
    }

    /// <summary>
    /// Empties the log and restarts it at <paramref name="offset"/> (a follower whose log is wholly below its
    /// leader's log start): no epochs, no producers, high watermark there.
    /// </summary>
    public void TruncateFullyAndStartAt(long offset)
    {
        lock (_appendLock)
        {
            Log.TruncateFullyAndStartAt(offset);
            _epochs.TruncateFromEnd(long.MinValue);
            _producers.Clear();
            _transactions.Clear();
            Volatile.Write(ref _highWatermark, offset);
        }
    }

    /// <summary>Every whole batch from <paramref name="fromOffset"/> to the log end, in order (the broker's own readers: offsets loading).</summary>
    internal void ForEachBatch(long fromOffset, BatchAction action) => Log.ForEachBatch(fromOffset, action);

    /// <summary>Starts a new segment, so that everything before it can go with one log-start move (offsets compaction).</summary>
    internal void Roll() => Log.Roll();

    /// <summary>Completes once every offset below <paramref name="endOffset"/> is durable by the log's policy.</summary>
    public Task WaitForDurableAsync(long endOffset) => Log.WaitForDurableAsync(endOffset);

    /// <summary>
    /// DeleteRecords: moves the log start to <paramref name="offset"/> (-1: the high watermark). Offsets past the
    /// high watermark are refused (false).
    /// </summary>
    public bool DeleteRecords(long offset)
    {
        if (offset == -1) offset = HighWatermark;
        if (offset < 0 || offset > HighWatermark) return false;
        DeleteRecordsUpTo(offset);
        return true;
    }

    private void DeleteRecordsUpTo(long offset)
    {
        Log.AdvanceLogStart(offset);
        _epochs.TruncateFromStart(Log.LogStartOffset);
        _transactions.TruncateFromStart(Log.LogStartOffset);
    }

    /// <summary>The newest timestamp in the log, or null when it holds no batch (ListOffsets MAX_TIMESTAMP).</summary>
    public long? MaxTimestamp => Log.MaxTimestamp;

    /// <summary>The offset of the first batch at or after <paramref name="timestamp"/>, or null (ListOffsets).</summary>
    public long? FindOffsetByTimestamp(long timestamp) => Log.FindOffsetByTimestamp(timestamp) is { } offset && offset < HighWatermark ? offset : null;

    internal int ApplyRetention()
    {
        int deleted = Log.ApplyRetention();
        if (deleted > 0)
        {
            _epochs.TruncateFromStart(Log.LogStartOffset);
            _transactions.TruncateFromStart(Log.LogStartOffset);
        }
        return deleted;
    }

    internal void UpdateOptions(LogOptions options) => Log.UpdateOptions(options);

    /// <summary>
    /// Rebuilds idempotence and transaction state (open transactions, aborted ones) from every batch in the log, so that a producer retrying across a restart,
    /// a truncation or a leader change still gets its duplicate recognised.
    /// </summary>
    internal void RebuildProducerState()
    {
        _producers.Clear();
        _transactions.Clear();
        Log.ForEachBatch(Log.LogStartOffset, batch => RecordProducers(batch));
    }

    /// <summary>This node's part in the partition; replaced whole, read without locks.</summary>
    private sealed record RoleState(bool IsLeader, int LeaderId, int LeaderEpoch, int PartitionEpoch, int[] Isr, int[] PendingIsr, int LocalId)
    {
        public static readonly RoleState Standalone = new(true, -1, 0, 0, [], [], -1);
    }

    private sealed class FollowerState(int replicaId, long nowMs)
    {
        public int ReplicaId { get; } = replicaId;
        public long LogEndOffset { get; set; }
        public long LastFetchMs { get; set; } = nowMs;
        public long LastCaughtUpMs { get; set; } = nowMs;
        public long LeaderEndAtLastFetch { get; set; }

        public bool CountsForHighWatermark(RoleState role) =>
            Array.IndexOf(role.Isr, ReplicaId) >= 0 || Array.IndexOf(role.PendingIsr, ReplicaId) >= 0;
    }
}
