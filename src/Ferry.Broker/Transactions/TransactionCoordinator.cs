using System.Collections.Concurrent;
using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Transactions;

/// <summary>
/// The transaction coordinator of this node (KIP-98): the transactional ids whose <c>__transaction_state</c> partition
/// this node leads, their producer ids and epochs, the partitions and groups of each open transaction, and the
/// two-phase end of each: the decision (PrepareCommit / PrepareAbort) committed to the partition, then a marker
/// written into every partition and every group of the transaction, then CompleteCommit / CompleteAbort.
/// </summary>
/// <remarks>
/// <para>Each transactional id has one lock (<see cref="Entry.Gate"/>) held across its whole operation, awaits
/// included, so its transitions are serial and each is committed before the next begins and before it is answered.
/// A state is replaced in memory only after it is committed.</para>
/// <para>Zombies: InitProducerId bumps the epoch; every later request with an older epoch is PRODUCER_FENCED, and
/// the markers the new epoch writes fence the old one in every partition (their producer state takes the new
/// epoch). A transaction left open by a crashed producer is aborted by the next InitProducerId of its id, before
/// the answer; one left open past its timeout is aborted by the timer, with an epoch bump so that its producer is
/// fenced.</para>
/// <para>Coordinators move as Kafka's do: when this node becomes the leader of a partition of
/// <c>__transaction_state</c> it reads it (its ids answer COORDINATOR_LOAD_IN_PROGRESS meanwhile), then finishes
/// every logged decision (a repeated marker is harmless) and keeps open transactions for their producers to end, or
/// time out; when it stops leading it forgets the partition's ids (NOT_COORDINATOR). The coordinator epoch of the
/// markers is the partition's leader epoch, so a partition refuses the markers of a deposed coordinator.</para>
/// <para>Markers go to each partition's leader: in-process when it is this node, else over the
/// <see cref="ITransactionMarkerChannel"/> (WriteTxnMarkers), retried on NOT_LEADER with the leader the cluster view
/// names next. One that cannot be written for a while is retried in the background, the transaction staying in its
/// Prepare state meanwhile (new requests of the id get CONCURRENT_TRANSACTIONS).</para>
/// </remarks>
public sealed partial class TransactionCoordinator : IAsyncDisposable
{
    /// <summary>How long one round of markers keeps retrying partitions whose leader moved before leaving them to the background retry.</summary>
    private static readonly TimeSpan MarkerRoundTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<int, TransactionStatePartition> _owned = new();
    private readonly Lock _ownershipLock = new();
    private readonly TopicRegistry _topics;
    private readonly TransactionMarkerWriter _localMarkers;
    private readonly ITransactionMarkerChannel? _remoteMarkers;
    private readonly ProducerIdAllocator _producerIds;
    private readonly IClusterView _cluster;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _maintenance;
    private IDisposable? _subscription;
    private Task _ensureTopic = Task.CompletedTask;

    private TransactionCoordinator(TransactionOptions options, TopicRegistry topics, TransactionMarkerWriter localMarkers,
        ITransactionMarkerChannel? remoteMarkers, ProducerIdAllocator producerIds, IClusterView cluster, TimeProvider time, ILogger logger)
    {
        Options = options;
        _topics = topics;
        _localMarkers = localMarkers;
        _remoteMarkers = remoteMarkers;
        _producerIds = producerIds;
        _cluster = cluster;
        _time = time;
        _logger = logger;
        _maintenance = MaintainAsync(_stopping.Token);
    }

    public TransactionOptions Options { get; }

