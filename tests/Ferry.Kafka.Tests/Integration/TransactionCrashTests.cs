using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Exactly-once consume-transform-produce across a SIGKILL of the real ferry process in the middle of a transaction:
/// the transaction log brings the open transaction back, so its producer commits it after the restart, or a new
/// producer with the same transactional id aborts it and redoes the work.
/// </summary>
public sealed class TransactionCrashTests
{
    private const int Inputs = 20;

    private static ProducerConfig TransactionalConfig(string bootstrap, string transactionalId) => new()
    {
        BootstrapServers = bootstrap,
        TransactionalId = transactionalId,
        Acks = Acks.All,
        LingerMs = 5,
        TransactionTimeoutMs = 60_000,
        MessageTimeoutMs = 60_000,
    };

    private static ConsumerConfig GroupConfig(string bootstrap) => new()
    {
        BootstrapServers = bootstrap,
        GroupId = "txn-crash",
        EnableAutoCommit = false,
        AutoOffsetReset = AutoOffsetReset.Earliest,
        IsolationLevel = IsolationLevel.ReadCommitted,
    };

    /// <summary>Starts ferry, seeds the input, and runs one committed transaction of 10 and one open one of 10.</summary>
    private static async Task<(FerryProcess Ferry, IProducer<string, string> Producer)> RunUntilMidTransactionAsync(string data, int port)
    {
        var ferry = await FerryProcess.StartOnPortAsync(data, port, "--log-level", "Warning");
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = ferry.BootstrapServers }).Build())
        {
            await admin.CreateTopicsAsync([
                new TopicSpecification { Name = "txn-in", NumPartitions = 2, ReplicationFactor = 1 },
                new TopicSpecification { Name = "txn-out", NumPartitions = 2, ReplicationFactor = 1 },
            ]);
        }
        using (var seed = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = ferry.BootstrapServers, EnableIdempotence = true }).Build())
        {
            for (int i = 0; i < Inputs; i++) seed.Produce(new TopicPartition("txn-in", i % 2), new Message<string, string> { Key = "k", Value = $"{i}" });
            seed.Flush(TimeSpan.FromSeconds(30));
        }
        var producer = new ProducerBuilder<string, string>(TransactionalConfig(ferry.BootstrapServers, "txn-crash-app")).Build();
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        using var consumer = new ConsumerBuilder<string, string>(GroupConfig(ferry.BootstrapServers)).Build();
        consumer.Subscribe("txn-in");
        TransactionsTests.ProcessBatch(consumer, producer, 10, commit: true);
        TransactionsTests.ProcessBatch(consumer, producer, 10, commit: false); // flushed: outputs and offsets acknowledged, not committed
        consumer.Close();
        return (ferry, producer);
    }

    private static List<string> ReadCommittedOutputs(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "txn-crash-check-" + Guid.NewGuid().ToString("N"),
            IsolationLevel = IsolationLevel.ReadCommitted,
            EnablePartitionEof = true,
            EnableAutoCommit = false,
        }).Build();
        consumer.Assign([new TopicPartitionOffset("txn-out", 0, Offset.Beginning), new TopicPartitionOffset("txn-out", 1, Offset.Beginning)]);
        var values = new List<string>();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (atEnd.Count < 2 && DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            if (result.IsPartitionEOF) atEnd.Add(result.Partition.Value);
            else values.Add(result.Message.Value);
        }
        return values;
    }

    private static long CommittedTotal(string bootstrap)
    {
        using var consumer = new ConsumerBuilder<string, string>(GroupConfig(bootstrap)).Build();
        var committed = consumer.Committed([new TopicPartition("txn-in", 0), new TopicPartition("txn-in", 1)], TimeSpan.FromSeconds(30));
        return committed.Sum(c => c.Offset.Value < 0 ? 0 : c.Offset.Value);
    }

    [Fact]
    public async Task BrokerSigkilledMidTransaction_TheProducerCommitsItAfterTheRestart()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-txn-crash-" + Guid.NewGuid().ToString("N"));
        int port = FerryProcess.FreePort();
        var (ferry, producer) = await RunUntilMidTransactionAsync(data, port);
        using (producer)
        {
            ferry.Signal("KILL");
            await ferry.Process.WaitForExitAsync();
            await ferry.DisposeAsync();

            await using var restarted = await FerryProcess.StartOnPortAsync(data, port, "--log-level", "Warning");
            producer.CommitTransaction(TimeSpan.FromSeconds(60));

            Assert.Equal(Enumerable.Range(0, Inputs).Select(i => $"out-{i}").Order(), ReadCommittedOutputs(restarted.BootstrapServers).Order());
            Assert.Equal(Inputs, CommittedTotal(restarted.BootstrapServers));
        }
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task BrokerSigkilledMidTransaction_ANewProducerAbortsIt_AndTheWorkIsDoneExactlyOnce()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-txn-crash-" + Guid.NewGuid().ToString("N"));
        int port = FerryProcess.FreePort();
        var (ferry, zombie) = await RunUntilMidTransactionAsync(data, port);
        ferry.Signal("KILL");
        await ferry.Process.WaitForExitAsync();
        await ferry.DisposeAsync();
        zombie.Dispose(); // the application died with the broker

        await using (var restarted = await FerryProcess.StartOnPortAsync(data, FerryProcess.FreePort(), "--log-level", "Warning"))
        {
            // The open transaction is back from the log; the new producer's InitTransactions aborts it.
            using var producer = new ProducerBuilder<string, string>(TransactionalConfig(restarted.BootstrapServers, "txn-crash-app")).Build();
            producer.InitTransactions(TimeSpan.FromSeconds(30));
            using var consumer = new ConsumerBuilder<string, string>(GroupConfig(restarted.BootstrapServers)).Build();
            consumer.Subscribe("txn-in");
            TransactionsTests.ProcessBatch(consumer, producer, 10, commit: true);
            consumer.Close();

            Assert.Equal(Enumerable.Range(0, Inputs).Select(i => $"out-{i}").Order(), ReadCommittedOutputs(restarted.BootstrapServers).Order());
            Assert.Equal(Inputs, CommittedTotal(restarted.BootstrapServers));
        }
        Directory.Delete(data, recursive: true);
    }
}
