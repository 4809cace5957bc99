using System.Collections.Concurrent;
using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Transactions;

/// <summary>
/// The transaction coordinator of this node (KIP-98): the transactional ids that hash to it, their producer ids and
/// epochs, the partitions and groups of each open transaction, and the two-phase end of each: the decision
/// (PrepareCommit / PrepareAbort) made durable in the <see cref="TransactionLog"/>, then a marker written into every
/// partition and every group of the transaction, then CompleteCommit / CompleteAbort.
/// </summary>
/// <remarks>
/// <para>Each transactional id has one lock (<see cref="Entry.Gate"/>) held across its whole operation, awaits
/// included, so its transitions are serial and each is durable before the next begins and before it is answered.
/// A state is replaced in memory only after it is durable.</para>
/// <para>Zombies: InitProducerId bumps the epoch; every later request with an older epoch is PRODUCER_FENCED, and
/// the markers the new epoch writes fence the old one in every partition (their producer state takes the new
/// epoch). A transaction left open by a crashed producer is aborted by the next InitProducerId of its id, before
/// the answer; one left open past its timeout is aborted by the timer, with an epoch bump so that its producer is
/// fenced. After a restart, transactions whose decision was logged get their markers (again: a repeated marker
/// is harmless); open ones stay open for their producer to finish, or time out.</para>
/// <para>Markers go to partitions this node leads (Kafka's WriteTxnMarkers on the partition leader); one that
/// cannot be written now (no leader here) is retried by the timer until it can, the transaction staying in its
/// Prepare state meanwhile (new requests of the id get CONCURRENT_TRANSACTIONS).</para>
/// </remarks>
public sealed partial class TransactionCoordinator : IAsyncDisposable
{
    private const int CoordinatorEpoch = 0;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly TransactionLog _log;
    private readonly TopicRegistry _topics;
    private readonly GroupCoordinator _groups;
    private readonly ProducerIdAllocator _producerIds;
    private readonly IClusterView _cluster;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _maintenance;

    private TransactionCoordinator(TransactionOptions options, TransactionLog log, Dictionary<string, TransactionMetadata> states,
        TopicRegistry topics, GroupCoordinator groups, ProducerIdAllocator producerIds, IClusterView cluster, TimeProvider time, ILogger logger)
    {
        Options = options;
        _log = log;
        _topics = topics;
        _groups = groups;
        _producerIds = producerIds;
        _cluster = cluster;
        _time = time;
        _logger = logger;
        foreach (var (id, state) in states) _entries[id] = new Entry(state);
        _maintenance = MaintainAsync(_stopping.Token);
    }

    public TransactionOptions Options { get; }

    /// <summary>Opens the transaction log in <c>DATA/__transaction_state/</c>, replays it and starts the timer that
    /// finishes logged decisions, aborts timed-out transactions and expires idle ids.</summary>
    public static TransactionCoordinator Open(BrokerOptions broker, TransactionOptions options, TopicRegistry topics, GroupCoordinator groups,
        ProducerIdAllocator producerIds, IClusterView cluster, ILoggerFactory loggerFactory)
    {
        var log = TransactionLog.Open(Path.Combine(broker.DataDirectory, "__transaction_state"), broker.DefaultLogOptions with
        {
            SegmentBytes = Math.Min(broker.DefaultLogOptions.SegmentBytes, 100 * 1024 * 1024),
            MaxBatchBytes = Math.Max(broker.DefaultLogOptions.MaxBatchBytes, 1024 * 1024),
        }, broker.Time, loggerFactory.CreateLogger("Ferry.Broker.Transactions.TransactionLog"), out var states);
        return new TransactionCoordinator(options, log, states, topics, groups, producerIds, cluster, broker.Time,
            loggerFactory.CreateLogger<TransactionCoordinator>());
    }

