using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Kafka transactions (KIP-98) through Confluent.Kafka: commit and abort across partitions, read_committed and
/// read_uncommitted consumers, consume-transform-produce with SendOffsetsToTransaction, zombie fencing, timeouts.
/// </summary>
public sealed class TransactionsTests : IAsyncLifetime
{
    private FerryServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await FerryServer.StartAsync(new Dictionary<string, string?>
    {
        ["Transactions:AbortTimedOutTransactionCleanupIntervalMs"] = "200",
        ["Transactions:MaxTimeoutMs"] = "120000",
        ["Groups:InitialRebalanceDelayMs"] = "0",
    });

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private async Task CreateTopicAsync(string name, int partitions)
    {
        using var admin = Clients.Admin(_server);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    private IProducer<string, string> TransactionalProducer(string transactionalId, int timeoutMs = 60_000) => Clients.Producer(_server, c =>
    {
        c.TransactionalId = transactionalId;
        c.TransactionTimeoutMs = timeoutMs;
        c.MessageTimeoutMs = Math.Min(timeoutMs, 30_000);
    });

    /// <summary>Every record of the topic's partitions up to the end a consumer of this isolation level sees.</summary>
    private List<ConsumeResult<string, string>> ReadAll(string topic, int partitions, IsolationLevel isolation)
    {
        using var consumer = Clients.Consumer(_server, c =>
        {
            c.IsolationLevel = isolation;
            c.EnablePartitionEof = true;
        });
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var results = new List<ConsumeResult<string, string>>();
        var atEnd = new HashSet<int>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (atEnd.Count < partitions)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"read {results.Count} records; {atEnd.Count} of {partitions} partitions at their end");
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            if (result.IsPartitionEOF) atEnd.Add(result.Partition.Value);
            else
            {
                atEnd.Remove(result.Partition.Value);
                results.Add(result);
            }
        }
        return results;
    }

    [Fact]
    public async Task CommitAndAbort_AcrossPartitions_ReadCommittedSeesOnlyTheCommitted_ReadUncommittedSeesAll()
    {
        await CreateTopicAsync("txn-orders", 3);
        using var producer = TransactionalProducer("txn-orders-app");
        producer.InitTransactions(TimeSpan.FromSeconds(30));

        producer.BeginTransaction();
        for (int i = 0; i < 9; i++) producer.Produce(new TopicPartition("txn-orders", i % 3), new Message<string, string> { Key = "k", Value = $"committed-{i}" });
        producer.CommitTransaction(TimeSpan.FromSeconds(30));

        producer.BeginTransaction();
        for (int i = 0; i < 6; i++) producer.Produce(new TopicPartition("txn-orders", i % 3), new Message<string, string> { Key = "k", Value = $"aborted-{i}" });
        producer.Flush(TimeSpan.FromSeconds(30));
        producer.AbortTransaction(TimeSpan.FromSeconds(30));

        producer.BeginTransaction();
        for (int i = 0; i < 3; i++) producer.Produce(new TopicPartition("txn-orders", i % 3), new Message<string, string> { Key = "k", Value = $"late-{i}" });
        producer.CommitTransaction(TimeSpan.FromSeconds(30));

        var committed = ReadAll("txn-orders", 3, IsolationLevel.ReadCommitted).Select(r => r.Message.Value).Order().ToList();
        var expected = Enumerable.Range(0, 9).Select(i => $"committed-{i}").Concat(Enumerable.Range(0, 3).Select(i => $"late-{i}")).Order().ToList();
        Assert.Equal(expected, committed);

        var all = ReadAll("txn-orders", 3, IsolationLevel.ReadUncommitted).Select(r => r.Message.Value).ToList();
        Assert.Equal(18, all.Count);
        Assert.Equal(6, all.Count(v => v.StartsWith("aborted-", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task OpenTransaction_IsInvisibleToReadCommitted_UntilCommitted()
    {
        await CreateTopicAsync("txn-open", 1);
        using var producer = TransactionalProducer("txn-open-app");
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        producer.BeginTransaction();
        producer.Produce("txn-open", new Message<string, string> { Key = "k", Value = "pending" });
        producer.Flush(TimeSpan.FromSeconds(30));

        Assert.Empty(ReadAll("txn-open", 1, IsolationLevel.ReadCommitted));
        Assert.Single(ReadAll("txn-open", 1, IsolationLevel.ReadUncommitted));

        producer.CommitTransaction(TimeSpan.FromSeconds(30));
        Assert.Equal(["pending"], ReadAll("txn-open", 1, IsolationLevel.ReadCommitted).Select(r => r.Message.Value));
    }

    [Fact]
    public async Task ZombieProducer_IsFenced_AndItsOpenTransactionAborted()
    {
        await CreateTopicAsync("txn-zombie", 2);
        using var zombie = TransactionalProducer("txn-zombie-app");
        zombie.InitTransactions(TimeSpan.FromSeconds(30));
        zombie.BeginTransaction();
        zombie.Produce(new TopicPartition("txn-zombie", 0), new Message<string, string> { Key = "k", Value = "zombie" });
        zombie.Flush(TimeSpan.FromSeconds(30));

        // A new instance with the same transactional id: the old one's transaction is aborted before it is answered.
        using var successor = TransactionalProducer("txn-zombie-app");
        successor.InitTransactions(TimeSpan.FromSeconds(30));
        successor.BeginTransaction();
        successor.Produce(new TopicPartition("txn-zombie", 1), new Message<string, string> { Key = "k", Value = "successor" });
        successor.CommitTransaction(TimeSpan.FromSeconds(30));

        var error = Assert.ThrowsAny<KafkaException>(() => zombie.CommitTransaction(TimeSpan.FromSeconds(30)));
        Assert.True(error.Error.IsFatal || error.Error.Code is ErrorCode.ProducerFenced or ErrorCode.InvalidProducerEpoch, error.Error.ToString());
        Assert.Equal(["successor"], ReadAll("txn-zombie", 2, IsolationLevel.ReadCommitted).Select(r => r.Message.Value));
    }

    [Fact]
    public async Task TransactionPastItsTimeout_IsAborted_AndItsProducerFenced()
    {
        await CreateTopicAsync("txn-timeout", 1);
        using var producer = TransactionalProducer("txn-timeout-app", timeoutMs: 1500);
        producer.InitTransactions(TimeSpan.FromSeconds(30));
        producer.BeginTransaction();
        producer.Produce("txn-timeout", new Message<string, string> { Key = "k", Value = "too-slow" });
        producer.Flush(TimeSpan.FromSeconds(30));

        // The coordinator aborts it on its own: read_committed consumers are no longer held back.
        using var consumer = Clients.Consumer(_server);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (consumer.QueryWatermarkOffsets(new TopicPartition("txn-timeout", 0), TimeSpan.FromSeconds(5)).High.Value < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the timed-out transaction was never aborted");
            await Task.Delay(100);
        }
        Assert.Empty(ReadAll("txn-timeout", 1, IsolationLevel.ReadCommitted));
        Assert.ThrowsAny<KafkaException>(() => producer.CommitTransaction(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task TimeoutOverTheMaximum_IsRefused_WithInvalidTransactionTimeout()
    {
        using var producer = TransactionalProducer("txn-too-long", timeoutMs: 600_000);
        var error = Assert.ThrowsAny<KafkaException>(() => producer.InitTransactions(TimeSpan.FromSeconds(30)));
        Assert.Equal(ErrorCode.InvalidTransactionTimeout, error.Error.Code);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task ConsumeTransformProduce_ProducerKilledMidTransaction_IsExactlyOnce()
    {
        await CreateTopicAsync("txn-in", 2);
        await CreateTopicAsync("txn-out", 2);
        using (var seed = Clients.Producer(_server))
        {
            for (int i = 0; i < 40; i++) seed.Produce(new TopicPartition("txn-in", i % 2), new Message<string, string> { Key = "k", Value = $"{i}" });
            seed.Flush(TimeSpan.FromSeconds(30));
        }
        const string group = "txn-ctp";

        // First instance: one transaction of 10 committed, then one of 10 more left open as it "dies".
        var zombie = TransactionalProducer("txn-ctp-app");
        zombie.InitTransactions(TimeSpan.FromSeconds(30));
        using (var consumer = Clients.Consumer(_server, c => c.GroupId = group))
        {
            consumer.Subscribe("txn-in");
            ProcessBatch(consumer, zombie, 10, commit: true);
            ProcessBatch(consumer, zombie, 10, commit: false);
            consumer.Close();
        }

        // Its successor fences it, which aborts the open transaction: its outputs and offsets vanish.
        using var successor = TransactionalProducer("txn-ctp-app");
        successor.InitTransactions(TimeSpan.FromSeconds(30));
        using (var consumer = Clients.Consumer(_server, c => c.GroupId = group))
        {
            consumer.Subscribe("txn-in");
            ProcessBatch(consumer, successor, 30, commit: true);
            consumer.Close();
        }
        Assert.ThrowsAny<KafkaException>(() => zombie.CommitTransaction(TimeSpan.FromSeconds(30)));
        zombie.Dispose();

        var outputs = ReadAll("txn-out", 2, IsolationLevel.ReadCommitted).Select(r => r.Message.Value).ToList();
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"out-{i}").Order(), outputs.Order());
    }

    /// <summary>Reads <paramref name="count"/> inputs, writes one output each and their offsets in one transaction.</summary>
    internal static void ProcessBatch(IConsumer<string, string> consumer, IProducer<string, string> producer, int count, bool commit)
    {
        producer.BeginTransaction();
        var next = new Dictionary<TopicPartition, TopicPartitionOffset>();
        foreach (var input in Clients.ConsumeExactly(consumer, count, TimeSpan.FromSeconds(60)))
        {
            producer.Produce(new TopicPartition("txn-out", input.Partition.Value), new Message<string, string> { Key = "k", Value = $"out-{input.Message.Value}" });
            next[input.TopicPartition] = new TopicPartitionOffset(input.TopicPartition, input.Offset + 1);
        }
        producer.SendOffsetsToTransaction(next.Values, consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(30));
        if (commit) producer.CommitTransaction(TimeSpan.FromSeconds(30));
        else producer.Flush(TimeSpan.FromSeconds(30));
    }
}
