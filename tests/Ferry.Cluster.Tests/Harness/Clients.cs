using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Cluster.Tests.Harness;

/// <summary>The Kafka clients the fault scenarios share: a topic of one RF 3 partition, producers, acknowledged sends into a <see cref="Checker"/>.</summary>
public static class Clients
{
    /// <summary>Creates the topic (1 partition, RF 3) and waits for a leader and a full ISR; returns the leader and its epoch.</summary>
    public static async Task<(int Leader, int Epoch)> CreateTopicAsync(ClusterHarness cluster, string topic)
    {
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build())
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        return await FullIsrAsync(cluster, topic);
    }

    /// <summary>Waits until a running node reports a leader and all three replicas in sync; returns the leader and epoch.</summary>
    public static async Task<(int Leader, int Epoch)> FullIsrAsync(ClusterHarness cluster, string topic, TimeSpan? timeout = null)
    {
        (int, int) found = default;
        await cluster.WaitUntilAsync($"{topic} has a leader and a full ISR", async () =>
        {
            foreach (var node in cluster.Running)
            {
                if (await ClusterHarness.PartitionAsync(node, topic) is not { Leader: > 0, Isr.Length: 3 } p) return false;
                found = (p.Leader, p.Epoch);
            }
            return true;
        }, timeout);
        return found;
    }

    /// <summary>
    /// Every value of the topic's partitions from the beginning to their end at <paramref name="isolation"/> (read_committed:
    /// up to the last stable offset, without aborted records), read by an assigned consumer; fails if an end is not reached.
    /// </summary>
    public static List<string> ReadToEnd(string bootstrap, string topic, int partitions, IsolationLevel isolation)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "read-to-end-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = isolation,
            EnablePartitionEof = true,
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var values = new List<string>();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (atEnd.Count < partitions && DateTime.UtcNow < deadline)
        {
            ConsumeResult<string, string>? result;
            try
            {
                result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            }
            catch (ConsumeException)
            {
                continue;
            }
            if (result is null) continue;
            if (result.IsPartitionEOF) atEnd.Add(result.Partition.Value);
            else values.Add(result.Message.Value);
        }
        if (atEnd.Count < partitions) throw new TimeoutException($"{topic} was not read to its end ({isolation})");
        return values;
    }

    public static IProducer<Null, string> Producer(string bootstrap, Acks acks, bool idempotent, TimeSpan messageTimeout, bool retries = true) =>
        new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = acks,
            EnableIdempotence = idempotent,
            MessageTimeoutMs = (int)messageTimeout.TotalMilliseconds,
            RequestTimeoutMs = Math.Min(30_000, (int)messageTimeout.TotalMilliseconds),
            MessageSendMaxRetries = retries ? null : 0,
            LingerMs = 0,
            RetryBackoffMs = 50,
            RetryBackoffMaxMs = 200,
            TopicMetadataRefreshIntervalMs = 1000,
        }).Build();

    /// <summary>
    /// The load a move or a fault happens under: rounds of 50 acknowledged values <c>duringN-I</c>, until
    /// <paramref name="stop"/> is cancelled (the round under way finishes).
    /// </summary>
    public static Task LoadAsync(IProducer<Null, string> producer, string topic, Checker checker, CancellationToken stop) => Task.Run(async () =>
    {
        for (int round = 0; !stop.IsCancellationRequested; round++)
        {
            await ProduceAsync(producer, topic, "during" + round.ToString(CultureInfo.InvariantCulture), 50, checker);
            await Task.Delay(20, CancellationToken.None);
        }
    }, CancellationToken.None);

    /// <summary>Sends <paramref name="count"/> values <c>PREFIX-N</c> at once and waits; every acknowledgement goes into the checker (a failure throws).</summary>
    public static async Task ProduceAsync(IProducer<Null, string> producer, string topic, string prefix, int count, Checker checker)
    {
        var sends = new List<Task>();
        for (int i = 0; i < count; i++)
        {
            string value = prefix + "-" + i.ToString(CultureInfo.InvariantCulture);
            sends.Add(producer.ProduceAsync(topic, new Message<Null, string> { Value = value })
                .ContinueWith(t => checker.Acknowledged(value, t.Result.Offset.Value), TaskScheduler.Default));
        }
        await Task.WhenAll(sends);
    }
}