    /// <summary>Whether this node coordinates <paramref name="transactionalId"/> (FindCoordinator key type 1 names the same node).</summary>
    public bool IsCoordinatorFor(string transactionalId) => _cluster.CoordinatorFor(transactionalId) == _cluster.LocalNodeId;

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---- InitProducerId -------------------------------------------------------------------------------------

    /// <summary>
    /// InitProducerId with a transactional id: the id's producer id at the next epoch (a new id at epoch 0), after
    /// aborting whatever transaction the previous producer left open. <paramref name="expectedProducerId"/> and
    /// epoch (KIP-360, -1: not given) must be the id's current ones, or the caller is a zombie.
    /// </summary>
    public async Task<(TransactionError Error, long ProducerId, short Epoch)> InitProducerIdAsync(string transactionalId, int timeoutMs,
        long expectedProducerId, short expectedEpoch, CancellationToken cancellationToken = default)
    {
        if (!IsCoordinatorFor(transactionalId)) return (TransactionError.NotCoordinator, -1, -1);
        if (timeoutMs <= 0 || timeoutMs > Options.MaxTimeoutMs) return (TransactionError.InvalidTransactionTimeout, -1, -1);
        var entry = _entries.GetOrAdd(transactionalId, id => new Entry(null));
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = entry.State;
            if (state is not null && TransactionStates.IsPrepare(state.State))
            {
                state = await CompleteAsync(entry, state).ConfigureAwait(false);
                if (TransactionStates.IsPrepare(state.State)) return (TransactionError.ConcurrentTransactions, -1, -1);
            }
            if (state is not null && expectedProducerId >= 0
                && !(expectedProducerId == state.ProducerId && (expectedEpoch == state.ProducerEpoch || expectedEpoch == state.LastProducerEpoch)))
                return (TransactionError.ProducerFenced, -1, -1);
            if (state is { State: TransactionState.Ongoing })
            {
                // The previous producer died (or is a zombie) in the middle of a transaction: abort it, fenced.
                TransactionAbortedByNewProducer(_logger, transactionalId, state.ProducerId, state.ProducerEpoch);
                state = await AbortAsync(entry, state, bumpEpoch: true).ConfigureAwait(false);
                if (TransactionStates.IsPrepare(state.State)) return (TransactionError.ConcurrentTransactions, -1, -1);
            }
            long producerId;
            short epoch;
            if (state is null || state.ProducerEpoch >= short.MaxValue - 1)
            {
                producerId = await _producerIds.NextAsync(cancellationToken).ConfigureAwait(false);
                epoch = 0;
            }
            else
            {
                producerId = state.ProducerId;
                epoch = (short)(state.ProducerEpoch + 1);
            }
            long now = Now;
            var next = new TransactionMetadata(transactionalId, producerId, epoch, state?.ProducerEpoch ?? -1, timeoutMs,
                TransactionState.Empty, TransactionMetadata.NoPartitions, TransactionMetadata.NoGroups, -1, now);
            if (!await TryWriteAsync(entry, next).ConfigureAwait(false)) return (TransactionError.CoordinatorNotAvailable, -1, -1);
            return (TransactionError.None, producerId, epoch);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    // ---- AddPartitionsToTxn, AddOffsetsToTxn ----------------------------------------------------------------

    /// <summary>
    /// Adds partitions to the producer's transaction (starting it), durably before the answer, so that the partition
    /// leader can check a transactional produce against it. Errors are per partition: the failing ones get theirs,
    /// the others OPERATION_NOT_ATTEMPTED; a request-wide error (fenced, wrong state) goes to every partition.
    /// </summary>
    public async Task<IReadOnlyList<(TransactionPartition Partition, TransactionError Error)>> AddPartitionsAsync(string transactionalId,
        long producerId, short epoch, IReadOnlyList<TransactionPartition> partitions, CancellationToken cancellationToken = default)
    {
        var unknown = partitions.Where(p => !(_topics.TryGet(p.Topic, out var t) && t.TryGetPartition(p.Partition) is not null)).ToHashSet();
        var (error, _) = await UpdateOngoingAsync(transactionalId, producerId, epoch, unknown.Count > 0 ? null : state =>
        {
            if (state.State == TransactionState.Ongoing && partitions.All(state.Partitions.Contains)) return null;
            var set = new HashSet<TransactionPartition>(state.State == TransactionState.Ongoing ? state.Partitions : []);
            set.UnionWith(partitions);
            return set;
        }, null, cancellationToken).ConfigureAwait(false);
        if (error == TransactionError.None && unknown.Count > 0)
            return partitions.Select(p => (p, unknown.Contains(p) ? TransactionError.UnknownTopicOrPartition : TransactionError.OperationNotAttempted)).ToList();
        return partitions.Select(p => (p, error)).ToList();
    }

    /// <summary>AddOffsetsToTxn: the group joins the transaction, so that its TxnOffsetCommits are completed with it.</summary>
    public async Task<TransactionError> AddOffsetsAsync(string transactionalId, long producerId, short epoch, string groupId,
        CancellationToken cancellationToken = default)
    {
        var (error, _) = await UpdateOngoingAsync(transactionalId, producerId, epoch, null, state =>
        {
            if (state.State == TransactionState.Ongoing && state.Groups.Contains(groupId)) return null;
            var set = new HashSet<string>(state.State == TransactionState.Ongoing ? state.Groups : [], StringComparer.Ordinal) { groupId };
            return set;
        }, cancellationToken).ConfigureAwait(false);
        return error;
    }

    private async Task<(TransactionError, TransactionMetadata?)> UpdateOngoingAsync(string transactionalId, long producerId, short epoch,
        Func<TransactionMetadata, HashSet<TransactionPartition>?>? partitions, Func<TransactionMetadata, HashSet<string>?>? groups,
        CancellationToken cancellationToken)
    {
        if (!IsCoordinatorFor(transactionalId)) return (TransactionError.NotCoordinator, null);
        if (!_entries.TryGetValue(transactionalId, out var entry)) return (TransactionError.InvalidProducerIdMapping, null);
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = entry.State;
            var error = CheckProducer(state, producerId, epoch);
            if (error != TransactionError.None) return (error, state);
            if (TransactionStates.IsPrepare(state!.State)) return (TransactionError.ConcurrentTransactions, state);
            if (state.State == TransactionState.Dead) return (TransactionError.InvalidTxnState, state);
            if (partitions is null && groups is null) return (TransactionError.None, state); // a validation only
            var newPartitions = partitions?.Invoke(state);
            var newGroups = groups?.Invoke(state);
            if (newPartitions is null && newGroups is null) return (TransactionError.None, state);
            bool starting = state.State != TransactionState.Ongoing;
            long now = Now;
            var next = state with
            {
                State = TransactionState.Ongoing,
                Partitions = newPartitions ?? (starting ? TransactionMetadata.NoPartitions : state.Partitions),
                Groups = newGroups ?? (starting ? TransactionMetadata.NoGroups : state.Groups),
                StartTimestampMs = starting ? now : state.StartTimestampMs,
                LastUpdateTimestampMs = now,
            };
            if (!await TryWriteAsync(entry, next).ConfigureAwait(false)) return (TransactionError.CoordinatorNotAvailable, state);
            return (TransactionError.None, next);
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    private static TransactionError CheckProducer(TransactionMetadata? state, long producerId, short epoch)
    {
        if (state is null || state.ProducerId != producerId) return TransactionError.InvalidProducerIdMapping;
        if (epoch != state.ProducerEpoch) return TransactionError.ProducerFenced;
        return TransactionError.None;
    }

    /// <summary>
    /// KIP-890's check at the partition leader: a transactional produce is accepted only into a partition of the
    /// producer's open transaction, at its current epoch (a late batch of an aborted or fenced transaction must
    /// not open a new, hanging one). Ids this node does not coordinate are not checked here.
    /// </summary>
    public TransactionError VerifyPartition(string transactionalId, long producerId, short epoch, string topic, int partition)
    {
        if (!_entries.TryGetValue(transactionalId, out var entry))
            return IsCoordinatorFor(transactionalId) ? TransactionError.InvalidProducerIdMapping : TransactionError.None;
        var state = entry.State;
        var error = CheckProducer(state, producerId, epoch);
        if (error != TransactionError.None) return error;
        return state!.State == TransactionState.Ongoing && state.Partitions.Contains(new TransactionPartition(topic, partition))
            ? TransactionError.None : TransactionError.InvalidTxnState;
    }

    /// <summary>TxnOffsetCommit's check: the producer is current and its transaction has the group (AddOffsetsToTxn).</summary>
    public TransactionError VerifyGroup(string transactionalId, long producerId, short epoch, string groupId)
    {
        if (!_entries.TryGetValue(transactionalId, out var entry))
            return IsCoordinatorFor(transactionalId) ? TransactionError.InvalidProducerIdMapping : TransactionError.None;
        var state = entry.State;
        var error = CheckProducer(state, producerId, epoch);
        if (error != TransactionError.None) return error;
        return state!.State == TransactionState.Ongoing && state.Groups.Contains(groupId) ? TransactionError.None : TransactionError.InvalidTxnState;
    }

    // ---- EndTxn ---------------------------------------------------------------------------------------------

    /// <summary>
    /// EndTxn: PrepareCommit or PrepareAbort, durable, then the markers, then CompleteCommit or CompleteAbort. The
    /// answer comes once the decision is durable and, unless a partition has no leader here, the markers are
    /// written and committed (so a read_committed consumer sees the outcome as soon as the producer is told).
    /// </summary>
    public async Task<TransactionError> EndTransactionAsync(string transactionalId, long producerId, short epoch, bool commit,
        CancellationToken cancellationToken = default)
    {
        if (!IsCoordinatorFor(transactionalId)) return TransactionError.NotCoordinator;
        if (!_entries.TryGetValue(transactionalId, out var entry)) return TransactionError.InvalidProducerIdMapping;
        await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = entry.State;
            var error = CheckProducer(state, producerId, epoch);
            if (error != TransactionError.None) return error;
            switch (state!.State)
            {
                case TransactionState.Ongoing:
                    break;
                case TransactionState.CompleteCommit when commit:
                case TransactionState.CompleteAbort when !commit:
                    return TransactionError.None; // a retry of an EndTxn that was done
                case TransactionState.PrepareCommit when commit:
                case TransactionState.PrepareAbort when !commit:
                    state = await CompleteAsync(entry, state).ConfigureAwait(false);
                    return TransactionError.None;
                case TransactionState.Empty when !commit:
                    return TransactionError.None; // nothing was added: nothing to abort
                default:
                    return TransactionError.InvalidTxnState;
            }
            var prepared = state with
            {
                State = commit ? TransactionState.PrepareCommit : TransactionState.PrepareAbort,
                LastUpdateTimestampMs = Now,
            };
            if (!await TryWriteAsync(entry, prepared).ConfigureAwait(false)) return TransactionError.CoordinatorNotAvailable;
            await CompleteAsync(entry, prepared).ConfigureAwait(false);
            return TransactionError.None;
        }
        finally
        {
            entry.Gate.Release();
        }
    }

    /// <summary>Aborts an open transaction (under the entry's gate): with <paramref name="bumpEpoch"/> its producer is fenced.</summary>
    private async Task<TransactionMetadata> AbortAsync(Entry entry, TransactionMetadata state, bool bumpEpoch)
    {
        var prepared = state with
        {
            ProducerEpoch = bumpEpoch ? (short)(state.ProducerEpoch + 1) : state.ProducerEpoch,
            LastProducerEpoch = bumpEpoch ? state.ProducerEpoch : state.LastProducerEpoch,
            State = TransactionState.PrepareAbort,
            LastUpdateTimestampMs = Now,
        };
        if (!await TryWriteAsync(entry, prepared).ConfigureAwait(false)) return state;
        return await CompleteAsync(entry, prepared).ConfigureAwait(false);
    }

    /// <summary>
    /// Under the entry's gate, from a logged Prepare state: writes the markers into every partition and group of the
    /// transaction and, once all are committed, logs the Complete state. Returns the state reached (still Prepare if
    /// some partition could not take its marker now: the timer retries).
    /// </summary>
    private async Task<TransactionMetadata> CompleteAsync(Entry entry, TransactionMetadata prepared)
    {
        bool commit = prepared.State == TransactionState.PrepareCommit;
        if (!await WriteMarkersAsync(prepared, commit).ConfigureAwait(false)) return prepared;
        var complete = prepared with
        {
            State = commit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort,
            LastUpdateTimestampMs = Now,
        };
        return await TryWriteAsync(entry, complete).ConfigureAwait(false) ? complete : prepared;
    }

    /// <summary>WriteTxnMarkers, in-process: a marker into each partition (waiting for its commit), then each group's offsets.</summary>
    private async Task<bool> WriteMarkersAsync(TransactionMetadata state, bool commit)
    {
        long now = Now;
        var waits = new List<Task>(state.Partitions.Count + state.Groups.Count);
        bool all = true;
        foreach (var tp in state.Partitions)
        {
            // A deleted topic has nothing left to mark.
            if (!_topics.TryGet(tp.Topic, out var topic) || topic.TryGetPartition(tp.Partition) is not { } partition) continue;
            var written = partition.WriteTxnMarker(state.ProducerId, state.ProducerEpoch, commit, CoordinatorEpoch, now);
            switch (written.Error)
            {
                case PartitionAppendError.None:
                    waits.Add(partition.WaitForCommitAsync(written.LastOffset));
                    break;
                case PartitionAppendError.InvalidProducerEpoch:
                    // A newer epoch already ended this producer's transactions here: nothing of this one is open.
                    break;
                default:
                    MarkerFailed(_logger, state.TransactionalId, tp.Topic, tp.Partition, written.Error.ToString());
                    all = false;
                    break;
            }
        }
        foreach (var group in state.Groups) waits.Add(_groups.CompleteTransactionAsync(group, state.ProducerId, commit));
        try
        {
            await Task.WhenAll(waits).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is PartitionCommitException or IOException or ObjectDisposedException)
        {
            MarkerWaitFailed(_logger, state.TransactionalId, ex);
            return false;
        }
        return all;
    }

    private async Task<bool> TryWriteAsync(Entry entry, TransactionMetadata next)
    {
        try
        {
            await _log.WriteAsync(next.TransactionalId, next).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or PartitionCommitException or ObjectDisposedException)
        {
            LogWriteFailed(_logger, next.TransactionalId, ex);
            return false;
        }
        entry.State = next;
        return true;
    }

    // ---- Timer: logged decisions, timeouts, expiry ----------------------------------------------------------

    private async Task MaintainAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(10, Options.AbortTimedOutTransactionCleanupIntervalMs)), _time);
        try
        {
            do
            {
                await RunMaintenanceAsync(cancellationToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>One round: finish logged decisions (after a restart, or a marker that failed), abort timed-out
    /// transactions with an epoch bump (their producer is fenced), forget ids idle past their expiration.</summary>
    public async Task RunMaintenanceAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (id, entry) in _entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var seen = entry.State;
            if (seen is null) continue;
            long now = Now;
            bool prepare = TransactionStates.IsPrepare(seen.State);
            bool timedOut = seen.State == TransactionState.Ongoing && seen.StartTimestampMs + seen.TimeoutMs <= now;
            bool expired = seen.State is TransactionState.Empty or TransactionState.CompleteCommit or TransactionState.CompleteAbort
                && seen.LastUpdateTimestampMs + Options.TransactionalIdExpirationMs <= now;
            if (!prepare && !timedOut && !expired) continue;
            await entry.Gate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var state = entry.State;
                if (state is null || !ReferenceEquals(state, seen)) continue; // changed meanwhile: next round
                if (prepare) await CompleteAsync(entry, state).ConfigureAwait(false);
                else if (timedOut)
                {
                    TransactionTimedOut(_logger, id, state.ProducerId, state.TimeoutMs);
                    await AbortAsync(entry, state, bumpEpoch: true).ConfigureAwait(false);
                }
                else
                {
                    await _log.WriteAsync(id, null).ConfigureAwait(false);
                    entry.State = null;
                    _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
                    TransactionalIdExpired(_logger, id);
                }
            }
            catch (Exception ex) when (ex is IOException or PartitionCommitException or ObjectDisposedException)
            {
                LogWriteFailed(_logger, id, ex);
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        CompactIfMostlyDead();
    }

    private void CompactIfMostlyDead(long minimumRecords = 100_000)
    {
        long live = _entries.Count;
        if (_log.RecordsSinceCompaction < Math.Max(minimumRecords, 2 * live)) return;
        long start = _log.BeginCompaction();
        live = 0;
        foreach (var entry in _entries.Values)
        {
            entry.Gate.Wait();
            try
            {
                if (entry.State is not { } state) continue;
                _ = _log.WriteAsync(state.TransactionalId, state);
                live++;
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        _log.EndCompaction(start, live);
    }

    // ---- Describe, List -------------------------------------------------------------------------------------

    /// <summary>The state of a transactional id (DescribeTransactions), or null when this node does not know it.</summary>
    public TransactionMetadata? Describe(string transactionalId) => _entries.TryGetValue(transactionalId, out var entry) ? entry.State : null;

    /// <summary>Every transactional id this node coordinates (ListTransactions).</summary>
    public IReadOnlyList<TransactionMetadata> List() => _entries.Values.Select(e => e.State).OfType<TransactionMetadata>().ToList();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _maintenance.ConfigureAwait(false);
        _stopping.Dispose();
        await _log.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class Entry(TransactionMetadata? state)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public TransactionMetadata? State
        {
            get => Volatile.Read(ref _state);
            set => Volatile.Write(ref _state, value);
        }

        private TransactionMetadata? _state = state;
    }

    [LoggerMessage(EventId = 2410, Level = LogLevel.Information, Message = "Transaction of {TransactionalId} (producer {ProducerId}, epoch {Epoch}) left open by its previous producer: aborted")]
    private static partial void TransactionAbortedByNewProducer(ILogger logger, string transactionalId, long producerId, short epoch);

    [LoggerMessage(EventId = 2411, Level = LogLevel.Information, Message = "Transaction of {TransactionalId} (producer {ProducerId}) passed its {TimeoutMs} ms timeout: aborted, producer fenced")]
    private static partial void TransactionTimedOut(ILogger logger, string transactionalId, long producerId, int timeoutMs);

    [LoggerMessage(EventId = 2412, Level = LogLevel.Information, Message = "Transactional id {TransactionalId} expired")]
    private static partial void TransactionalIdExpired(ILogger logger, string transactionalId);

    [LoggerMessage(EventId = 2413, Level = LogLevel.Warning, Message = "Transaction marker of {TransactionalId} not written to {Topic}-{Partition} ({Error}); retrying")]
    private static partial void MarkerFailed(ILogger logger, string transactionalId, string topic, int partition, string error);

    [LoggerMessage(EventId = 2414, Level = LogLevel.Warning, Message = "Transaction markers of {TransactionalId} not committed; retrying")]
    private static partial void MarkerWaitFailed(ILogger logger, string transactionalId, Exception exception);

    [LoggerMessage(EventId = 2415, Level = LogLevel.Error, Message = "Writing the transaction log for {TransactionalId} failed")]
    private static partial void LogWriteFailed(ILogger logger, string transactionalId, Exception exception);
}
