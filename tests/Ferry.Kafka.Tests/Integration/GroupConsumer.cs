using System.Collections.Concurrent;
using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// A Confluent.Kafka group consumer polled on its own thread (rebalances only progress while the consumer
/// is polled), recording what it receives and the assignment changes its callbacks report. Committing
/// after every message makes "no redelivery of committed messages" exact.
/// </summary>
internal sealed class GroupConsumer : IDisposable
{
    private readonly IConsumer<string, string> _consumer;
    private readonly Thread _thread;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly HashSet<TopicPartition> _assignment = [];
    private Exception? _failure;

    public GroupConsumer(string name, string bootstrap, string group, string topic, Action<ConsumerConfig>? configure = null,
        bool commitEachMessage = true)
    {
        Name = name;
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            ClientId = name,
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = 6000,
            HeartbeatIntervalMs = 500,
            MaxPollIntervalMs = 30000,
            FetchWaitMaxMs = 100,
        };
        configure?.Invoke(config);
        _consumer = new ConsumerBuilder<string, string>(config)
            .SetPartitionsAssignedHandler((_, partitions) =>
            {
                lock (_lock)
                {
                    Events.Add(("assigned", partitions.ToList()));
                    if (config.PartitionAssignmentStrategy != PartitionAssignmentStrategy.CooperativeSticky) _assignment.Clear();
                    _assignment.UnionWith(partitions);
                }
            })
            .SetPartitionsRevokedHandler((_, partitions) =>
            {
                lock (_lock)
                {
                    Events.Add(("revoked", partitions.Select(p => p.TopicPartition).ToList()));
                    _assignment.ExceptWith(partitions.Select(p => p.TopicPartition));
                }
            })
            .SetPartitionsLostHandler((_, partitions) =>
            {
                lock (_lock)
                {
                    Events.Add(("lost", partitions.Select(p => p.TopicPartition).ToList()));
                    _assignment.ExceptWith(partitions.Select(p => p.TopicPartition));
                }
            })
            .Build();
        _consumer.Subscribe(topic);
        _thread = new Thread(() => Run(commitEachMessage)) { IsBackground = true, Name = name };
        _thread.Start();
    }

    public string Name { get; }
    public ConcurrentQueue<ConsumeResult<string, string>> Received { get; } = new();

    /// <summary>Assignment changes as the callbacks saw them (incremental under cooperative-sticky). Read under <see cref="Snapshot"/>.</summary>
    public List<(string Kind, List<TopicPartition> Partitions)> Events { get; } = [];

    public HashSet<TopicPartition> Assignment
    {
        get { lock (_lock) return [.. _assignment]; }
    }

    public List<(string Kind, List<TopicPartition> Partitions)> Snapshot()
    {
        lock (_lock) return Events.Select(e => (e.Kind, e.Partitions.ToList())).ToList();
    }

    private void Run(bool commitEachMessage)
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var result = _consumer.Consume(TimeSpan.FromMilliseconds(100));
                if (result is null || result.IsPartitionEOF) continue;
                Received.Enqueue(result);
                if (commitEachMessage) _consumer.Commit(result);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _failure = ex;
        }
    }

    public void ThrowIfFailed()
    {
        if (_failure is not null) throw new InvalidOperationException($"{Name} failed", _failure);
    }

    /// <summary>Stops polling and leaves the group (LeaveGroup), committing nothing further.</summary>
    public void Close()
    {
        StopPolling();
        _consumer.Close();
    }

    private void StopPolling()
    {
        _stop.Cancel();
        _thread.Join();
        ThrowIfFailed();
    }

    public void Dispose()
    {
        if (!_stop.IsCancellationRequested)
        {
            StopPolling();
            _consumer.Close();
        }
        _consumer.Dispose();
        _stop.Dispose();
    }
}

internal static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> until it holds, failing with <paramref name="what"/> after <paramref name="timeout"/>.</summary>
    public static async Task HoldsAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Timed out waiting for: {what}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
