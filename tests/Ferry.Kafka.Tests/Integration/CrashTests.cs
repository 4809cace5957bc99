using System.Collections.Concurrent;
using Confluent.Kafka;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Acknowledged means kept: SIGKILL the real ferry process under load, restart, and find every acknowledged message.</summary>
public sealed class CrashTests
{
    [Fact]
    public async Task Sigkill_UnderAcksAllLoad_LosesNoAcknowledgedMessage()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-crash-" + Guid.NewGuid().ToString("N"));
        var acknowledged = new ConcurrentDictionary<string, long>();
        int kafkaPort;
        await using (var ferry = await FerryProcess.StartAsync(data))
        {
            kafkaPort = ferry.KafkaPort;
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = $"127.0.0.1:{kafkaPort}",
                EnableIdempotence = true,
                Acks = Acks.All,
                LingerMs = 2,
                MessageTimeoutMs = 5000,
            }).Build();
            int sent = 0;
            using var stop = new CancellationTokenSource();
            var load = Task.Run(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    string value = $"m{sent++}";
                    try
                    {
                        producer.Produce("crash", new Message<string, string> { Key = "k", Value = value }, report =>
                        {
                            if (report.Error.Code == ErrorCode.NoError) acknowledged[report.Message.Value] = report.Offset.Value;
                        });
                    }
                    catch (ProduceException<string, string>)
                    {
                        Thread.Sleep(1); // local queue full: let deliveries catch up
                    }
                }
            });
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (acknowledged.Count < 2000 && DateTime.UtcNow < deadline) await Task.Delay(20);
            Assert.True(acknowledged.Count >= 2000, $"only {acknowledged.Count} acknowledged");

            ferry.Signal("KILL"); // in the middle of the stream
            await ferry.Process.WaitForExitAsync();
            stop.Cancel();
            await load;
            producer.Flush(TimeSpan.FromSeconds(6)); // remaining deliveries fail; only acks before the kill count
        }
        var snapshot = acknowledged.ToDictionary();

        await using var restarted = await FerryProcess.StartAsync(data);
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = $"127.0.0.1:{restarted.KafkaPort}",
            GroupId = "crash-check",
            EnableAutoCommit = false,
        }).Build();
        var high = consumer.QueryWatermarkOffsets(new TopicPartition("crash", 0), TimeSpan.FromSeconds(10)).High.Value;
        consumer.Assign(new TopicPartitionOffset("crash", 0, Offset.Beginning));
        var stored = new Dictionary<string, long>();
        var readDeadline = DateTime.UtcNow.AddSeconds(30);
        while (stored.Count < high && DateTime.UtcNow < readDeadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result?.Message is not null) stored[result.Message.Value] = result.Offset.Value;
        }

        var missing = snapshot.Where(a => !stored.TryGetValue(a.Key, out long offset) || offset != a.Value).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {snapshot.Count} acknowledged messages missing or moved, e.g. {string.Join(", ", missing.Take(5))}");
    }

    [Fact]
    public async Task Sigkill_AfterDeleteRecords_KeepsTheNewLogStart()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-trim-" + Guid.NewGuid().ToString("N"));
        var partition = new TopicPartition("trim", 0);
        await using (var ferry = await FerryProcess.StartAsync(data))
        {
            using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = ferry.BootstrapServers, Acks = Acks.All }).Build())
            {
                for (int i = 0; i < 10; i++) await producer.ProduceAsync("trim", new Message<string, string> { Key = "k", Value = $"v{i}" });
            }
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = ferry.BootstrapServers }).Build();
            var deleted = await admin.DeleteRecordsAsync([new TopicPartitionOffset(partition, 6)]);
            Assert.Equal(6, deleted.Single().Offset.Value);

            ferry.Signal("KILL"); // right after the answer: no clean shutdown to write the start down
            await ferry.Process.WaitForExitAsync();
        }

        await using var restarted = await FerryProcess.StartAsync(data);
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = restarted.BootstrapServers,
            GroupId = "trim-check",
            EnableAutoCommit = false,
        }).Build();
        var watermarks = consumer.QueryWatermarkOffsets(partition, TimeSpan.FromSeconds(10));
        Assert.Equal((6L, 10L), (watermarks.Low.Value, watermarks.High.Value));
        consumer.Assign(new TopicPartitionOffset(partition, Offset.Beginning));
        var first = consumer.Consume(TimeSpan.FromSeconds(10));
        Assert.Equal((6L, "v6"), (first.Offset.Value, first.Message.Value));
    }

    [Fact]
    public async Task Sigterm_WithAConsumerLongPolling_ExitsPromptlyAndCleanly()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-term-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartAsync(data);
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = $"127.0.0.1:{ferry.KafkaPort}",
            GroupId = "term",
            FetchWaitMaxMs = 5000,
        }).Build();
        consumer.Assign(new TopicPartitionOffset("term", 0, Offset.Beginning));
        using (var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = $"127.0.0.1:{ferry.KafkaPort}" }).Build())
            await producer.ProduceAsync("term", new Message<string, string> { Key = "k", Value = "v" });
        Assert.NotNull(consumer.Consume(TimeSpan.FromSeconds(10))); // now it long-polls at the end of the log

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        ferry.Signal("TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ferry.Process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, ferry.Process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        Assert.True(File.Exists(Path.Combine(data, "topics", "term-0", ".clean-shutdown")));
    }
}
