using Confluent.Kafka;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>
/// The Jepsen-style part of the fault scenarios: what producers were told (acknowledged values at their offsets),
/// compared with what a consumer reads back from the partition: lost, duplicated, out of order, at another offset.
/// </summary>
public sealed class Checker
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, long> _acknowledged = [];

    public int Count
    {
        get { lock (_lock) return _acknowledged.Count; }
    }

    public long LastOffset
    {
        get { lock (_lock) return _acknowledged.Count == 0 ? -1 : _acknowledged.Values.Max(); }
    }

    public void Acknowledged(string value, long offset)
    {
        lock (_lock) _acknowledged[value] = offset;
    }

    /// <summary>Reads partition 0 of <paramref name="topic"/> from the beginning up to its high watermark (bounded in time).</summary>
    public static List<(string Value, long Offset)> ReadAll(string bootstrap, string topic, TimeSpan timeout)
    {
        var read = new List<(string, long)>();
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "checker-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        var partition = new TopicPartition(topic, 0);
        var deadline = DateTime.UtcNow + timeout;
        long end;
        while (true)
        {
            try
            {
                end = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10)).High.Value;
                break;
            }
            catch (KafkaException e) when (DateTime.UtcNow < deadline && (e.Error.IsLocalError || e.Error.Code is ErrorCode.NotLeaderForPartition
                                               or ErrorCode.LeaderNotAvailable or ErrorCode.UnknownTopicOrPart or ErrorCode.NotEnoughReplicas or ErrorCode.OffsetNotAvailable))
            {
                // Leadership moved since this client's metadata (a restarted node takes its preferred partitions back):
                // ask again, as any client does, once its metadata has caught up.
                Thread.Sleep(500);
            }
        }
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        long next = 0;
        while (next < end && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromSeconds(1));
            if (result is null) continue;
            if (result.IsPartitionEOF)
            {
                next = Math.Max(next, result.Offset.Value);
                continue;
            }
            read.Add((result.Message.Value, result.Offset.Value));
            next = result.Offset.Value + 1;
        }
        return read;
    }

    /// <summary>Null when every acknowledged value was read once, at its acknowledged offset, in order; else what is wrong.</summary>
    public string? Verify(IReadOnlyList<(string Value, long Offset)> read, Func<string, bool>? mustBeAbsent = null)
    {
        Dictionary<string, long> acknowledged;
        lock (_lock) acknowledged = new(_acknowledged);
        var firstAt = new Dictionary<string, long>();
        var duplicated = new List<string>();
        foreach (var (value, offset) in read)
        {
            // Only acknowledged values count: a send that failed may have been written twice by a retrying producer.
            if (!firstAt.TryAdd(value, offset) && acknowledged.ContainsKey(value)) duplicated.Add(value);
        }
        var lost = acknowledged.Keys.Where(v => !firstAt.ContainsKey(v)).ToList();
        var moved = acknowledged.Where(a => firstAt.TryGetValue(a.Key, out long at) && at != a.Value).Select(a => a.Key).ToList();
        var reordered = read.Zip(read.Skip(1)).Count(p => p.Second.Offset <= p.First.Offset);
        var unwanted = mustBeAbsent is null ? [] : read.Where(r => mustBeAbsent(r.Value)).Select(r => r.Value).ToList();
        if (lost.Count == 0 && duplicated.Count == 0 && moved.Count == 0 && reordered == 0 && unwanted.Count == 0) return null;
        return $"acknowledged {acknowledged.Count}, read {read.Count}: lost {lost.Count} [{string.Join(',', lost.Take(10))}], duplicated {duplicated.Count} " +
            $"[{string.Join(',', duplicated.Take(10))}], at another offset {moved.Count} [{string.Join(',', moved.Take(10))}], reordered {reordered}, " +
            $"present but must not be {unwanted.Count} [{string.Join(',', unwanted.Take(10))}]";
    }
}
