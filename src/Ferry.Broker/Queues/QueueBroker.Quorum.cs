using System.Collections.Concurrent;
using System.Text.Json;
using Ferry.Broker.Cluster;
using Ferry.Broker.Metadata;
using Ferry.Broker.Queues.Quorum;
using Ferry.Broker.Topics;
using Microsoft.Extensions.Logging;

namespace Ferry.Broker.Queues;

/// <summary>
/// Quorum queues: each one's log is the partition of its own internal topic (<see cref="QuorumQueueCluster"/>). The node
/// that leads the partition serves the queue, rebuilt from the log when leadership arrives; the other members know it
/// as unavailable here (publishes refused, consume and get answered with the leader's id) until they lead it.
/// </summary>
public sealed partial class QueueBroker
{
    /// <summary>How long a declare waits for the controller and the first leader (a declare runs on the connection's thread).</summary>
    private static readonly TimeSpan DeclareTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Declarations this node made and has not yet seen written to their log, by topic.</summary>
    private readonly ConcurrentDictionary<string, byte[]> _pendingDeclarations = new(StringComparer.Ordinal);
    /// <summary>The leader epoch each quorum queue led here was loaded at, by topic.</summary>
    private readonly ConcurrentDictionary<string, int> _ledEpochs = new(StringComparer.Ordinal);
    /// <summary>Declares waiting for their queue to be installed (led here, or known as led elsewhere), by queue name.</summary>
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _installed = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _quorumStop = new();
    private IDisposable? _quorumSubscription;
    private Task _quorumSweep = Task.CompletedTask;

    private string QuorumPrefix => QuorumQueueCluster.VirtualHostPrefix(_options.VirtualHost);

    private string Unreachable(string name, int leader) => leader < 0
        ? $"NOT_FOUND - quorum queue '{name}' in vhost '{_options.VirtualHost}' has no leader now (no majority of its members is up)"
        : $"NOT_FOUND - quorum queue '{name}' in vhost '{_options.VirtualHost}' is led by node {leader}: connect to that node to consume from it";

    /// <summary>
    /// Follows this node's roles in quorum queues' partitions (after <see cref="Load"/>, and after the replica manager
    /// has subscribed, so that a partition leads before its queue loads). On a single node the replay is the whole story.
    /// </summary>
    public void StartQuorumQueues()
    {
        if (_options.Quorum is not { } quorum) return;
        _quorumSubscription = quorum.Cluster.Subscribe(OnQuorumRoleChange);
        if (quorum.Cluster is not SingleNodeCluster) _quorumSweep = SweepFollowersAsync(quorum, _quorumStop.Token);
    }

    /// <summary>A quorum queue's partition as this node has applied it (leader, members, in-sync members), or null.</summary>
    public PartitionState? QuorumStateOf(string queue) =>
        _options.Quorum?.Cluster.GetPartition(QuorumQueueCluster.TopicFor(_options.VirtualHost, queue), 0);

    private void OnQuorumRoleChange(PartitionRoleChange change)
    {
        if (!change.Topic.StartsWith(QuorumPrefix, StringComparison.Ordinal) || change.Partition != 0) return;
        switch (change.Role)
        {
            // A single node replays its roles inside Subscribe, before the listeners serve: its queues are loaded by then.
            case PartitionRole.Leader when change.State is { } state && _options.Quorum!.Cluster is SingleNodeCluster:
                LoadQuorumQueue(change.Topic, state.LeaderEpoch);
                break;
            case PartitionRole.Leader when change.State is { } state:
                _ = Task.Run(() => LoadQuorumQueue(change.Topic, state.LeaderEpoch));
                break;
            case PartitionRole.Follower:
                _ = Task.Run(() => FollowQuorumQueue(change.Topic, change.State?.Leader ?? -1));
                break;
            case PartitionRole.Removed:
                _ = Task.Run(() => ForgetQuorumQueue(change.Topic));
                break;
        }
    }

    private Partition? QuorumPartition(string topic) =>
        _options.Quorum!.Topics.TryGet(topic, out var t) ? t.TryGetPartition(0) : null;