    /// <summary>
    /// The coordinator of a single node: creates <c>__transaction_state</c> if it is missing (moving the states of an
    /// earlier release's <c>DATA/__transaction_state/</c> log into it), then loads every partition, which this node
    /// leads for good, and starts the timer that finishes logged decisions, aborts timed-out transactions and expires
    /// idle ids.
    /// </summary>
    public static TransactionCoordinator Open(BrokerOptions broker, TransactionOptions options, TopicRegistry topics, GroupCoordinator groups,
        ProducerIdAllocator producerIds, IClusterView cluster, ILoggerFactory loggerFactory)
    {
        if (!topics.TryGet(TransactionStateTopic.Name, out var stateTopic))
        {
            var created = topics.Create(TransactionStateTopic.Name, options.StateLogPartitions, TransactionStateTopic.Configs);
            if (!created.Succeeded && created.Error != TopicError.TopicAlreadyExists)
                throw new InvalidOperationException($"Cannot create {TransactionStateTopic.Name}: {created.Message}");
            topics.TryGet(TransactionStateTopic.Name, out stateTopic);
        }
        LegacyTransactionLog.MigrateInto(Path.Combine(broker.DataDirectory, TransactionStateTopic.Name), stateTopic,
            broker, loggerFactory.CreateLogger("Ferry.Broker.Transactions.TransactionLog"));
        var coordinator = new TransactionCoordinator(options, topics, new TransactionMarkerWriter(topics, groups, broker.Time), null,
            producerIds, cluster, broker.Time, loggerFactory.CreateLogger<TransactionCoordinator>());
        foreach (var partition in stateTopic.Partitions) coordinator.Load(partition.Index, partition.LeaderEpoch);
        return coordinator;
    }

    /// <summary>
    /// The coordinator of a cluster node: owns nothing until committed metadata makes this node the leader of a
    /// <c>__transaction_state</c> partition. Call <see cref="StartClustered"/> once the replica roles are applied.
    /// </summary>
    public static TransactionCoordinator OpenClustered(BrokerOptions broker, TransactionOptions options, TopicRegistry topics, GroupCoordinator groups,
        ProducerIdAllocator producerIds, IClusterView cluster, ITransactionMarkerChannel markers, ILoggerFactory loggerFactory) =>
        new(options, topics, new TransactionMarkerWriter(topics, groups, broker.Time), markers, producerIds, cluster, broker.Time,
            loggerFactory.CreateLogger<TransactionCoordinator>());

    /// <summary>
    /// Follows this node's roles in <c>__transaction_state</c> (subscribe after the replica manager, so that a partition
    /// leads before its ids load), and has the controller create the topic until it exists: RF min(3, voters).
    /// </summary>
    public void StartClustered(IMetadataController controller)
    {
        _subscription = _cluster.Subscribe(change =>
        {
            if (!string.Equals(change.Topic, TransactionStateTopic.Name, StringComparison.Ordinal)) return;
            if (change.Role == PartitionRole.Leader && change.State is { } state) BeginLoad(change.Partition, state.LeaderEpoch);
            else Unload(change.Partition);
        });
        _ensureTopic = InternalTopics.EnsureCreatedAsync(_topics, controller, new TopicSpec(TransactionStateTopic.Name, Options.StateLogPartitions,
            Configs: TransactionStateTopic.Configs), reason => StateTopicWaiting(_logger, reason), _stopping.Token);
    }

    /// <summary>Leadership of a state partition arrived (at <paramref name="leaderEpoch"/>): read it, off the caller's thread.</summary>
    private void BeginLoad(int index, int leaderEpoch)
    {
        lock (_ownershipLock)
        {
            if (_owned.TryGetValue(index, out var current) && current.LeaderEpoch == leaderEpoch) return;
        }
        _ = Task.Run(() => Load(index, leaderEpoch));
    }

    /// <summary>
    /// Reads the partition's states, serves them (unless leadership moved on meanwhile), then finishes every logged
    /// decision in the background: the markers of a coordinator that died between Prepare and Complete.
    /// </summary>
    private void Load(int index, int leaderEpoch)
    {
        if (!_topics.TryGet(TransactionStateTopic.Name, out var topic) || topic.TryGetPartition(index) is not { } partition) return;
        var owned = new TransactionStatePartition(partition, leaderEpoch);
        lock (_ownershipLock)
        {
            if (_stopping.IsCancellationRequested) return;
            _owned[index] = owned;
            DropEntries(index); // entries of an earlier ownership are stale: the log is the truth
        }
        Dictionary<string, TransactionMetadata> states;
        try
        {
            states = owned.Load();
        }
        catch (ObjectDisposedException)
        {
            return; // closing
        }
        List<Entry> unfinished = [];
        lock (_ownershipLock)
        {
            if (!_owned.TryGetValue(index, out var current) || current != owned) return;
            foreach (var (id, state) in states)
            {
                var entry = new Entry(id, owned, state);
                _entries[id] = entry;
                if (TransactionStates.IsPrepare(state.State)) unfinished.Add(entry);
            }
            owned.Loaded = true;
        }
        Loaded(_logger, TransactionStateTopic.Name, index, leaderEpoch, states.Count, owned.RecordsSinceCompaction);
        foreach (var entry in unfinished) ScheduleCompletion(entry, TimeSpan.Zero);
    }

