using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Broker.Groups;
using Ferry.Broker.Transactions;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Exactly-once consume-transform-produce (KIP-98) on three real processes: a Confluent.Kafka application reads
/// <c>eos-in</c>, writes one output per input to <c>eos-out</c> and commits its input offsets in the same transaction,
/// while, in the middle of a transaction (outputs and offsets sent, not committed), first the node coordinating its
/// transactional id (the leader of its <c>__transaction_state</c> partition) and then the leader of an output partition
/// is SIGKILLed. Whatever the application sees (a commit that goes through on the new coordinator, or an error after
/// which it restarts: a new producer fences the old one and the work is redone from the committed offsets), a
/// read_committed consumer must find every input's output exactly once and nothing of an aborted transaction.
/// </summary>
public sealed class TransactionFailoverTests(ITestOutputHelper output)
{
    private const string Input = "eos-in";
    private const string Output = "eos-out";
    private const string Group = "eos-app";
    private const string TransactionalId = "eos-app-1";
    private const int Inputs = 400;
    private const int BatchSize = 10;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ConsumeTransformProduce_IsExactlyOnce_AcrossSigkillsOfTheCoordinatorAndOfAPartitionLeader_MidTransaction()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3);
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([
            new TopicSpecification { Name = Input, NumPartitions = 2, ReplicationFactor = 3 },
            new TopicSpecification { Name = Output, NumPartitions = 2, ReplicationFactor = 3 },
        ]);
        await WaitFullIsrAsync(cluster, admin, Input, Output, OffsetsTopic.Name, TransactionStateTopic.Name);

        using (var seed = new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true, Acks = Acks.All,
        }).Build())
        {
            for (int i = 0; i < Inputs; i++)
                seed.Produce(new TopicPartition(Input, i % 2), new Message<string, string> { Key = "k", Value = i.ToString(CultureInfo.InvariantCulture) });
            seed.Flush(TimeSpan.FromSeconds(60));
        }

        var app = new Application(cluster.BootstrapServers, output);
        var running = Task.Factory.StartNew(app.Run, TaskCreationOptions.LongRunning);
        await cluster.WaitUntilAsync("the application commits transactions", () => Task.FromResult(app.Committed >= 5 * BatchSize || running.IsCompleted));

        // 1: the transaction coordinator dies while a transaction is open.
        Pause(cluster, app);
        int coordinator = LeaderOf(admin, TransactionStateTopic.Name, TransactionStateTopic.PartitionFor(TransactionalId, PartitionCount(admin, TransactionStateTopic.Name)));
        await KillAndResumeAsync(cluster, app, coordinator, "the transaction coordinator");
        // The next transaction stays open while the node returns, so that the application cannot finish meanwhile.
        Pause(cluster, app);
        await cluster.Node(coordinator).StartAsync();
        await WaitFullIsrAsync(cluster, admin, Input, Output, OffsetsTopic.Name, TransactionStateTopic.Name);

        // 2: the leader of an output partition the open transaction wrote to dies (one that is not the coordinator, when there is one).
        int newCoordinator = LeaderOf(admin, TransactionStateTopic.Name, TransactionStateTopic.PartitionFor(TransactionalId, PartitionCount(admin, TransactionStateTopic.Name)));
        var leaders = Enumerable.Range(0, 2).Select(p => LeaderOf(admin, Output, p)).ToList();
        int partitionLeader = leaders.FirstOrDefault(l => l != newCoordinator, leaders[0]);
        await KillAndResumeAsync(cluster, app, partitionLeader, "an output partition's leader");
        await cluster.Node(partitionLeader).StartAsync();

        await cluster.WaitUntilAsync("every input is processed", () => Task.FromResult(app.Committed >= Inputs || running.IsCompleted), TimeSpan.FromSeconds(240));
        app.Stop();
        await running.WaitAsync(TimeSpan.FromSeconds(120));
        Assert.True(app.Committed >= Inputs, $"the application stopped at {app.Committed}: {app.Failure}\n{cluster.Logs()}");

        var committed = Clients.ReadToEnd(cluster.BootstrapServers, Output, 2, IsolationLevel.ReadCommitted);
        var uncommitted = Clients.ReadToEnd(cluster.BootstrapServers, Output, 2, IsolationLevel.ReadUncommitted);
        output.WriteLine($"{app.Transactions} transactions committed, {app.Restarts} application restarts; " +
            $"{committed.Count} committed outputs, {uncommitted.Count} outputs in all (aborted ones included)");
        var duplicates = committed.GroupBy(v => v).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(duplicates.Count == 0, $"outputs committed twice: {string.Join(", ", duplicates.Take(20))}");
        Assert.Equal(Enumerable.Range(0, Inputs).Select(i => $"out-{i}").Order(StringComparer.Ordinal), committed.Order(StringComparer.Ordinal));
        Assert.True(uncommitted.Count >= committed.Count);
    }

    private static void Pause(ClusterHarness cluster, Application app) =>
        Assert.True(app.PauseMidTransaction(TimeSpan.FromSeconds(120)), $"the application never reached the middle of a transaction: {app.Failure}\n{cluster.Logs()}");

    /// <summary>SIGKILLs <paramref name="node"/> while the application is paused mid-transaction, lets it go on, and waits until it commits again.</summary>
    private async Task KillAndResumeAsync(ClusterHarness cluster, Application app, int node, string role)
    {
        long before = app.Committed;
        await cluster.Node(node).KillAsync();
        output.WriteLine($"{role} (node {node}) SIGKILLed mid-transaction at {before} inputs committed");
        app.Resume();
        try
        {
            await cluster.WaitUntilAsync($"the application commits again after {role}'s SIGKILL",
                () => Task.FromResult(app.Committed >= Math.Min(Inputs, before + 3 * BatchSize)), TimeSpan.FromSeconds(180));
        }
        catch (TimeoutException)
        {
            // The tail of each log seldom shows why: the whole story of every node, and where the application waits.
            output.WriteLine($"the application is {app.Phase} at {app.Committed} inputs committed; its producer's last log lines:\n{app.ProducerLog}");
            foreach (var n in cluster.Nodes) output.WriteLine($"--- node {n.NodeId} ---\n{n.Output}");
            throw;
        }
    }

    private static async Task WaitFullIsrAsync(ClusterHarness cluster, IAdminClient admin, params string[] topics) =>
        await cluster.WaitUntilAsync($"{string.Join(", ", topics)} have leaders and full ISRs", () =>
        {
            try
            {
                var metadata = admin.GetMetadata(Timeout).Topics;
                return Task.FromResult(topics.All(name => metadata.Any(t => t.Topic == name && t.Error.Code == ErrorCode.NoError && t.Partitions.Count > 0
                    && t.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == 3))));
            }
            catch (KafkaException)
            {
                return Task.FromResult(false);
            }
        }, TimeSpan.FromSeconds(120));

    private static int PartitionCount(IAdminClient admin, string topic) => admin.GetMetadata(topic, Timeout).Topics[0].Partitions.Count;

    private static int LeaderOf(IAdminClient admin, string topic, int partition) =>
        admin.GetMetadata(topic, Timeout).Topics[0].Partitions.Single(p => p.PartitionId == partition).Leader;

    /// <summary>
    /// The application: transactions of <see cref="BatchSize"/> inputs each, over an assigned (not subscribed) consumer
    /// whose position starts at the group's committed offsets. Any failure restarts it whole: a new producer with the
    /// same transactional id (its InitTransactions fences the old one and ends its transaction) and a new consumer.
    /// </summary>
    private sealed class Application(string bootstrap, ITestOutputHelper output)
    {
        private readonly ManualResetEventSlim _pauseRequested = new();
        private readonly ManualResetEventSlim _paused = new();
        private readonly ManualResetEventSlim _resume = new();
        private volatile bool _stop;
        private long _committed;

        /// <summary>Inputs whose transaction committed (as the application was told).</summary>
        public long Committed => Interlocked.Read(ref _committed);
        public int Transactions { get; private set; }
        public int Restarts { get; private set; }
        public string? Failure { get; private set; }

        /// <summary>What the application is doing now (a stall's report says where it waits).</summary>
        public string Phase { get; private set; } = "starting";

        /// <summary>The transactional producer's last log lines (librdkafka's transaction debug): what it waits for.</summary>
        public string ProducerLog
        {
            get { lock (_producerLog) return string.Join('\n', _producerLog); }
        }

        private readonly Queue<string> _producerLog = new();

        private void Record(LogMessage message)
        {
            lock (_producerLog)
            {
                _producerLog.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {message.Facility} {message.Message}");
                while (_producerLog.Count > 300) _producerLog.Dequeue();
            }
        }

        /// <summary>Asks the application to stop between sending a transaction's outputs and offsets and committing it; true once it has.</summary>
        public bool PauseMidTransaction(TimeSpan timeout)
        {
            _resume.Reset();
            _paused.Reset();
            _pauseRequested.Set();
            return _paused.Wait(timeout);
        }

        public void Resume() => _resume.Set();

        public void Stop()
        {
            _stop = true;
            _resume.Set();
        }

        public void Run()
        {
            while (!_stop && Committed < Inputs)
            {
                try
                {
                    RunOnce();
                }
                catch (KafkaException e)
                {
                    Restarts++;
                    Failure = e.Message;
                    output.WriteLine($"application restarts after: {e.Error.Code} {e.Message}");
                }
            }
        }

        private void RunOnce()
        {
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = bootstrap,
                TransactionalId = TransactionalId,
                Acks = Acks.All,
                LingerMs = 5,
                TransactionTimeoutMs = 300_000, // open across a node's restart
                MessageTimeoutMs = 60_000,
                SocketTimeoutMs = 10_000,
                TopicMetadataRefreshIntervalMs = 1000,
                Debug = "eos",
            }).SetLogHandler((_, message) => Record(message)).Build();
            Phase = "initializing transactions";
            producer.InitTransactions(TimeSpan.FromSeconds(90));
            using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
            {
                BootstrapServers = bootstrap,
                GroupId = Group,
                EnableAutoCommit = false,
                AutoOffsetReset = AutoOffsetReset.Earliest,
                IsolationLevel = IsolationLevel.ReadCommitted,
                TopicMetadataRefreshIntervalMs = 1000,
            }).Build();
            var partitions = new[] { new TopicPartition(Input, 0), new TopicPartition(Input, 1) };
            // With require_stable (KIP-447) the committed offsets wait for the transaction a predecessor left open.
            Phase = "reading the committed offsets";
            var start = consumer.Committed(partitions, TimeSpan.FromSeconds(60));
            consumer.Assign(start.Select(c => c.Offset.Value < 0 ? new TopicPartitionOffset(c.TopicPartition, Offset.Beginning) : c));
            Interlocked.Exchange(ref _committed, start.Sum(c => Math.Max(0, c.Offset.Value)));
            while (!_stop && Committed < Inputs)
            {
                Phase = $"consuming inputs from {string.Join(", ", consumer.Assignment.Select(tp => $"{tp.Partition.Value}@{consumer.Position(tp)}"))}";
                var batch = new List<ConsumeResult<string, string>>();
                var deadline = DateTime.UtcNow.AddSeconds(30);
                while (batch.Count < BatchSize && Committed + batch.Count < Inputs && DateTime.UtcNow < deadline)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { Message: not null } result) batch.Add(result);
                }
                if (batch.Count == 0) continue;
                producer.BeginTransaction();
                var next = new Dictionary<TopicPartition, TopicPartitionOffset>();
                foreach (var input in batch)
                {
                    producer.Produce(new TopicPartition(Output, input.Partition.Value), new Message<string, string> { Key = "k", Value = $"out-{input.Message.Value}" });
                    next[input.TopicPartition] = new TopicPartitionOffset(input.TopicPartition, input.Offset + 1);
                }
                Phase = "sending offsets";
                producer.SendOffsetsToTransaction(next.Values, consumer.ConsumerGroupMetadata, TimeSpan.FromSeconds(60));
                Phase = "flushing outputs";
                producer.Flush(TimeSpan.FromSeconds(60));
                if (_pauseRequested.IsSet)
                {
                    _pauseRequested.Reset();
                    _paused.Set();
                    _resume.Wait();
                }
                Phase = "committing";
                producer.CommitTransaction(TimeSpan.FromSeconds(90));
                Transactions++;
                Interlocked.Add(ref _committed, batch.Count);
            }
        }
    }
}
