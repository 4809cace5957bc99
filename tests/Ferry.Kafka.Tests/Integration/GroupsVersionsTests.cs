using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Which versions of the group APIs librdkafka (Confluent.Kafka 2.16) actually sends to Ferry, read from its
/// protocol debug log: every one must be answered without a version error.
/// </summary>
public sealed partial class GroupsVersionsTests
{
    // librdkafka names OffsetDelete "OffsetDeleteRequest", hence "OffsetDeleteRequestRequest" in its log.
    [GeneratedRegex(@"Sent (\w+?)(?:Request)?Request \(v(\d+)")]
    private static partial Regex SentRequest();

    [Fact]
    public async Task Librdkafka_NegotiatesTheGroupApis()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "versions";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 2);
        var sent = new ConcurrentDictionary<string, ConcurrentDictionary<short, bool>>();
        void Record(LogMessage log)
        {
            foreach (Match match in SentRequest().Matches(log.Message)) sent.GetOrAdd(match.Groups[1].Value, _ => new())[short.Parse(match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)] = true;
        }

        using (var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
               {
                   BootstrapServers = server.BootstrapServers, GroupId = "versions-group", Debug = "protocol",
                   SessionTimeoutMs = 6000, HeartbeatIntervalMs = 200, EnableAutoCommit = false,
               }).SetLogHandler((_, log) => Record(log)).Build())
        {
            consumer.Subscribe(topic);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (consumer.Assignment.Count < 2 || !sent.ContainsKey("Heartbeat"))
            {
                Assert.True(DateTime.UtcNow < deadline, "the consumer did not join and heartbeat");
                consumer.Consume(TimeSpan.FromMilliseconds(100));
            }
            consumer.Commit([new TopicPartitionOffset(topic, 0, 1)]);
            consumer.Close();
        }
        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = server.BootstrapServers, Debug = "protocol" })
                   .SetLogHandler((_, log) => Record(log)).Build())
        {
            await admin.DescribeConsumerGroupsAsync(["versions-group"]);
            admin.ListGroups(TimeSpan.FromSeconds(10));
            await admin.ListConsumerGroupOffsetsAsync([new ConsumerGroupTopicPartitions("versions-group", null)]);
            await admin.DeleteConsumerGroupOffsetsAsync("versions-group", [new TopicPartition(topic, 0)]);
            await admin.DeleteGroupsAsync(["versions-group"]);
        }

        var groupApis = sent.Where(kv => kv.Key is "FindCoordinator" or "JoinGroup" or "SyncGroup" or "Heartbeat" or "LeaveGroup"
                or "OffsetCommit" or "OffsetFetch" or "ListGroups" or "DescribeGroups" or "DeleteGroups" or "OffsetDelete")
            .OrderBy(kv => kv.Key, StringComparer.Ordinal).ToList();
        TestContext.Current.TestOutputHelper?.WriteLine(string.Join(", ", sent.OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => $"{kv.Key} v{string.Join("/", kv.Value.Keys.Order())}")));
        Assert.Equal(11, groupApis.Count);
        // librdkafka 2.16 offers OffsetCommit and OffsetFetch v9 (KIP-848's versions, same meaning for classic
        // groups); a broker that stops at v8 makes it fall back, which is how the gap was noticed.
        Assert.Contains((short)9, sent["OffsetCommit"].Keys);
        Assert.Contains((short)9, sent["OffsetFetch"].Keys);
    }
}
