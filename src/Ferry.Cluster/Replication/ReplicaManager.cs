using System.Collections.Concurrent;
using System.Globalization;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Replication;

/// <summary>
/// Turns committed metadata into replica roles on this node (Kafka's <c>ReplicaManager</c>): leader of P at epoch
/// E makes the local partition lead and track its followers; follower of P starts a <see cref="ReplicaFetcher"/>
/// from the leader; removed stops it. As leader it keeps the ISR honest: a follower not caught up for
/// <see cref="ReplicationOptions.ReplicaLagTimeMax"/> is dropped, one that has caught up to the high watermark
/// is added back, each through the controller's AlterPartition (KIP-497) and applied only once committed.
/// </summary>
public sealed partial class ReplicaManager : IAsyncDisposable
{
    private readonly TopicRegistry _topics;
    private readonly IClusterView _view;
    private readonly IMetadataController _controller;
    private readonly IReplicaTransport _transport;
    private readonly ReplicationOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Topic, int Partition), ReplicaFetcher> _fetchers = new();
    private readonly ConcurrentDictionary<(string Topic, int Partition), PartitionState> _led = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _changes = new(1, 1);
    private IDisposable? _subscription;
    private Task? _isrLoop;

    public ReplicaManager(TopicRegistry topics, IClusterView view, IMetadataController controller, IReplicaTransport transport,
        ReplicationOptions options, ILoggerFactory loggerFactory)
    {
        _topics = topics;
        _view = view;
        _controller = controller;
        _transport = transport;
        _options = options;
        _logger = loggerFactory.CreateLogger<ReplicaManager>();
    }

    /// <summary>Subscribes to role changes (the current roles are replayed first) and starts the ISR checks.</summary>
    public void Start()
    {
        _subscription = _view.Subscribe(OnRoleChange);
        _isrLoop = Task.Run(() => MaintainIsrAsync(_stop.Token));
    }

    /// <summary>The partitions this node follows, for tests and metrics.</summary>
    public int FetcherCount => _fetchers.Count;

    private void OnRoleChange(PartitionRoleChange change)
    {
        // Notifications come one at a time, in commit order; stopping a fetcher waits for its loop, which never
        // waits on this callback, so holding the gate here cannot deadlock.
        _changes.Wait();
        try
        {
            Apply(change);
        }
        finally
        {
            _changes.Release();
        }
    }

    private void Apply(PartitionRoleChange change)
    {
        var key = (change.Topic, change.Partition);
        var partition = _topics.TryGet(change.Topic, out var topic) ? topic.TryGetPartition(change.Partition) : null;
        switch (change.Role)
        {
            case PartitionRole.Leader when partition is not null && change.State is { } state:
                StopFetcher(key);
                partition.MinInsyncReplicas = MinInsync(topic!, state);
                if (partition.IsLeader && partition.LeaderId == _view.LocalNodeId && partition.LeaderEpoch == state.LeaderEpoch)
                {
                    partition.UpdateReplicas(state.LeaderEpoch, state.Replicas, _options.NowMs());
                    partition.UpdateIsr(state.LeaderEpoch, state.PartitionEpoch, state.Isr);
                }
                else
                {
                    partition.MakeLeader(_view.LocalNodeId, state.LeaderEpoch, state.PartitionEpoch, state.Replicas, state.Isr, _options.NowMs());
                    BecameLeader(_logger, change.Topic, change.Partition, state.LeaderEpoch, state.Isr);
                }
                _led[key] = state;
                break;
            case PartitionRole.Follower when partition is not null && change.State is { } state:
                _led.TryRemove(key, out _);
                partition.MinInsyncReplicas = MinInsync(topic!, state);
                if (_fetchers.TryGetValue(key, out var running) && running.LeaderId == state.Leader && running.LeaderEpoch == state.LeaderEpoch)
                    break;
                StopFetcher(key);
                partition.MakeFollower(_view.LocalNodeId, state.Leader, state.LeaderEpoch, state.PartitionEpoch);
                if (state.HasLeader)
                {
                    _fetchers[key] = new ReplicaFetcher(partition, _view.LocalNodeId, state.Leader, state.LeaderEpoch, _transport, _options,
                        _logger);
                    BecameFollower(_logger, change.Topic, change.Partition, state.Leader, state.LeaderEpoch);
                }
                break;
            case PartitionRole.Removed when partition is not null && change.State is { } state:
                // Reassigned away: no longer a replica, so neither leads nor fetches (it answers NOT_LEADER_OR_FOLLOWER),
                // and its data goes, as Kafka deletes the log of a removed replica. Emptied at offset 0, so that if it
                // is added back it fetches everything again rather than claim offsets it no longer holds.
                _led.TryRemove(key, out _);
                StopFetcher(key);
                partition.MakeFollower(_view.LocalNodeId, state.Leader, state.LeaderEpoch, state.PartitionEpoch);
                partition.TruncateFullyAndStartAt(0);
                ReplicaRemoved(_logger, change.Topic, change.Partition, state.Replicas);
                break;
            default:
                _led.TryRemove(key, out _);
                StopFetcher(key);
                break;
        }
    }

    /// <summary>
    /// The topic's <c>min.insync.replicas</c>, else 2 with three or more replicas, else 1 (Kafka's advice); while a
    /// reassignment runs, counted on the original replicas, so that replicas still catching up do not stop acks=all.
    /// </summary>
    private static int MinInsync(Topic topic, PartitionState state) =>
        topic.Overrides.TryGetValue(TopicConfig.MinInsyncReplicas, out var value)
        && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int configured) && configured > 0
            ? configured
            : state.OriginalReplicas.Count >= 3 ? 2 : 1;

    private void StopFetcher((string, int) key)
    {
        if (_fetchers.TryRemove(key, out var fetcher)) fetcher.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private async Task MaintainIsrAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(_options.IsrCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false)) await CheckIsrAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Closing.
        }
    }

    /// <summary>One pass over the partitions led here: shrink or expand each ISR that no longer matches its followers.</summary>
    public async Task CheckIsrAsync(CancellationToken cancellationToken = default)
    {
        long now = _options.NowMs();
        long lagMax = (long)_options.ReplicaLagTimeMax.TotalMilliseconds;
        foreach (var (key, _) in _led)
        {
            if (!_topics.TryGet(key.Topic, out var topic) || topic.TryGetPartition(key.Partition) is not { IsLeader: true } partition) continue;
            var isr = partition.Isr;
            var wanted = new List<int>(isr.Count + 1);
            var added = new List<int>();
            long highWatermark = partition.HighWatermark;
            long epochStart = partition.Epochs.Entries is { Count: > 0 } epochs ? epochs[^1].StartOffset : 0;
            foreach (int member in isr) if (member == _view.LocalNodeId) wanted.Add(member);
            foreach (var follower in partition.Followers)
            {
                bool inSync = isr.Contains(follower.ReplicaId);
                if (inSync && now - follower.LastCaughtUpMs <= lagMax) wanted.Add(follower.ReplicaId);
                else if (!inSync && follower.LogEndOffset >= highWatermark && follower.LogEndOffset >= epochStart
                    && now - follower.LastCaughtUpMs <= lagMax)
                {
                    wanted.Add(follower.ReplicaId);
                    added.Add(follower.ReplicaId);
                }
            }
            if (wanted.Count == isr.Count && wanted.TrueForAll(isr.Contains)) continue;
            wanted.Sort();
            // Until the controller answers, the followers being added already count for the high watermark.
            partition.SetPendingIsr(added);
            var result = await _controller.AlterPartitionAsync(new AlterPartitionRequest(key.Topic, key.Partition, _view.LocalNodeId,
                partition.LeaderEpoch, partition.PartitionEpoch, wanted), cancellationToken).ConfigureAwait(false);
            if (result.Error == AlterPartitionError.None && result.State is { } state)
            {
                partition.UpdateIsr(state.LeaderEpoch, state.PartitionEpoch, state.Isr);
                IsrChanged(_logger, key.Topic, key.Partition, isr, state.Isr);
            }
            else
            {
                partition.SetPendingIsr([]);
                IsrChangeRefused(_logger, key.Topic, key.Partition, result.Error);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _subscription?.Dispose();
        await _stop.CancelAsync().ConfigureAwait(false);
        if (_isrLoop is not null) await _isrLoop.ConfigureAwait(false);
        await _changes.WaitAsync().ConfigureAwait(false);
        foreach (var key in _fetchers.Keys) StopFetcher(key);
        _stop.Dispose();
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: leader at epoch {LeaderEpoch}, ISR {Isr}")]
    private static partial void BecameLeader(ILogger logger, string topic, int partition, int leaderEpoch, IReadOnlyList<int> isr);

    [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: follower of {LeaderId} at epoch {LeaderEpoch}")]
    private static partial void BecameFollower(ILogger logger, string topic, int partition, int leaderId, int leaderEpoch);

    [LoggerMessage(EventId = 7003, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: ISR {Before} -> {After}")]
    private static partial void IsrChanged(ILogger logger, string topic, int partition, IReadOnlyList<int> before, IReadOnlyList<int> after);

    [LoggerMessage(EventId = 7005, Level = LogLevel.Information, Message = "Partition {Topic}-{Partition}: this node is no longer a replica (replicas {Replicas})")]
    private static partial void ReplicaRemoved(ILogger logger, string topic, int partition, IReadOnlyList<int> replicas);

    [LoggerMessage(EventId = 7004, Level = LogLevel.Debug, Message = "Partition {Topic}-{Partition}: ISR change refused ({Error})")]
    private static partial void IsrChangeRefused(ILogger logger, string topic, int partition, AlterPartitionError error);
}
