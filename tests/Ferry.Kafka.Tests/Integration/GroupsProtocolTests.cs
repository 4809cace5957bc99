using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The group protocol at the wire, with a bare client beside Confluent.Kafka: session expiry of a member
/// whose heartbeats stop, the member-id handshake and static membership.
/// </summary>
public sealed class GroupsProtocolTests
{
    internal static JoinGroupRequest Join(string group, string memberId, string topic, string? instanceId = null) => new()
    {
        GroupId = group,
        MemberId = memberId,
        GroupInstanceId = instanceId,
        SessionTimeoutMs = 6000,
        RebalanceTimeoutMs = 10000,
        ProtocolType = "consumer",
        Protocols = [new JoinGroupRequest.JoinGroupRequestProtocol { Name = "range", Metadata = RawKafkaClient.Subscription(topic) }],
    };

    [Fact]
    public async Task MemberWhoseHeartbeatsStop_IsExpiredAfterItsSessionTimeout_AndItsPartitionsMove()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "expiry", group = "expiry-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 4);
        using var survivor = new GroupConsumer("survivor", server.BootstrapServers, group, topic);
        await Eventually.HoldsAsync(() => survivor.Assignment.Count == 4, "the first consumer owns all 4 partitions");

        // A second member joins at the wire, takes its share, then falls silent without leaving: a killed process.
        using var silent = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var required = await silent.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic));
        Assert.Equal(ErrorCodes.MemberIdRequired, required.ErrorCode);
        var joined = await silent.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, required.MemberId, topic));
        Assert.Equal(ErrorCodes.None, joined.ErrorCode);
        Assert.NotEqual(joined.MemberId, joined.Leader);
        var synced = await silent.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 3, new SyncGroupRequest
        {
            GroupId = group, GenerationId = joined.GenerationId, MemberId = joined.MemberId,
        });
        Assert.Equal(ErrorCodes.None, synced.ErrorCode);
        Assert.NotEmpty(synced.Assignment);
        var silentSince = DateTime.UtcNow;
        await Eventually.HoldsAsync(() => survivor.Assignment.Count == 2, "the first consumer gives up 2 partitions");

        await Eventually.HoldsAsync(() => survivor.Assignment.Count == 4, "the expired member's partitions move back", TimeSpan.FromSeconds(20));
        Assert.True(DateTime.UtcNow - silentSince >= TimeSpan.FromSeconds(5), "expired before its session timeout");

        var heartbeat = await silent.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 3, new HeartbeatRequest
        {
            GroupId = group, GenerationId = joined.GenerationId, MemberId = joined.MemberId,
        });
        Assert.Equal(ErrorCodes.UnknownMemberId, heartbeat.ErrorCode);
    }

    [Fact]
    public async Task StaticMember_RejoiningWithTheSameInstanceId_ReplacesTheOldMemberWithoutARebalance()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "static", group = "static-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 2);
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);

        // Static members skip MEMBER_ID_REQUIRED. Alone in the group, each becomes the leader and assigns.
        var leader = await client.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic, "leader-instance"));
        Assert.Equal(ErrorCodes.None, leader.ErrorCode);
        Assert.Equal(leader.MemberId, leader.Leader);
        using var other = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var secondJoin = other.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic, "follower-instance"));
        // The new member starts a rebalance; the leader learns it from its heartbeat and rejoins. The join travels on
        // another connection, so a heartbeat may still come first and find the group stable: ask until it does not.
        HeartbeatResponse heartbeat;
        var deadline = DateTime.UtcNow.AddSeconds(20);
        do
        {
            heartbeat = await client.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 3, new HeartbeatRequest
            {
                GroupId = group, GenerationId = leader.GenerationId, MemberId = leader.MemberId, GroupInstanceId = "leader-instance",
            });
            if (heartbeat.ErrorCode == ErrorCodes.None) await Task.Delay(50);
        }
        while (heartbeat.ErrorCode == ErrorCodes.None && DateTime.UtcNow < deadline);
        Assert.Equal(ErrorCodes.RebalanceInProgress, heartbeat.ErrorCode);
        var rejoined = await client.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, leader.MemberId, topic, "leader-instance"));
        var follower = await secondJoin;
        Assert.Equal(rejoined.GenerationId, follower.GenerationId);
        Assert.Equal(2, rejoined.Members.Count);
        Assert.Empty(follower.Members);

        var followerSync = other.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 3, new SyncGroupRequest
        {
            GroupId = group, GenerationId = follower.GenerationId, MemberId = follower.MemberId, GroupInstanceId = "follower-instance",
        });
        var leaderSync = await client.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 3, new SyncGroupRequest
        {
            GroupId = group, GenerationId = rejoined.GenerationId, MemberId = rejoined.MemberId, GroupInstanceId = "leader-instance",
            Assignments =
            [
                new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = rejoined.MemberId, Assignment = [1] },
                new SyncGroupRequest.SyncGroupRequestAssignment { MemberId = follower.MemberId, Assignment = [2] },
            ],
        });
        Assert.Equal([1], leaderSync.Assignment);
        Assert.Equal([2], (await followerSync).Assignment);

        // The follower's process restarts: same instance id, no member id. It replaces the old member at once.
        using var restarted = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var replaced = await restarted.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic, "follower-instance"));
        Assert.Equal(ErrorCodes.None, replaced.ErrorCode);
        Assert.NotEqual(follower.MemberId, replaced.MemberId);
        Assert.Equal(follower.GenerationId, replaced.GenerationId);
        var resynced = await restarted.SendAsync<SyncGroupResponse>(ApiKeys.SyncGroup, 3, new SyncGroupRequest
        {
            GroupId = group, GenerationId = replaced.GenerationId, MemberId = replaced.MemberId, GroupInstanceId = "follower-instance",
        });
        Assert.Equal([2], resynced.Assignment);

        // The old incarnation is fenced; the leader saw no rebalance.
        var fenced = await other.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 3, new HeartbeatRequest
        {
            GroupId = group, GenerationId = follower.GenerationId, MemberId = follower.MemberId, GroupInstanceId = "follower-instance",
        });
        Assert.Equal(ErrorCodes.FencedInstanceId, fenced.ErrorCode);
        var stable = await client.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 3, new HeartbeatRequest
        {
            GroupId = group, GenerationId = rejoined.GenerationId, MemberId = rejoined.MemberId, GroupInstanceId = "leader-instance",
        });
        Assert.Equal(ErrorCodes.None, stable.ErrorCode);
    }

    [Fact]
    public async Task LeaveGroupV3_RemovesABatchOfMembersByInstanceId()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "batch-leave", group = "batch-leave-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 1);
        using var first = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        using var second = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var a = await first.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic, "a"));
        var bJoin = second.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, "", topic, "b"));
        await Eventually.HoldsAsync(() => Heartbeat(first, group, a, "a").GetAwaiter().GetResult() == ErrorCodes.RebalanceInProgress, "b's join starts a rebalance");
        await first.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 5, Join(group, a.MemberId, topic, "a"));
        var b = await bJoin;

        var left = await first.SendAsync<LeaveGroupResponse>(ApiKeys.LeaveGroup, 4, new LeaveGroupRequest
        {
            GroupId = group,
            Members =
            [
                new LeaveGroupRequest.MemberIdentity { MemberId = "", GroupInstanceId = "a" },
                new LeaveGroupRequest.MemberIdentity { MemberId = b.MemberId, GroupInstanceId = "b" },
                new LeaveGroupRequest.MemberIdentity { MemberId = "", GroupInstanceId = "nobody" },
            ],
        });
        Assert.Equal(ErrorCodes.None, left.ErrorCode);
        Assert.Equal([ErrorCodes.None, ErrorCodes.None, ErrorCodes.UnknownMemberId], left.Members.Select(m => m.ErrorCode));
        var described = await first.SendAsync<DescribeGroupsResponse>(ApiKeys.DescribeGroups, 5, new DescribeGroupsRequest { Groups = [group] });
        Assert.Equal("Empty", described.Groups.Single().GroupState);
        Assert.Empty(described.Groups.Single().Members);
    }

    [Fact]
    public async Task Shutdown_AnswersAJoinGroupThatIsStillWaiting()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "stopping", group = "stopping-group";
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, topic, 1);
        using var first = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var leader = await first.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 2, Join(group, "", topic));
        Assert.Equal(ErrorCodes.None, leader.ErrorCode);

        // The second join waits for the leader to rejoin, which it never does: only the shutdown ends it.
        using var second = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var waiting = second.SendAsync<JoinGroupResponse>(ApiKeys.JoinGroup, 2, Join(group, "", topic));
        await Eventually.HoldsAsync(() => Heartbeat(first, group, leader).GetAwaiter().GetResult() == ErrorCodes.RebalanceInProgress,
            "the group is rebalancing");
        Assert.False(waiting.IsCompleted);

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await server.StopAsync();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {stopwatch.Elapsed}");
        Assert.Equal(ErrorCodes.CoordinatorNotAvailable, (await waiting).ErrorCode);
    }

    private static async Task<short> Heartbeat(RawKafkaClient client, string group, JoinGroupResponse joined, string? instanceId = null) =>
        (await client.SendAsync<HeartbeatResponse>(ApiKeys.Heartbeat, 3, new HeartbeatRequest
        {
            GroupId = group, GenerationId = joined.GenerationId, MemberId = joined.MemberId, GroupInstanceId = instanceId,
        })).ErrorCode;

    [Fact]
    public async Task OffsetCommit_WithMetadata_IsFetchedBack_InOldAndNewVersions()
    {
        await using var server = await FerryServer.StartAsync();
        await GroupsTests.CreateTopicAsync(server.BootstrapServers, "meta", 2);
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        await CommitAsync(client, "meta-group", "meta", (0, 42, "first"), (1, 7, null));

        var v1 = await client.SendAsync<OffsetFetchResponse>(ApiKeys.OffsetFetch, 1, new OffsetFetchRequest
        {
            GroupId = "meta-group",
            Topics = [new OffsetFetchRequest.OffsetFetchRequestTopic { Name = "meta", PartitionIndexes = [0, 1] }],
        });
        var partitions = v1.Topics.Single().Partitions.OrderBy(p => p.PartitionIndex).ToList();
        Assert.Equal([42L, 7L], partitions.Select(p => p.CommittedOffset));
        Assert.Equal("first", partitions[0].Metadata);

        var all = await FetchAllAsync(client, "meta-group");
        Assert.Equal([(0, 42L, "first"), (1, 7L, (string?)null)], all);

        // v8 asks for several groups at once; a group without offsets answers -1.
        var both = await client.SendAsync<OffsetFetchResponse>(ApiKeys.OffsetFetch, 8, new OffsetFetchRequest
        {
            Groups =
            [
                new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "meta-group", Topics = [new() { Name = "meta", PartitionIndexes = [1] }] },
                new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = "no-such-group", Topics = [new() { Name = "meta", PartitionIndexes = [0] }] },
            ],
        });
        Assert.Equal(["meta-group", "no-such-group"], both.Groups.Select(g => g.GroupId));
        Assert.Equal([7L, -1L], both.Groups.Select(g => g.Topics.Single().Partitions.Single().CommittedOffset));

        var unknownTopic = await client.SendAsync<OffsetCommitResponse>(ApiKeys.OffsetCommit, 8, new OffsetCommitRequest
        {
            GroupId = "meta-group",
            Topics = [new OffsetCommitRequest.OffsetCommitRequestTopic { Name = "meta", Partitions = [new() { PartitionIndex = 9, CommittedOffset = 1 }] }],
        });
        Assert.Equal(ErrorCodes.UnknownTopicOrPartition, unknownTopic.Topics.Single().Partitions.Single().ErrorCode);
    }

    internal static async Task CommitAsync(RawKafkaClient client, string group, string topic, params (int Partition, long Offset, string? Metadata)[] offsets)
    {
        var response = await client.SendAsync<OffsetCommitResponse>(ApiKeys.OffsetCommit, 8, new OffsetCommitRequest
        {
            GroupId = group,
            GenerationIdOrMemberEpoch = -1,
            MemberId = "",
            Topics =
            [
                new OffsetCommitRequest.OffsetCommitRequestTopic
                {
                    Name = topic,
                    Partitions = offsets.Select(o => new OffsetCommitRequest.OffsetCommitRequestPartition
                    {
                        PartitionIndex = o.Partition, CommittedOffset = o.Offset, CommittedMetadata = o.Metadata,
                    }).ToList(),
                },
            ],
        });
        Assert.All(response.Topics.Single().Partitions, p => Assert.Equal(ErrorCodes.None, p.ErrorCode));
    }

    /// <summary>Every committed offset of the group, by OffsetFetch v8 (multi-group form, null topics).</summary>
    internal static async Task<List<(int Partition, long Offset, string? Metadata)>> FetchAllAsync(RawKafkaClient client, string group)
    {
        var response = await client.SendAsync<OffsetFetchResponse>(ApiKeys.OffsetFetch, 8, new OffsetFetchRequest
        {
            Groups = [new OffsetFetchRequest.OffsetFetchRequestGroup { GroupId = group, Topics = null }],
        });
        var fetched = response.Groups.Single();
        Assert.Equal(ErrorCodes.None, fetched.ErrorCode);
        return fetched.Topics.SelectMany(t => t.Partitions.Select(p => (p.PartitionIndex, p.CommittedOffset, p.Metadata)))
            .OrderBy(p => p.PartitionIndex).ToList();
    }
}