    /// <summary>Leadership of a state partition went elsewhere: its ids are forgotten here (NOT_COORDINATOR from now on).</summary>
    private void Unload(int index)
    {
        lock (_ownershipLock)
        {
            if (!_owned.TryRemove(index, out _)) return;
            DropEntries(index);
        }
        Unloaded(_logger, TransactionStateTopic.Name, index);
    }

    private void DropEntries(int index)
    {
        foreach (var (id, entry) in _entries)
        {
            if (entry.Owner.Index == index) _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
        }
    }

    private int PartitionOf(string transactionalId) => InternalTopicOwnership.PartitionOf(_topics, CoordinatorKind.Transaction, transactionalId);

    /// <summary>Whether this node coordinates <paramref name="transactionalId"/> now (None), and if not the error to answer with.</summary>
    private TransactionError Ownership(string transactionalId, out TransactionStatePartition owned)
    {
        owned = null!;
        if (_stopping.IsCancellationRequested) return TransactionError.CoordinatorNotAvailable;
        int index = PartitionOf(transactionalId);
        if (index < 0) return TransactionError.CoordinatorNotAvailable;
        if (!_owned.TryGetValue(index, out owned!))
        {
            // Leadership may have arrived a moment before the load began (BeginLoad runs off the metadata thread).
            return InternalTopicOwnership.LeadsHere(_topics, CoordinatorKind.Transaction, index)
                ? TransactionError.CoordinatorLoadInProgress
                : TransactionError.NotCoordinator;
        }
        return owned.Loaded ? TransactionError.None : TransactionError.CoordinatorLoadInProgress;
    }

    /// <summary>The entry of an id this node coordinates now, or null (the error says why); with <paramref name="create"/> a new one for an unknown id.</summary>
    private Entry? EntryFor(string transactionalId, bool create, out TransactionError error)
    {
        error = Ownership(transactionalId, out var owned);
        if (error != TransactionError.None) return null;
        if (_entries.TryGetValue(transactionalId, out var entry) && entry.Owner == owned) return entry;
        if (!create)
        {
            error = TransactionError.InvalidProducerIdMapping;
            return null;
        }
        return _entries.AddOrUpdate(transactionalId, id => new Entry(id, owned, null), (id, old) => old.Owner == owned ? old : new Entry(id, owned, null));
    }

    /// <summary>Whether this node coordinates <paramref name="transactionalId"/> now (None), and if not the error to answer with.</summary>
    public TransactionError CheckCoordinator(string transactionalId) => Ownership(transactionalId, out _);

    /// <summary>
    /// The node that coordinates <paramref name="transactionalId"/>: the leader of its <c>__transaction_state</c>
    /// partition (this node on a single one); -1 while the topic does not exist or the partition has no leader.
    /// </summary>
    public int CoordinatorNodeFor(string transactionalId) => InternalTopicOwnership.CoordinatorOf(_topics, _cluster, CoordinatorKind.Transaction, transactionalId);

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
        if (timeoutMs <= 0 || timeoutMs > Options.MaxTimeoutMs) return (TransactionError.InvalidTransactionTimeout, -1, -1);
        if (EntryFor(transactionalId, create: true, out var refused) is not { } entry) return (refused, -1, -1);
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
            var written = await TryWriteAsync(entry, next).ConfigureAwait(false);
            return written == TransactionError.None ? (TransactionError.None, producerId, epoch) : (written, -1, -1);
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
        if (EntryFor(transactionalId, create: false, out var refused) is not { } entry) return (refused, null);
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
            var written = await TryWriteAsync(entry, next).ConfigureAwait(false);
            return written == TransactionError.None ? (TransactionError.None, next) : (written, state);
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
    /// KIP-890's check for a partition leader (<see cref="TransactionVerifier"/>, here or on another node through
    /// AddPartitionsToTxn's verify_only): whether the partition is in the producer's open transaction, at its current
    /// epoch. An id this node does not coordinate (now) gets NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS.
    /// </summary>
    public TransactionError VerifyPartition(string transactionalId, long producerId, short epoch, string topic, int partition)
    {
        if (EntryFor(transactionalId, create: false, out var refused) is not { } entry) return refused;
        var state = entry.State;
        var error = CheckProducer(state, producerId, epoch);
        if (error != TransactionError.None) return error;
        return state!.State == TransactionState.Ongoing && state.Partitions.Contains(new TransactionPartition(topic, partition))
            ? TransactionError.None : TransactionError.InvalidTxnState;
    }

