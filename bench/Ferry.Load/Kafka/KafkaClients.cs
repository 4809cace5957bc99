using Confluent.Kafka;

namespace Ferry.Load.Kafka;

internal static class KafkaClients
{
    public static ProducerConfig Producer(LoadOptions options)
    {
        var acks = options.Acks == "all" ? Acks.All : Acks.Leader;
        return new ProducerConfig
        {
            BootstrapServers = options.Target,
            Acks = acks,
            EnableIdempotence = acks == Acks.All,
            // A throughput producer batches (librdkafka's default linger is 5 ms); a latency-minded one does not.
            LingerMs = options.Rate > 0 ? 0 : 5,
            BatchSize = 1 << 20,
            QueueBufferingMaxMessages = 1_000_000,
            QueueBufferingMaxKbytes = 1 << 20,
            CompressionType = CompressionType.None,
            // Delivery reports carry only the status: no copy of each value back into .NET.
            DeliveryReportFields = "status",
        };
    }

    public static ConsumerConfig Consumer(LoadOptions options) => new()
    {
        BootstrapServers = options.Target,
        GroupId = "load",
        EnableAutoCommit = false,
        FetchWaitMaxMs = 10,
        FetchMinBytes = 1,
        FetchMaxBytes = 64 << 20,
        MaxPartitionFetchBytes = 16 << 20,
        QueuedMaxMessagesKbytes = 256 << 10,
        // librdkafka stops fetching once 100,000 messages wait in its local queue and then waits
        // fetch.queue.backoff.ms (1 s by default) before the next fetch: that caps a fast consumer at
        // ~130,000 msg/s with both sides idle. Let the queue hold more and resume fetching at once.
        QueuedMinMessages = 1_000_000,
        FetchQueueBackoffMs = 1,
    };

    public static async Task CreateTopicAsync(LoadOptions options, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.Target }).Build();
        await admin.CreateTopicsAsync([new Confluent.Kafka.Admin.TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = options.ReplicationFactor }]);
    }

    /// <summary>
    /// Deletes a run's topic once it is checked: a full benchmark writes tens of GB (one wire-producer run
    /// alone ~20 GB), more than the disk may have free if every run's data stayed.
    /// </summary>
    public static async Task DeleteTopicAsync(LoadOptions options, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = options.Target }).Build();
        try { await admin.DeleteTopicsAsync([topic]); }
        catch (Confluent.Kafka.Admin.DeleteTopicsException e) { Console.Error.WriteLine($"could not delete topic {topic}: {e.Message}"); }
    }
}
