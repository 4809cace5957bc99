using Confluent.Kafka;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The real ferry process on a filesystem that runs out of space under a producer: appends that cannot be
/// written are refused with KAFKA_STORAGE_ERROR (the connection stays up), no acknowledged record is lost, and
/// producing works again once space returns, before and after a restart.
/// </summary>
public sealed class DiskFullTests
{
    [Fact]
    public async Task Produce_DiskFull_RefusedWithStorageError_NothingAcknowledgedLost_ResumesWhenSpaceReturns()
    {
        Librdkafka.EnsureLoaded();
        using var fs = SmallFilesystem.Mount(24L << 20);
        string data = Path.Combine(fs.Path, "data");
        const string topic = "full";
        var acknowledged = new List<string>();
        var errors = new List<ErrorCode>();

        await using (var ferry = await FerryProcess.StartAsync(data))
        {
            using (var producer = Producer(ferry))
            {
                Assert.Equal(PersistenceStatus.Persisted, (await producer.ProduceAsync(topic, new Message<Null, string> { Value = "first" })).Status);
                acknowledged.Add("first");
                fs.Fill(leaveFree: 256 * 1024);

                // 2 MiB into 256 KiB: the appends that do not fit fail; each delivery report says which.
                for (int i = 0; i < 2048; i++)
                {
                    string value = $"v{i:D5}-" + new string('x', 1000);
                    producer.Produce(topic, new Message<Null, string> { Value = value }, report =>
                    {
                        lock (acknowledged)
                        {
                            if (report.Error.IsError) errors.Add(report.Error.Code);
                            else acknowledged.Add(report.Message.Value);
                        }
                    });
                }
                Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(60)));
            }
            Assert.NotEmpty(errors);
            Assert.All(errors, code => Assert.Equal(ErrorCode.KafkaStorageError, code));
            Assert.False(ferry.Process.HasExited, ferry.Output);

            fs.Release();
            using (var producer = Producer(ferry))
            {
                for (int i = 0; i < 50; i++)
                {
                    var result = await producer.ProduceAsync(topic, new Message<Null, string> { Value = $"after-{i}" });
                    Assert.Equal(PersistenceStatus.Persisted, result.Status);
                    acknowledged.Add($"after-{i}");
                }
            }
            AssertAllPresent(ferry, topic, acknowledged);
            ferry.Signal("TERM");
            await ferry.Process.WaitForExitAsync();
        }

        await using (var restarted = await FerryProcess.StartAsync(data))
        {
            AssertAllPresent(restarted, topic, acknowledged);
        }
    }

    private static IProducer<Null, string> Producer(FerryProcess ferry) => new ProducerBuilder<Null, string>(new ProducerConfig
    {
        BootstrapServers = ferry.BootstrapServers,
        Acks = Acks.All,
        // No retries: each refused append shows in its own delivery report with the broker's error code.
        MessageSendMaxRetries = 0,
        EnableIdempotence = false,
        LingerMs = 5,
        BatchSize = 16 * 1024,
    }).Build();

    private static void AssertAllPresent(FerryProcess ferry, string topic, List<string> acknowledged)
    {
        using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
        {
            BootstrapServers = ferry.BootstrapServers,
            GroupId = "check-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long expectedOffset = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!acknowledged.All(seen.Contains) && DateTime.UtcNow < deadline)
        {
            var record = consumer.Consume(TimeSpan.FromSeconds(1));
            if (record is null || record.IsPartitionEOF) continue;
            Assert.Equal(expectedOffset++, record.Offset.Value);
            seen.Add(record.Message.Value);
        }
        var missing = acknowledged.Where(v => !seen.Contains(v)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {acknowledged.Count} acknowledged records missing, first: {missing.FirstOrDefault()?[..8]}");
    }
}