    /// <summary>TxnOffsetCommit's check: the producer is current and its transaction has the group (AddOffsetsToTxn).</summary>
    public TransactionError VerifyGroup(string transactionalId, long producerId, short epoch, string groupId)
    {
        if (EntryFor(transactionalId, create: false, out var refused) is not { } entry)
            return refused == TransactionError.InvalidProducerIdMapping ? refused : TransactionError.None;
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
        if (EntryFor(transactionalId, create: false, out var refused) is not { } entry) return refused;
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
            var written = await TryWriteAsync(entry, prepared).ConfigureAwait(false);
            if (written != TransactionError.None) return written;
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
        if (await TryWriteAsync(entry, prepared).ConfigureAwait(false) != TransactionError.None) return state;
        return await CompleteAsync(entry, prepared).ConfigureAwait(false);
    }

    /// <summary>
    /// Under the entry's gate, from a logged Prepare state: writes the markers into every partition and group of the
    /// transaction and, once all are committed, logs the Complete state. Returns the state reached (still Prepare if
    /// some partition could not take its marker now: a background retry is scheduled).
    /// </summary>
    private async Task<TransactionMetadata> CompleteAsync(Entry entry, TransactionMetadata prepared)
    {
        bool commit = prepared.State == TransactionState.PrepareCommit;
        if (!await WriteMarkersAsync(entry.Owner.LeaderEpoch, prepared, commit).ConfigureAwait(false))
        {
            ScheduleCompletion(entry, TimeSpan.FromMilliseconds(500));
            return prepared;
        }
        var complete = prepared with
        {
            State = commit ? TransactionState.CompleteCommit : TransactionState.CompleteAbort,
            LastUpdateTimestampMs = Now,
        };
        return await TryWriteAsync(entry, complete).ConfigureAwait(false) == TransactionError.None ? complete : prepared;
    }

