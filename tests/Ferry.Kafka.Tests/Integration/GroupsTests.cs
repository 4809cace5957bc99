using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Consumer groups through Confluent.Kafka: partitions shared, handed over and resumed from commits.</summary>
public sealed class GroupsTests
{
    internal static async Task CreateTopicAsync(string bootstrap, string topic, int partitions)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = partitions, ReplicationFactor = 1 }]);
    }

    internal static async Task ProduceAsync(string bootstrap, string topic, int partitions, int count, string prefix)
    {
        using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 1 }).Build();
        var sends = Enumerable.Range(0, count).Select(i =>
            producer.ProduceAsync(new TopicPartition(topic, i % partitions), new Message<string, string> { Key = $"{prefix}{i}", Value = $"{prefix}{i}" }));
        await Task.WhenAll(sends);
    }

    private static bool SplitsExactly(IReadOnlyList<GroupConsumer> consumers, string topic, int partitions)
    {
        var assignments = consumers.Select(c => c.Assignment).ToList();
        if (assignments.Any(a => a.Count == 0)) return false;
        var all = assignments.SelectMany(a => a).ToList();
        return all.Count == partitions && all.Distinct().Count() == partitions && all.All(p => p.Topic == topic);
    }

    [Theory]
    [InlineData(PartitionAssignmentStrategy.Range)]
    [InlineData(PartitionAssignmentStrategy.RoundRobin)]
    [InlineData(PartitionAssignmentStrategy.CooperativeSticky)]
    public async Task TwoThenThreeConsumers_SplitThePartitionsWithoutOverlap(PartitionAssignmentStrategy strategy)
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "split";
        await CreateTopicAsync(server.BootstrapServers, topic, 6);
        Action<ConsumerConfig> assignor = c => c.PartitionAssignmentStrategy = strategy;

        using var first = new GroupConsumer("c1", server.BootstrapServers, "split-group", topic, assignor);
        using var second = new GroupConsumer("c2", server.BootstrapServers, "split-group", topic, assignor);
        await Eventually.HoldsAsync(() => SplitsExactly([first, second], topic, 6) && first.Assignment.Count == 3,
            "two consumers share 6 partitions");

        using var third = new GroupConsumer("c3", server.BootstrapServers, "split-group", topic, assignor);
        await Eventually.HoldsAsync(() => SplitsExactly([first, second, third], topic, 6) && first.Assignment.Count == 2 && second.Assignment.Count == 2,
            "three consumers share 6 partitions");
    }

    [Fact]
    public async Task MemberThatLeaves_HandsOverItsPartitions_WithoutRedelivery()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "handover";
        await CreateTopicAsync(server.BootstrapServers, topic, 4);

        using var stays = new GroupConsumer("stays", server.BootstrapServers, "handover-group", topic);
        var leaves = new GroupConsumer("leaves", server.BootstrapServers, "handover-group", topic);
        await Eventually.HoldsAsync(() => SplitsExactly([stays, leaves], topic, 4), "two consumers share 4 partitions");
        await ProduceAsync(server.BootstrapServers, topic, 4, 100, "a");
        await Eventually.HoldsAsync(() => stays.Received.Count + leaves.Received.Count >= 100, "the first 100 messages are consumed");
        leaves.Close();
        leaves.Dispose();
        Assert.NotEmpty(leaves.Received);

        await Eventually.HoldsAsync(() => stays.Assignment.Count == 4, "the remaining consumer owns all 4 partitions");
        await ProduceAsync(server.BootstrapServers, topic, 4, 100, "b");
        await Eventually.HoldsAsync(() => stays.Received.Count(r => r.Message.Value.StartsWith('b')) == 100, "the next 100 messages are consumed");

        var all = stays.Received.Concat(leaves.Received).ToList();
        var duplicates = all.GroupBy(r => (r.Partition.Value, r.Offset.Value)).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.Empty(duplicates);
        Assert.Equal(200, all.Count);
    }

    [Fact]
    public async Task CooperativeSticky_SecondConsumer_RevokesOnlySomePartitionsFromTheFirst()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "cooperative";
        await CreateTopicAsync(server.BootstrapServers, topic, 6);
        Action<ConsumerConfig> cooperative = c => c.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;

        using var first = new GroupConsumer("coop1", server.BootstrapServers, "coop-group", topic, cooperative);
        await Eventually.HoldsAsync(() => first.Assignment.Count == 6, "the first consumer owns all 6 partitions");
        int eventsBefore = first.Snapshot().Count;

        using var second = new GroupConsumer("coop2", server.BootstrapServers, "coop-group", topic, cooperative);
        await Eventually.HoldsAsync(() => SplitsExactly([first, second], topic, 6) && first.Assignment.Count == 3,
            "the consumers share 6 partitions 3 and 3");

        var after = first.Snapshot().Skip(eventsBefore).ToList();
        var revoked = after.Where(e => e.Kind is "revoked" or "lost").SelectMany(e => e.Partitions).ToList();
        // Incremental: the first consumer gave up exactly the three partitions that moved and kept the rest throughout.
        Assert.Equal(3, revoked.Count);
        Assert.Empty(revoked.Intersect(first.Assignment));
        Assert.Equal(revoked.ToHashSet(), second.Assignment);
        Assert.DoesNotContain(after, e => e.Kind == "lost");
    }

    [Fact]
    public async Task DescribeAndListGroups_ShowMembersAndAssignments()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "described";
        await CreateTopicAsync(server.BootstrapServers, topic, 4);
        using var first = new GroupConsumer("d1", server.BootstrapServers, "described-group", topic);
        using var second = new GroupConsumer("d2", server.BootstrapServers, "described-group", topic);
        await Eventually.HoldsAsync(() => SplitsExactly([first, second], topic, 4), "two consumers share 4 partitions");

        using var admin = Clients.Admin(server);
        ConsumerGroupDescription? described = null;
        await Eventually.HoldsAsync(() =>
        {
            described = admin.DescribeConsumerGroupsAsync(["described-group"]).GetAwaiter().GetResult().ConsumerGroupDescriptions.Single();
            return described.State == ConsumerGroupState.Stable;
        }, "the group is described as stable");
        Assert.Equal("described-group", described!.GroupId);
        Assert.Equal(2, described.Members.Count);
        Assert.Equal(["d1", "d2"], described.Members.Select(m => m.ClientId).Order());
        Assert.All(described.Members, m => Assert.Equal(2, m.Assignment.TopicPartitions.Count));
        Assert.Equal(4, described.Members.SelectMany(m => m.Assignment.TopicPartitions).Distinct().Count());
        Assert.All(described.Members, m => Assert.Equal("/127.0.0.1", m.Host));

        var listed = admin.ListGroups(TimeSpan.FromSeconds(10));
        var group = Assert.Single(listed, g => g.Group == "described-group");
        Assert.Equal("consumer", group.ProtocolType);
        Assert.Equal("Stable", group.State);
    }

    [Fact]
    public async Task AdminSurface_ShowsMembersAssignmentsAndLag()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "lag";
        await CreateTopicAsync(server.BootstrapServers, topic, 2);
        using var first = new GroupConsumer("l1", server.BootstrapServers, "lag-group", topic);
        using var second = new GroupConsumer("l2", server.BootstrapServers, "lag-group", topic);
        await Eventually.HoldsAsync(() => SplitsExactly([first, second], topic, 2), "two consumers share 2 partitions");
        await ProduceAsync(server.BootstrapServers, topic, 2, 10, "x");
        await Eventually.HoldsAsync(() => first.Received.Count + second.Received.Count == 10, "the group consumes 10 messages");
        using (var client = await RawKafkaClient.ConnectAsync(server.KafkaPort))
        {
            await GroupsProtocolTests.CommitAsync(client, "lag-tool", topic, (0, 2, "behind"));
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{server.HttpPort}") };
        using var group = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/groups/lag-group", TestContext.Current.CancellationToken));
        var root = group.RootElement;
        Assert.Equal("Stable", root.GetProperty("state").GetString());
        var members = root.GetProperty("members").EnumerateArray().ToList();
        Assert.Equal(["l1", "l2"], members.Select(m => m.GetProperty("clientId").GetString()).Order());
        Assert.All(members, m => Assert.Single(m.GetProperty("assignment").EnumerateArray()));
        Assert.All(root.GetProperty("offsets").EnumerateArray(), o => Assert.Equal((5, 5, 0),
            (o.GetProperty("committedOffset").GetInt64(), o.GetProperty("logEndOffset").GetInt64(), o.GetProperty("lag").GetInt64())));

        using var tool = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/groups/lag-tool", TestContext.Current.CancellationToken));
        var offset = tool.RootElement.GetProperty("offsets").EnumerateArray().Single();
        Assert.Equal((2, "behind", 3), (offset.GetProperty("committedOffset").GetInt64(), offset.GetProperty("metadata").GetString(), offset.GetProperty("lag").GetInt64()));
        Assert.Equal(3, tool.RootElement.GetProperty("totalLag").GetInt64());

        var all = await http.GetStringAsync("/api/groups", TestContext.Current.CancellationToken);
        Assert.Contains("\"lag-group\"", all, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync("/api/groups/nobody", TestContext.Current.CancellationToken)).StatusCode);
    }

    [Fact]
    public async Task DeleteOffsetsAndGroups_RefuseWhileInUse_ThenDelete()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "deleted", group = "deleted-group";
        await CreateTopicAsync(server.BootstrapServers, topic, 1);
        await ProduceAsync(server.BootstrapServers, topic, 1, 3, "d");
        using var admin = Clients.Admin(server);
        var consumer = new GroupConsumer("del", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => consumer.Received.Count == 3, "the group consumes 3 messages");

        var subscribed = await Assert.ThrowsAsync<DeleteConsumerGroupOffsetsException>(() =>
            admin.DeleteConsumerGroupOffsetsAsync(group, [new TopicPartition(topic, 0)]));
        Assert.Equal(ErrorCode.GroupSubscribedToTopic, subscribed.Result.Partitions.Single().Error.Code);
        var busy = await Assert.ThrowsAsync<DeleteGroupsException>(() => admin.DeleteGroupsAsync([group]));
        Assert.Equal(ErrorCode.NonEmptyGroup, busy.Results.Single().Error.Code);

        consumer.Close();
        consumer.Dispose();
        await Eventually.HoldsAsync(() => admin.DescribeConsumerGroupsAsync([group]).GetAwaiter().GetResult()
            .ConsumerGroupDescriptions.Single().State == ConsumerGroupState.Empty, "the group is empty");
        await admin.DeleteConsumerGroupOffsetsAsync(group, [new TopicPartition(topic, 0)]);
        using (var client = await RawKafkaClient.ConnectAsync(server.KafkaPort))
        {
            Assert.Empty(await GroupsProtocolTests.FetchAllAsync(client, group));
        }
        await admin.DeleteGroupsAsync([group]);
        Assert.DoesNotContain(admin.ListGroups(TimeSpan.FromSeconds(10)), g => g.Group == group);
        var missing = await Assert.ThrowsAsync<DeleteGroupsException>(() => admin.DeleteGroupsAsync([group]));
        Assert.Equal(ErrorCode.GroupIdNotFound, missing.Results.Single().Error.Code);
    }

    [Fact]
    public async Task AssignOnlyConsumer_CommitsAndFetchesOffsets()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "assigned";
        await CreateTopicAsync(server.BootstrapServers, topic, 2);
        await ProduceAsync(server.BootstrapServers, topic, 2, 20, "m");

        using (var consumer = Clients.Consumer(server, c => c.GroupId = "assign-only"))
        {
            consumer.Assign([new TopicPartitionOffset(topic, 0, Offset.Beginning), new TopicPartitionOffset(topic, 1, Offset.Beginning)]);
            var received = Clients.ConsumeExactly(consumer, 8);
            consumer.Commit([new TopicPartitionOffset(topic, 0, 3), new TopicPartitionOffset(topic, 1, 5)]);
            var committed = consumer.Committed([new TopicPartition(topic, 0), new TopicPartition(topic, 1)], TimeSpan.FromSeconds(10));
            Assert.Equal([3L, 5L], committed.OrderBy(c => c.Partition.Value).Select(c => c.Offset.Value));
            Assert.NotEmpty(received);
        }

        // A second assign()-only consumer with the same group starts at the committed offsets.
        using var resumed = Clients.Consumer(server, c => c.GroupId = "assign-only");
        resumed.Assign([new TopicPartitionOffset(topic, 0, Offset.Stored), new TopicPartitionOffset(topic, 1, Offset.Stored)]);
        var next = Clients.ConsumeExactly(resumed, 12);
        Assert.Equal(7, next.Count(r => r.Partition.Value == 0));
        Assert.Equal(5, next.Count(r => r.Partition.Value == 1));
        Assert.Equal(3, next.Where(r => r.Partition.Value == 0).Min(r => r.Offset.Value));
        Assert.Equal(5, next.Where(r => r.Partition.Value == 1).Min(r => r.Offset.Value));
    }
}
