using Confluent.Kafka;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The group coordinator as Kafka's behaves, seen from real clients: the initial rebalance delay and the exact
/// incremental callbacks of cooperative-sticky.
/// </summary>
public sealed class GroupsCoordinatorConformanceTests
{
    private static readonly TimeSpan JustAfter = TimeSpan.FromMilliseconds(500);

    /// <summary>The assignment changes a consumer's callbacks saw, empty incremental ones left out, as (kind, count).</summary>
    private static List<(string Kind, int Count)> Calls(GroupConsumer consumer, int skip = 0) =>
        consumer.Snapshot().Skip(skip).Where(e => e.Partitions.Count > 0).Select(e => (e.Kind, e.Partitions.Count)).ToList();

    [Fact]
    public async Task SecondConsumerJoiningJustAfterTheFirst_FormsOneGeneration_WithKafkasDefaultDelay()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "delayed", group = "delayed-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 4);

        using var first = new GroupConsumer("first", server.BootstrapServers, group, topic);
        await Task.Delay(JustAfter, TestContext.Current.CancellationToken);
        using var second = new GroupConsumer("second", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => first.Assignment.Count == 2 && second.Assignment.Count == 2, "the consumers share 4 partitions");

        // One generation: each consumer was assigned its share once; the first never held all 4 and gave 2 back.
        Assert.Equal([("assigned", 2)], Calls(first));
        Assert.Equal([("assigned", 2)], Calls(second));
    }

    [Fact]
    public async Task CooperativeSticky_JoinAndLeave_CallOnlyTheIncrementalAssignsAndRevokesKafkaDoes()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "incremental", group = "incremental-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 6);
        Action<ConsumerConfig> cooperative = c => c.PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky;

        using var first = new GroupConsumer("coop-a", server.BootstrapServers, group, topic, cooperative);
        await Task.Delay(JustAfter, TestContext.Current.CancellationToken);
        using var second = new GroupConsumer("coop-b", server.BootstrapServers, group, topic, cooperative);
        await Eventually.HoldsAsync(() => first.Assignment.Count == 3 && second.Assignment.Count == 3, "two consumers share 6 partitions");
        Assert.Equal([("assigned", 3)], Calls(first));
        Assert.Equal([("assigned", 3)], Calls(second));

        // A third member: each of the others revokes exactly the one partition that moves, keeps its other two
        // throughout, and the newcomer is assigned the two it gets (Kafka's two-round incremental rebalance).
        int firstBefore = first.Snapshot().Count, secondBefore = second.Snapshot().Count;
        var keptByFirst = first.Assignment;
        var third = new GroupConsumer("coop-c", server.BootstrapServers, group, topic, cooperative);
        await Eventually.HoldsAsync(() => first.Assignment.Count == 2 && second.Assignment.Count == 2 && third.Assignment.Count == 2,
            "three consumers share 6 partitions");
        Assert.Equal([("revoked", 1)], Calls(first, firstBefore));
        Assert.Equal([("revoked", 1)], Calls(second, secondBefore));
        Assert.Equal([("assigned", 2)], Calls(third));
        Assert.Subset(keptByFirst, first.Assignment);

        // The third leaves: the others are assigned its partitions, one each, and revoke nothing.
        firstBefore = first.Snapshot().Count;
        secondBefore = second.Snapshot().Count;
        third.Close();
        third.Dispose();
        await Eventually.HoldsAsync(() => first.Assignment.Count == 3 && second.Assignment.Count == 3, "two consumers share 6 partitions again");
        Assert.Equal([("assigned", 1)], Calls(first, firstBefore));
        Assert.Equal([("assigned", 1)], Calls(second, secondBefore));
        Assert.DoesNotContain(first.Snapshot().Concat(second.Snapshot()), e => e.Kind == "lost");
    }
}