    /// <summary>
    /// Retries the markers of a Prepare state in the background, with a growing pause, until they are written or the
    /// entry is no longer this node's (its partition moved: the next coordinator finishes it). One retry per entry.
    /// </summary>
    private void ScheduleCompletion(Entry entry, TimeSpan firstDelay)
    {
        if (Interlocked.CompareExchange(ref entry.RetryScheduled, 1, 0) != 0) return;
        _ = Task.Run(async () =>
        {
            var delay = firstDelay;
            try
            {
                while (!_stopping.IsCancellationRequested)
                {
                    if (delay > TimeSpan.Zero) await Task.Delay(delay, _time, _stopping.Token).ConfigureAwait(false);
                    delay = TimeSpan.FromMilliseconds(Math.Min(Math.Max(delay.TotalMilliseconds * 2, 200), 5000));
                    await entry.Gate.WaitAsync(_stopping.Token).ConfigureAwait(false);
                    try
                    {
                        if (!_entries.TryGetValue(entry.Id, out var current) || current != entry) return;
                        if (entry.State is not { } state || !TransactionStates.IsPrepare(state.State)) return;
                        var reached = await CompleteAsync(entry, state).ConfigureAwait(false);
                        if (!TransactionStates.IsPrepare(reached.State)) return;
                    }
                    finally
                    {
                        entry.Gate.Release();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // Stopping.
            }
            finally
            {
                Volatile.Write(ref entry.RetryScheduled, 0);
            }
        });
    }

    /// <summary>
    /// WriteTxnMarkers: a marker into each partition of the transaction, and into the <c>__consumer_offsets</c>
    /// partition of each of its groups, at its leader (this node: in-process; another: over the channel), waiting for
    /// each to commit; a partition whose leader moved is asked again at the leader the cluster view names next, for
    /// one round of at most <see cref="MarkerRoundTimeout"/>. True when every marker is written.
    /// </summary>
    private async Task<bool> WriteMarkersAsync(int coordinatorEpoch, TransactionMetadata state, bool commit)
    {
        var remaining = state.Partitions.ToList();
        if (state.Groups.Count > 0)
        {
            int offsetsPartitions = _topics.TryGet(OffsetsTopic.Name, out var offsets) ? offsets.Partitions.Count : 0;
            if (offsetsPartitions == 0) return false;
            remaining.AddRange(state.Groups.Select(g => new TransactionPartition(OffsetsTopic.Name, OffsetsTopic.PartitionFor(g, offsetsPartitions))).Distinct());
        }
        var deadline = _time.GetUtcNow() + MarkerRoundTimeout;
        var pause = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            var byLeader = remaining.GroupBy(tp => _cluster.GetPartition(tp.Topic, tp.Partition) is { } p ? p.Leader : _cluster.LocalNodeId);
            var rounds = byLeader.Select(leader => SendMarkersAsync(leader.Key,
                new TransactionMarkerRequest(state.ProducerId, state.ProducerEpoch, commit, coordinatorEpoch, leader.ToList()))).ToList();
            var failed = new List<TransactionPartition>();
            foreach (var round in rounds)
            {
                foreach (var (tp, error) in await round.ConfigureAwait(false))
                {
                    switch (error)
                    {
                        case MarkerError.None:
                            break;
                        case MarkerError.CoordinatorFenced:
                            // A newer coordinator of this id wrote there: this node's ownership is over, the new one finishes.
                            MarkerFenced(_logger, state.TransactionalId, tp.Topic, tp.Partition, coordinatorEpoch);
                            return false;
                        default:
                            failed.Add(tp);
                            break;
                    }
                }
            }
            if (failed.Count == 0) return true;
            remaining = failed;
            if (_time.GetUtcNow() + pause > deadline || _stopping.IsCancellationRequested)
            {
                MarkerFailed(_logger, state.TransactionalId, remaining[0].Topic, remaining[0].Partition, remaining.Count);
                return false;
            }
            await Task.Delay(pause, _time).ConfigureAwait(false);
            pause = TimeSpan.FromMilliseconds(Math.Min(pause.TotalMilliseconds * 2, 1000));
        }
    }

    private async Task<IReadOnlyList<(TransactionPartition Partition, MarkerError Error)>> SendMarkersAsync(int leader, TransactionMarkerRequest request)
    {
        if (leader == _cluster.LocalNodeId) return await _localMarkers.WriteAsync(request).ConfigureAwait(false);
        if (leader < 0 || _remoteMarkers is null) return request.Partitions.Select(tp => (tp, MarkerError.NotLeaderOrFollower)).ToList();
        return await _remoteMarkers.WriteMarkersAsync(leader, request, _stopping.Token).ConfigureAwait(false);
    }

    /// <summary>Commits <paramref name="next"/> to the entry's partition, then makes it the entry's state; else the error to answer.</summary>
    private async Task<TransactionError> TryWriteAsync(Entry entry, TransactionMetadata? next, string? id = null)
    {
        try
        {
            await entry.Owner.WriteAsync(next?.TransactionalId ?? id!, next, Now).ConfigureAwait(false);
        }
        catch (TransactionStateWriteException e)
        {
            return e.Error;
        }
        catch (PartitionCommitException e)
        {
            return e.Error == PartitionAppendError.NotLeaderOrFollower ? TransactionError.NotCoordinator : TransactionError.CoordinatorNotAvailable;
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            LogWriteFailed(_logger, next?.TransactionalId ?? id!, ex);
            return TransactionError.CoordinatorNotAvailable;
        }
        entry.State = next;
        return TransactionError.None;
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
                else if (await TryWriteAsync(entry, null, id).ConfigureAwait(false) == TransactionError.None)
                {
                    _entries.TryRemove(new KeyValuePair<string, Entry>(id, entry));
                    TransactionalIdExpired(_logger, id);
                }
            }
            finally
            {
                entry.Gate.Release();
            }
        }
        await CompactIfMostlyDeadAsync().ConfigureAwait(false);
    }

    /// <summary>Rewrites the live states of each partition led here whose records are mostly dead, then drops the older ones.</summary>
    private async Task CompactIfMostlyDeadAsync(long minimumRecords = 100_000)
    {
        foreach (var owned in _owned.Values)
        {
            if (!owned.Loaded) continue;
            var live = _entries.Values.Where(e => e.Owner == owned).ToList();
            if (Interlocked.Read(ref owned.RecordsSinceCompaction) < Math.Max(minimumRecords, 2 * live.Count)) continue;
            try
            {
                long start = owned.BeginCompaction();
                var writes = new List<Task>(live.Count);
                foreach (var entry in live)
                {
                    await entry.Gate.WaitAsync().ConfigureAwait(false);
                    try
                    {
                        if (entry.State is { } state) writes.Add(owned.WriteAsync(state.TransactionalId, state, Now));
                    }
                    finally
                    {
                        entry.Gate.Release();
                    }
                }
                await Task.WhenAll(writes).ConfigureAwait(false);
                owned.EndCompaction(start, writes.Count);
            }
            catch (Exception ex) when (ex is TransactionStateWriteException or PartitionCommitException or IOException or ObjectDisposedException)
            {
                // Leadership moved or replicas are short: the next round tries again (nothing was deleted).
                CompactionFailed(_logger, TransactionStateTopic.Name, owned.Index, ex);
            }
        }
    }

    // ---- Describe, List -------------------------------------------------------------------------------------

    /// <summary>The state of a transactional id (DescribeTransactions), or null when this node does not know it.</summary>
    public TransactionMetadata? Describe(string transactionalId) => _entries.TryGetValue(transactionalId, out var entry) ? entry.State : null;

    /// <summary>Every transactional id this node coordinates (ListTransactions).</summary>
    public IReadOnlyList<TransactionMetadata> List() => _entries.Values.Select(e => e.State).OfType<TransactionMetadata>().ToList();

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _subscription?.Dispose();
        await _maintenance.ConfigureAwait(false);
        await _ensureTopic.ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>One transactional id of a partition led here (<see cref="Owner"/>, at the epoch it was loaded at).</summary>
    private sealed class Entry(string id, TransactionStatePartition owner, TransactionMetadata? state)
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);
        public string Id { get; } = id;
        public TransactionStatePartition Owner { get; } = owner;

        /// <summary>1 while a background completion retry is scheduled (see <see cref="ScheduleCompletion"/>).</summary>
        public int RetryScheduled;

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

    [LoggerMessage(EventId = 2413, Level = LogLevel.Warning, Message = "Transaction markers of {TransactionalId} not written to {Topic}-{Partition} and {Count} partitions in all; retrying")]
    private static partial void MarkerFailed(ILogger logger, string transactionalId, string topic, int partition, int count);

    [LoggerMessage(EventId = 2414, Level = LogLevel.Information, Message = "Transaction marker of {TransactionalId} refused by {Topic}-{Partition}: a coordinator newer than epoch {CoordinatorEpoch} wrote there")]
    private static partial void MarkerFenced(ILogger logger, string transactionalId, string topic, int partition, int coordinatorEpoch);

    [LoggerMessage(EventId = 2415, Level = LogLevel.Error, Message = "Writing the transaction log for {TransactionalId} failed")]
    private static partial void LogWriteFailed(ILogger logger, string transactionalId, Exception exception);

    [LoggerMessage(EventId = 2416, Level = LogLevel.Information, Message = "Loaded {Topic}-{Partition} at leader epoch {LeaderEpoch}: {Transactions} transactional ids from {Records} records")]
    private static partial void Loaded(ILogger logger, string topic, int partition, int leaderEpoch, int transactions, long records);

    [LoggerMessage(EventId = 2417, Level = LogLevel.Information, Message = "No longer coordinating the transactional ids of {Topic}-{Partition}")]
    private static partial void Unloaded(ILogger logger, string topic, int partition);

    [LoggerMessage(EventId = 2418, Level = LogLevel.Information, Message = "Waiting to create the transaction state topic: {Reason}")]
    private static partial void StateTopicWaiting(ILogger logger, string? reason);

    [LoggerMessage(EventId = 2419, Level = LogLevel.Warning, Message = "Compacting {Topic}-{Partition} failed; retrying later")]
    private static partial void CompactionFailed(ILogger logger, string topic, int partition, Exception exception);
}
