using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

internal static class Clients
{
    public static IAdminClient Admin(FerryServer server) =>
        new AdminClientBuilder(new AdminClientConfig { BootstrapServers = server.BootstrapServers }).Build();

    public static IProducer<string, string> Producer(FerryServer server, Action<ProducerConfig>? configure = null)
    {
        var config = new ProducerConfig
        {
            BootstrapServers = server.BootstrapServers,
            EnableIdempotence = true,
            Acks = Acks.All,
            LingerMs = 5,
        };
        configure?.Invoke(config);
        return new ProducerBuilder<string, string>(config).Build();
    }

    public static IConsumer<string, string> Consumer(FerryServer server, Action<ConsumerConfig>? configure = null)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = server.BootstrapServers,
            GroupId = "test-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        configure?.Invoke(config);
        return new ConsumerBuilder<string, string>(config).Build();
    }

    /// <summary>Reads <paramref name="count"/> messages from the assigned partitions, failing after <paramref name="timeout"/>.</summary>
    public static List<ConsumeResult<string, string>> ConsumeExactly(IConsumer<string, string> consumer, int count, TimeSpan? timeout = null)
    {
        var results = new List<ConsumeResult<string, string>>();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (results.Count < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Consumed {results.Count} of {count} messages.");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null || result.IsPartitionEOF) continue;
            results.Add(result);
        }
        return results;
    }
}