    /// <summary>
    /// Leadership arrived: rebuild the queue from its log (publishes not settled, with their delivery counts) and serve
    /// it, in place of what this node knew of it. A log without its declaration yet gets this node's, if it declared it.
    /// </summary>
    private void LoadQuorumQueue(string topic, int leaderEpoch)
    {
        if (QuorumPartition(topic) is not { } partition) return;
        if (_ledEpochs.TryGetValue(topic, out int loaded) && loaded == leaderEpoch) return;
        var log = new QuorumQueueLog(partition, leaderEpoch);
        if (!log.Leads) return; // the role moved on before this ran
        var recovered = new List<(RecoveredMessage Message, int DeliveryCount)>();
        byte[]? definition;
        try
        {
            definition = log.Load(_codec, Messages, recovered);
            if (definition is null && _pendingDeclarations.TryGetValue(topic, out var declared))
            {
                long offset = log.AppendDeclaration(declared, _options.Time.GetUtcNow().ToUnixTimeMilliseconds());
                log.WaitForDurableAsync(offset + 1).GetAwaiter().GetResult();
                definition = declared;
            }
        }
        catch (Exception e) when (e is QueueLogUnavailableException or ObjectDisposedException or IOException)
        {
            foreach (var (message, _) in recovered) message.Message.Release();
            Log.QuorumLoadFailed(_logger, topic, e);
            return;
        }

        if (definition is null || JsonSerializer.Deserialize(definition, AmqpDefinitionsJsonContext.Default.QueueDefinition) is not { } q)
        {
            foreach (var (message, _) in recovered) message.Message.Release();
            return; // its declaring node writes the declaration; that write's commit brings it here again
        }

        var raw = _codec.DecodeTable(q.Arguments);
        var queue = new AmqpQueue(this, q.Name, 0, true, false, false, null, QueueArguments.Parse(raw, out _), raw, q.Arguments, log, _options.Time);
        queue.Restore(recovered, log);
        lock (_lock)
        {
            if (!log.Leads)
            {
                queue.MarkDeleted();
                return;
            }
            InstallQuorumLocked(queue);
            _ledEpochs[topic] = leaderEpoch;
            SaveLocked();
        }
        _pendingDeclarations.TryRemove(topic, out _);
        Log.QuorumQueueLed(_logger, q.Name, leaderEpoch, recovered.Count);
    }

    /// <summary>Another member leads: the queue stays known here, unavailable, and whoever consumed here is told (basic.cancel).</summary>
    private void FollowQuorumQueue(string topic, int leader)
    {
        if (QuorumPartition(topic) is not { } partition) return;
        _ledEpochs.TryRemove(topic, out _);
        byte[]? definition = QuorumQueueLog.ReadDefinition(partition);
        if (definition is null || JsonSerializer.Deserialize(definition, AmqpDefinitionsJsonContext.Default.QueueDefinition) is not { } q)
        {
            lock (_lock)
            {
                // Known by a name already (this node led it, or loaded its definition at start): that one becomes unavailable.
                foreach (var existing in _queues.Values)
                {
                    if (existing.Arguments.Type == QueueType.Quorum && existing.Store is QuorumQueueLog led && led.Partition == partition)
                    {
                        InstallQuorumLocked(Placeholder(existing.Name, existing.RawArguments, existing.EncodedArguments, leader));
                    }
                }
            }
            return;
        }

        lock (_lock)
        {
            if (_queues.TryGetValue(q.Name, out var current) && current.Unavailable is not null && current.Unavailable == Unreachable(q.Name, leader)) return;
            var raw = _codec.DecodeTable(q.Arguments);
            InstallQuorumLocked(Placeholder(q.Name, raw, q.Arguments, leader));
            SaveLocked();
        }
    }

    private AmqpQueue Placeholder(string name, IReadOnlyDictionary<string, object?>? raw, byte[] encoded, int leader) =>
        new(this, name, 0, true, false, false, null, QueueArguments.Parse(raw, out _), raw, encoded, null, _options.Time, Unreachable(name, leader));

    /// <summary>
    /// Puts <paramref name="queue"/> where a queue of its name is (bindings move to it); the one it replaces is deposed:
    /// its consumers get basic.cancel, and deliveries still unacknowledged there are the new leader's to redeliver.
    /// </summary>
    private void InstallQuorumLocked(AmqpQueue queue)
    {
        if (_queues.TryGetValue(queue.Name, out var previous))
        {
            foreach (var binding in previous.IncomingBindings.ToArray())
            {
                RemoveBindingLocked(binding, autoDelete: false);
                AddBindingLocked(binding.Source, queue, binding.RoutingKey, binding.Arguments, binding.EncodedArguments);
            }
            var (consumers, _) = previous.MarkDeleted();
            foreach (var consumer in consumers) consumer.OnQueueDeleted(previous);
        }
        _queues[queue.Name] = queue;
        if (_installed.TryRemove(queue.Name, out var waiting)) waiting.TrySetResult();
    }

    /// <summary>The queue's topic was deleted (queue.delete on some node): the queue goes here too.</summary>
    private void ForgetQuorumQueue(string topic)
    {
        _ledEpochs.TryRemove(topic, out _);
        AmqpQueue? gone = null;
        lock (_lock)
        {
            foreach (var queue in _queues.Values)
            {
                if (queue.Arguments.Type == QueueType.Quorum && QuorumQueueCluster.TopicFor(_options.VirtualHost, queue.Name) == topic) gone = queue;
            }
            if (gone is null) return;
            _queues.TryRemove(gone.Name, out _);
            foreach (var binding in gone.IncomingBindings.ToArray()) RemoveBindingLocked(binding, autoDelete: true);
            SaveLocked();
        }
        var (consumers, _) = gone.MarkDeleted();
        foreach (var consumer in consumers) consumer.OnQueueDeleted(gone);
    }

