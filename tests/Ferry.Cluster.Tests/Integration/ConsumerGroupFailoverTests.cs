using System.Globalization;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Broker.Groups;
using Ferry.Cluster.Tests.Harness;
using Ferry.Kafka.Tests.Integration;

namespace Ferry.Cluster.Tests.Integration;

/// <summary>
/// Scenario 7 of issue 13 on three real processes: a Confluent.Kafka group consumes and commits synchronously while
/// the node coordinating it (the leader of its <c>__consumer_offsets</c> partition) is SIGKILLed, twice. A second
/// client watches the group's committed offset through OffsetFetch all along: it never goes backwards, the consumer
/// keeps consuming and committing after each kill, and the last acknowledged commit is what the group has at the end.
/// </summary>
public sealed class ConsumerGroupFailoverTests(ITestOutputHelper output)
{
    private const string Topic = "work";
    private const string Group = "workers";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task CommittedOffsetsNeverGoBackwards_AcrossCoordinatorSigkills_AndTheGroupKeepsConsuming()
    {
        Librdkafka.EnsureLoaded();
        await using var cluster = await ClusterHarness.StartAsync(3, new Dictionary<string, string> { ["FERRY_GROUPS__INITIALREBALANCEDELAYMS"] = "0" });
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = cluster.BootstrapServers }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = Topic, NumPartitions = 1, ReplicationFactor = 3 }]);
        await cluster.WaitUntilAsync("the topic and the offsets topic have leaders and full ISRs", () => Task.FromResult(
            admin.GetMetadata(Timeout).Topics is var topics
            && topics.Any(t => t.Topic == Topic && t.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == 3))
            && topics.Any(t => t.Topic == OffsetsTopic.Name && t.Partitions.Count > 0 && t.Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == 3))));

        using var producer = new ProducerBuilder<Null, string>(new ProducerConfig
        {
            BootstrapServers = cluster.BootstrapServers, EnableIdempotence = true, Acks = Acks.All, LingerMs = 5,
        }).Build();
        for (int i = 0; i < 5000; i++) producer.Produce(Topic, new Message<Null, string> { Value = i.ToString(CultureInfo.InvariantCulture) });
        producer.Flush(TimeSpan.FromSeconds(60));

        using var stop = new CancellationTokenSource();
        long acknowledged = -1; // the last commit the consumer was told succeeded
        int failedCommits = 0;
        var consuming = Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<Ignore, string>(new ConsumerConfig
            {
                BootstrapServers = cluster.BootstrapServers, GroupId = Group, AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false,
                SessionTimeoutMs = 6000, HeartbeatIntervalMs = 500, MaxPollIntervalMs = 60_000,
            }).Build();
            consumer.Subscribe(Topic);
            int sinceCommit = 0;
            while (!stop.IsCancellationRequested)
            {
                ConsumeResult<Ignore, string>? result;
                try
                {
                    result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                }
                catch (ConsumeException)
                {
                    continue;
                }
                if (result is not { IsPartitionEOF: false, Message: not null } || ++sinceCommit < 10) continue;
                sinceCommit = 0;
                try
                {
                    consumer.Commit(result);
                    Interlocked.Exchange(ref acknowledged, Math.Max(Interlocked.Read(ref acknowledged), result.Offset.Value + 1));
                }
                catch (KafkaException)
                {
                    Interlocked.Increment(ref failedCommits); // the coordinator moved: the next commit goes to the new one
                }
                Thread.Sleep(20); // consume slowly, so that the stream lasts across both kills
            }
            consumer.Close();
        }, TaskCreationOptions.LongRunning);

        // A second client reads the group's committed offset through OffsetFetch, to see it never go backwards.
        var observed = new List<long>();
        var watching = Task.Factory.StartNew(() =>
        {
            using var watcher = new ConsumerBuilder<Ignore, string>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = Group }).Build();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    long offset = watcher.Committed([new TopicPartition(Topic, 0)], TimeSpan.FromSeconds(2))[0].Offset.Value;
                    if (offset >= 0) lock (observed) observed.Add(offset);
                }
                catch (KafkaException)
                {
                    // No coordinator at the moment.
                }
                Thread.Sleep(50);
            }
        }, TaskCreationOptions.LongRunning);

        await cluster.WaitUntilAsync("the group commits", () => Task.FromResult(Interlocked.Read(ref acknowledged) >= 200));
        for (int round = 0; round < 2; round++)
        {
            int coordinator = CoordinatorOf(admin);
            long before = Interlocked.Read(ref acknowledged);
            await cluster.Node(coordinator).KillAsync();
            output.WriteLine($"round {round}: coordinator {coordinator} SIGKILLed at commit {before}");
            await cluster.WaitUntilAsync($"the group commits again after coordinator {coordinator}'s SIGKILL",
                () => Task.FromResult(Interlocked.Read(ref acknowledged) >= before + 200), TimeSpan.FromSeconds(120));
            output.WriteLine($"round {round}: committing again on coordinator {CoordinatorOf(admin)} at {Interlocked.Read(ref acknowledged)}");
            await cluster.Node(coordinator).StartAsync();
            await cluster.WaitUntilAsync("the offsets topic is fully in sync again", () => Task.FromResult(
                admin.GetMetadata(OffsetsTopic.Name, Timeout).Topics[0].Partitions.All(p => p.Leader > 0 && p.InSyncReplicas.Length == 3)),
                TimeSpan.FromSeconds(120));
        }

        await stop.CancelAsync();
        await consuming.WaitAsync(TimeSpan.FromSeconds(60));
        await watching.WaitAsync(TimeSpan.FromSeconds(60));

        long last = Interlocked.Read(ref acknowledged);
        // The restarted node takes its preferred leaderships back (auto leader balance), so the coordinator may move
        // once more while this check runs: like any client, retry what the protocol calls retriable.
        using var check = new ConsumerBuilder<Ignore, string>(new ConsumerConfig { BootstrapServers = cluster.BootstrapServers, GroupId = Group }).Build();
        long final = -1;
        await cluster.WaitUntilAsync("the group's committed offset can be read", () =>
        {
            try
            {
                final = check.Committed([new TopicPartition(Topic, 0)], Timeout)[0].Offset.Value;
                return Task.FromResult(true);
            }
            catch (KafkaException e) when (e.Error.Code is ErrorCode.NotCoordinatorForGroup or ErrorCode.GroupLoadInProgress
                                               or ErrorCode.GroupCoordinatorNotAvailable or ErrorCode.Local_TimedOut)
            {
                return Task.FromResult(false);
            }
        }, TimeSpan.FromSeconds(60));
        var backwards = observed.Zip(observed.Skip(1)).Where(p => p.Second < p.First).ToList();
        output.WriteLine($"{observed.Count} offsets observed, {failedCommits} commits refused during failovers, last acknowledged {last}, final {final}");
        Assert.True(backwards.Count == 0, $"the committed offset went backwards: {string.Join(", ", backwards.Take(10))}\n{cluster.Logs()}");
        Assert.True(final >= last, $"the group has {final}, the consumer was told {last} was committed");
    }

    /// <summary>The leader of the group's <c>__consumer_offsets</c> partition, as Metadata tells it.</summary>
    private static int CoordinatorOf(IAdminClient admin)
    {
        var partitions = admin.GetMetadata(OffsetsTopic.Name, Timeout).Topics[0].Partitions;
        int index = OffsetsTopic.PartitionFor(Group, partitions.Count);
        return partitions.Single(p => p.PartitionId == index).Leader;
    }
}
