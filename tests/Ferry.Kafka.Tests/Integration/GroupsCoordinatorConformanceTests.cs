using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The group coordinator as Kafka's behaves, seen from real clients: the initial rebalance delay, static
/// members restarting (KIP-345, KIP-814), the exact incremental callbacks of cooperative-sticky, members
/// exceeding max.poll.interval.ms, ListGroups v5 filters and DescribeGroups' authorized operations.
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

    [Fact]
    public async Task StaticLeader_RestartedWithItsInstanceId_GetsItsAssignmentBack_WithoutARebalance()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "static-leader", group = "static-leader-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 4);
        static Action<ConsumerConfig> Static(string instance) => c =>
        {
            c.GroupInstanceId = instance;
            c.SessionTimeoutMs = 30_000;
        };

        // Alone at first, the leader-to-be is the group's leader from its first generation on.
        var leader = new GroupConsumer("leader", server.BootstrapServers, group, topic, Static("leader-instance"));
        await Eventually.HoldsAsync(() => leader.Assignment.Count == 4, "the first consumer owns all 4 partitions");
        using var follower = new GroupConsumer("follower", server.BootstrapServers, group, topic, Static("follower-instance"));
        await Eventually.HoldsAsync(() => leader.Assignment.Count == 2 && follower.Assignment.Count == 2, "the consumers share 4 partitions");
        var leaderPartitions = leader.Assignment;
        int followerBefore = follower.Snapshot().Count;

        // The leader's process restarts: a static member sends no LeaveGroup and comes back under its instance id.
        leader.Close();
        leader.Dispose();
        using var restarted = new GroupConsumer("leader", server.BootstrapServers, group, topic, Static("leader-instance"));
        await Eventually.HoldsAsync(() => restarted.Assignment.Count == 2, "the restarted leader is assigned its partitions");

        Assert.Equal(leaderPartitions, restarted.Assignment);
        Assert.Equal([("assigned", 2)], Calls(restarted));
        // Give a rebalance, had one started, time to reach the follower through its heartbeats (500 ms).
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.Empty(Calls(follower, followerBefore));
        Assert.Equal(2, follower.Assignment.Count);
    }

    [Fact]
    public async Task StaticLeader_RejoiningWithJoinGroupV9_IsToldToSkipAssignment_AndKeepsItsAssignment()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "skip-assignment", group = "skip-assignment-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 2);
        using var a = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        using var b = await RawKafkaClient.ConnectAsync(server.KafkaPort);

        // Both static members join one generation (the initial delay holds the first for the second).
        var aJoin = a.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 9, GroupsProtocolTests.Join(group, "", topic, "a"));
        var bJoined = await b.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 9, GroupsProtocolTests.Join(group, "", topic, "b"));
        var aJoined = await aJoin;
        Assert.Equal(aJoined.Leader, bJoined.Leader);
        // The two joins race on two connections: whichever the coordinator saw first leads.
        bool aLeads = aJoined.MemberId == aJoined.Leader;
        var (leader, leaderJoined, leaderId) = aLeads ? (a, aJoined, "a") : (b, bJoined, "b");
        var (follower, followerJoined, followerId) = aLeads ? (b, bJoined, "b") : (a, aJoined, "a");
        Assert.False(leaderJoined.SkipAssignment);
        var followerSync = follower.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 5, new SyncGroupRequest
        {
            GroupId = group, GenerationId = followerJoined.GenerationId, MemberId = followerJoined.MemberId, GroupInstanceId = followerId,
            ProtocolType = "consumer", ProtocolName = "range",
        });
        var leaderSync = await leader.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 5, new SyncGroupRequest
        {
            GroupId = group, GenerationId = leaderJoined.GenerationId, MemberId = leaderJoined.MemberId, GroupInstanceId = leaderId,
            ProtocolType = "consumer", ProtocolName = "range",
            Assignments =
            [
                new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = leaderJoined.MemberId, Assignment = [1] },
                new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = followerJoined.MemberId, Assignment = [2] },
            ],
        });
        Assert.Equal([1], leaderSync.Assignment);
        Assert.Equal([2], (await followerSync).Assignment);

        // The leader restarts: same instance id, no member id. KIP-814: the current generation, every member,
        // leadership, and SkipAssignment, so that it does not assign anew; its SyncGroup returns what it had.
        using var restarted = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var rejoined = await restarted.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 9, GroupsProtocolTests.Join(group, "", topic, leaderId));
        Assert.Equal(ErrorCodes.None, rejoined.ErrorCode);
        Assert.True(rejoined.SkipAssignment);
        Assert.Equal(leaderJoined.GenerationId, rejoined.GenerationId);
        Assert.Equal(rejoined.MemberId, rejoined.Leader);
        Assert.Equal(["a", "b"], rejoined.Members.Select(m => m.GroupInstanceId).Order());
        var resynced = await restarted.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 5, new SyncGroupRequest
        {
            GroupId = group, GenerationId = rejoined.GenerationId, MemberId = rejoined.MemberId, GroupInstanceId = leaderId,
            ProtocolType = "consumer", ProtocolName = "range",
        });
        Assert.Equal([1], resynced.Assignment);

        // No rebalance: the follower's heartbeat in the same generation is answered without error.
        var heartbeat = await follower.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 4, new HeartbeatRequest
        {
            GroupId = group, GenerationId = followerJoined.GenerationId, MemberId = followerJoined.MemberId, GroupInstanceId = followerId,
        });
        Assert.Equal(ErrorCodes.None, heartbeat.ErrorCode);
    }

    [Fact]
    public async Task ConsumerExceedingMaxPollInterval_LeavesTheGroup_AndRejoinsOnItsNextPoll()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "slow-poll", group = "slow-poll-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 4);
        using var steady = new GroupConsumer("steady", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => steady.Assignment.Count == 4, "the steady consumer owns all 4 partitions");

        using var slow = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = server.BootstrapServers, GroupId = group, ClientId = "slow", EnableAutoCommit = false,
            SessionTimeoutMs = 6000, HeartbeatIntervalMs = 500, MaxPollIntervalMs = 6000,
        }).Build();
        slow.Subscribe(topic);
        // Rebalances progress only while the consumer is polled.
        void PollUntil(Func<bool> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!condition())
            {
                Assert.True(DateTime.UtcNow < deadline, what);
                slow.Consume(TimeSpan.FromMilliseconds(100));
            }
        }
        PollUntil(() => slow.Assignment.Count == 2, "the slow consumer was not assigned 2 partitions");
        await Eventually.HoldsAsync(() => steady.Assignment.Count == 2, "the steady consumer gives up 2 partitions");

        // The application stops polling: past max.poll.interval.ms the client leaves the group (LeaveGroup with
        // its reason) and the coordinator hands the partitions to the steady consumer at once.
        var stalled = DateTime.UtcNow;
        await Eventually.HoldsAsync(() => steady.Assignment.Count == 4, "the stalled consumer's partitions move", TimeSpan.FromSeconds(30));
        Assert.True(DateTime.UtcNow - stalled >= TimeSpan.FromSeconds(5), "moved before max.poll.interval.ms");

        // Its next poll reports the timeout, then it rejoins as a new member and, polled on, gets its share back.
        var error = Assert.Throws<ConsumeException>(() => slow.Consume(TimeSpan.FromSeconds(1)));
        Assert.Equal(ErrorCode.Local_MaxPollExceeded, error.Error.Code);
        PollUntil(() => slow.Assignment.Count == 2 && steady.Assignment.Count == 2, "the slow consumer did not rejoin and take 2 partitions");
        slow.Close();
    }

    [Fact]
    public async Task ListGroupsV5_FiltersByTypeAndState_AndNamesTheClassicType()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "listed";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 1);
        using var consumer = new GroupConsumer("listed", server.BootstrapServers, "listed-stable", topic);
        await Eventually.HoldsAsync(() => consumer.Assignment.Count == 1, "the consumer is assigned");
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        await GroupsProtocolTests.CommitAsync(client, "listed-empty", topic, (0, 0, null));

        async Task<List<(string Id, string Type, string State)>> ListAsync(List<string> types, List<string> states) =>
            (await client.SendAsync<ListGroupsResponse>(ApiKeys.ListGroups, 5, new ListGroupsRequest { TypesFilter = types, StatesFilter = states }))
            .Groups.Select(g => (g.GroupId, g.GroupType, g.GroupState)).OrderBy(g => g.GroupId, StringComparer.Ordinal).ToList();

        Assert.Equal([("listed-empty", "classic", "Empty"), ("listed-stable", "classic", "Stable")], await ListAsync([], []));
        Assert.Equal(2, (await ListAsync(["Classic"], [])).Count);
        Assert.Empty(await ListAsync(["consumer"], []));
        Assert.Equal([("listed-stable", "classic", "Stable")], await ListAsync(["classic"], ["stable"]));
    }

    [Fact]
    public async Task DescribeGroups_AnswersAuthorizedOperations_OnlyWhenAsked()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "authorized";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 1);
        using var consumer = new GroupConsumer("authorized", server.BootstrapServers, "authorized-group", topic);
        await Eventually.HoldsAsync(() => consumer.Assignment.Count == 1, "the consumer is assigned");

        using var admin = Clients.Admin(server);
        var asked = (await admin.DescribeConsumerGroupsAsync(["authorized-group"], new DescribeConsumerGroupsOptions { IncludeAuthorizedOperations = true }))
            .ConsumerGroupDescriptions.Single();
        // Without an authorizer Kafka answers every operation a group supports.
        Assert.Equal([AclOperation.Read, AclOperation.Delete, AclOperation.Describe], asked.AuthorizedOperations!.Order());
        var notAsked = (await admin.DescribeConsumerGroupsAsync(["authorized-group"])).ConsumerGroupDescriptions.Single();
        Assert.Null(notAsked.AuthorizedOperations);
    }
}