    /// <summary>
    /// A follower's copy of a queue's log may not hold the declaration yet when the role arrives: look again, now and
    /// then, for queues this node holds a copy of and does not know by name.
    /// </summary>
    private async Task SweepFollowersAsync(QuorumQueueCluster quorum, CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                foreach (var topic in quorum.Topics.Topics)
                {
                    if (!topic.Name.StartsWith(QuorumPrefix, StringComparison.Ordinal) || _ledEpochs.ContainsKey(topic.Name)) continue;
                    if (topic.TryGetPartition(0) is not { } partition || partition.IsLeader) continue;
                    if (!_queues.Values.Any(q => q.Arguments.Type == QueueType.Quorum && QuorumQueueCluster.TopicFor(_options.VirtualHost, q.Name) == topic.Name))
                        FollowQuorumQueue(topic.Name, partition.LeaderId);
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Stopping.
        }
        catch (ObjectDisposedException)
        {
            // Closing.
        }
    }

    /// <summary>
    /// A new quorum queue: its topic created through the controller (members placed client-local), then, once this node
    /// leads it, its declaration written as the log's first record and committed. Waits on the connection's thread for
    /// both (a declaration is rare and these are a few round trips).
    /// </summary>
    private BrokerResult DeclareQuorum(string name, IReadOnlyDictionary<string, object?>? arguments, out AmqpQueue? queue)
    {
        queue = null;
        if (_options.Quorum is not { } quorum) return BrokerResult.Fail(406, $"PRECONDITION_FAILED - quorum queues are not available in vhost '{_options.VirtualHost}'");
        string topic = QuorumQueueCluster.TopicFor(_options.VirtualHost, name);
        byte[] definition = JsonSerializer.SerializeToUtf8Bytes(
            new QueueDefinition { Name = name, Arguments = _codec.EncodeTable(Copy(arguments)) }, AmqpDefinitionsJsonContext.Default.QueueDefinition);
        _pendingDeclarations[topic] = definition;
        using var timeout = new CancellationTokenSource(DeclareTimeout);
        try
        {
            if (!quorum.Topics.TryGet(topic, out _))
            {
                var members = quorum.PlaceMembers();
                var created = quorum.Controller.CreateTopicAsync(new TopicSpec(topic, 1, (short)members.Count, [members],
                    QuorumQueueCluster.Configs(members.Count)), timeout.Token).AsTask().GetAwaiter().GetResult();
                if (!created.Succeeded && created.Error != TopicError.TopicAlreadyExists)
                    return BrokerResult.Fail(406, $"PRECONDITION_FAILED - cannot create quorum queue '{name}': {created.Message}");
            }

            var installed = _installed.GetOrAdd(name, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            // A single node leads the new partition at once, with no role change to announce it: load it here.
            if (quorum.Cluster is SingleNodeCluster && QuorumPartition(topic) is { } partition && !_ledEpochs.ContainsKey(topic))
                LoadQuorumQueue(topic, partition.LeaderEpoch);
            if (!_queues.ContainsKey(name)) installed.Task.WaitAsync(timeout.Token).GetAwaiter().GetResult();
            return _queues.TryGetValue(name, out queue) ? BrokerResult.Ok : BrokerResult.Fail(404, $"NOT_FOUND - no queue '{name}' in vhost '{_options.VirtualHost}'");
        }
        catch (OperationCanceledException)
        {
            return BrokerResult.Fail(406, $"PRECONDITION_FAILED - quorum queue '{name}' in vhost '{_options.VirtualHost}' could not be declared: no leader within {DeclareTimeout.TotalSeconds:0} s");
        }
    }

    /// <summary>queue.delete of a quorum queue: its topic is deleted through the controller, which removes every member's copy.</summary>
    private void DeleteQuorumTopic(AmqpQueue queue)
    {
        if (_options.Quorum is not { } quorum) return;
        string topic = QuorumQueueCluster.TopicFor(_options.VirtualHost, queue.Name);
        _ledEpochs.TryRemove(topic, out _);
        _ = DeleteTopicAsync(quorum, topic);
    }

    private async Task DeleteTopicAsync(QuorumQueueCluster quorum, string topic)
    {
        try
        {
            await quorum.Controller.DeleteTopicAsync(topic).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
            Log.QuorumDeleteFailed(_logger, topic, e);
        }
    }

    private void StopQuorumQueues()
    {
        _quorumSubscription?.Dispose();
        _quorumStop.Cancel();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Leading quorum queue {Queue} at epoch {LeaderEpoch} with {Count} messages")]
        public static partial void QuorumQueueLed(ILogger logger, string queue, int leaderEpoch, int count);

        [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Could not load quorum queue topic {Topic}")]
        public static partial void QuorumLoadFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(EventId = 6007, Level = LogLevel.Warning, Message = "Could not delete quorum queue topic {Topic}")]
        public static partial void QuorumDeleteFailed(ILogger logger, string topic, Exception exception);
    }
}
