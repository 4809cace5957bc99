using Ferry.Broker.Groups;
using Ferry.Broker.Topics;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Groups;

/// <summary>A clock the test moves; timers still run on real time (these tests drive expiry by hand).</summary>
internal sealed class ManualClock : TimeProvider
{
    public DateTimeOffset Now { get; set; } = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
    public override DateTimeOffset GetUtcNow() => Now;
}

public sealed class GroupCoordinatorTests : IAsyncDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-groups-" + Guid.NewGuid().ToString("N"));
    private readonly ManualClock _clock = new();
    private TopicRegistry? _topics;
    private GroupCoordinator? _coordinator;

    // Tests that wait on the coordinator's timers need the real clock: the manual one would never reach their deadlines.
    private TimeProvider _time;

    public GroupCoordinatorTests() => _time = _clock;

    private BrokerOptions BrokerOptions => new() { DataDirectory = _data, Time = _time };

    private GroupCoordinator Open(GroupOptions? options = null)
    {
        _topics ??= TopicRegistry.Open(BrokerOptions, NullLoggerFactory.Instance);
        if (!_topics.TryGet("t", out _)) _topics.Create("t", 2);
        // No initial delay unless a test asks: the manual clock would hold every first rebalance at Kafka's 3 s.
        _coordinator = GroupCoordinator.Open(BrokerOptions, options ?? new GroupOptions { InitialRebalanceDelayMs = 0 }, _topics, NullLoggerFactory.Instance);
        return _coordinator;
    }

    private async Task<GroupCoordinator> ReopenAsync(GroupOptions? options = null)
    {
        await _coordinator!.DisposeAsync();
        return Open(options);
    }

    private static async Task CommitAsync(GroupCoordinator coordinator, string group, int partition, long offset, string? metadata = null)
    {
        var (error, partitions) = await coordinator.CommitOffsetsAsync(group, -1, "", null, [new OffsetCommitEntry("t", partition, offset, -1, metadata)]);
        Assert.Equal(GroupError.None, error);
        Assert.Equal([GroupError.None], partitions);
    }

    /// <summary>The log of the <c>__consumer_offsets</c> partition that holds <paramref name="group"/>'s offsets.</summary>
    private string OffsetsLog(string group) =>
        Path.Combine(_data, "topics", $"{OffsetsTopic.Name}-{OffsetsTopic.PartitionFor(group, OffsetsTopic.DefaultPartitions)}");

    [Fact]
    public async Task OffsetsOfTheEarlierOffsetsLog_AreMovedIntoTheOffsetsTopic_AtTheFirstStart()
    {
        // An earlier release kept every commit in DATA/__consumer_offsets/, in the same record format.
        string legacy = Path.Combine(_data, OffsetsTopic.Name);
        var log = Ferry.Storage.Log.Open(legacy, new Ferry.Storage.LogOptions(), TimeProvider.System, NullLogger.Instance);
        var builder = new RecordBatchBuilder();
        builder.Add(OffsetRecords.EncodeKey(new OffsetKey("old-g", "t", 0)), OffsetRecords.EncodeValue(new CommittedOffset(41, -1, "a", 1)), 1);
        builder.Add(OffsetRecords.EncodeKey(new OffsetKey("old-g", "t", 0)), OffsetRecords.EncodeValue(new CommittedOffset(42, 3, "b", 2)), 2);
        builder.Add(OffsetRecords.EncodeKey(new OffsetKey("old-h", "t", 1)), OffsetRecords.EncodeValue(new CommittedOffset(7, -1, null, 3)), 3);
        builder.Add(OffsetRecords.EncodeKey(new OffsetKey("gone", "t", 1)), OffsetRecords.EncodeValue(new CommittedOffset(9, -1, null, 3)), 3);
        builder.Add(OffsetRecords.EncodeKey(new OffsetKey("gone", "t", 1)), [], 4);
        Assert.True(log.Append(builder.ToArray()).Succeeded);
        await log.DisposeAsync();

        var coordinator = Open();
        Assert.False(Directory.Exists(legacy));
        Assert.Equal(new CommittedOffset(42, 3, "b", 2), Fetch(coordinator, "old-g", 0));
        Assert.Equal(7, Fetch(coordinator, "old-h", 1)!.Offset);
        Assert.Null(Fetch(coordinator, "gone", 1));

        // Moved for good: a restart reads them from the topic.
        coordinator = await ReopenAsync();
        Assert.Equal(42, Fetch(coordinator, "old-g", 0)!.Offset);
        Assert.Equal(7, Fetch(coordinator, "old-h", 1)!.Offset);
    }

    private static CommittedOffset? Fetch(GroupCoordinator coordinator, string group, int partition) =>
        coordinator.FetchOffsets(group, [("t", [partition])]).Single().Offset;

    [Fact]
    public async Task CommittedOffsets_SurviveReopen_AndTheLogIsCompactedToTheLatest()
    {
        var coordinator = Open();
        for (int i = 0; i < 200; i++) await CommitAsync(coordinator, "g", i % 2, i, $"m{i}");
        coordinator = await ReopenAsync();
        Assert.Equal(new CommittedOffset(198, -1, "m198", _clock.Now.ToUnixTimeMilliseconds()), Fetch(coordinator, "g", 0));
        Assert.Equal(199, Fetch(coordinator, "g", 1)!.Offset);

        // The reopen rewrote the two live offsets at the tail and dropped the 200 records before them.
        string log = OffsetsLog("g");
        coordinator = await ReopenAsync();
        var segments = Directory.GetFiles(log, "*.log");
        Assert.Single(segments);
        Assert.True(new FileInfo(segments[0]).Length < 1024, $"the compacted log holds {new FileInfo(segments[0]).Length} bytes");
        Assert.Equal("m199", Fetch(coordinator, "g", 1)!.Metadata);
    }

    [Fact]
    public async Task CompactionWhileRunning_DropsOldSegments_AndKeepsTheLatestOffsets()
    {
        var coordinator = Open();
        for (int i = 0; i < 100; i++) await CommitAsync(coordinator, "g", i % 2, i);
        await CommitAsync(coordinator, "h", 0, 1, "h");
        Assert.False(coordinator.CompactOffsetsIfMostlyDead(minimumRecords: 1_000));
        Assert.True(coordinator.CompactOffsetsIfMostlyDead(minimumRecords: 10));
        Assert.False(coordinator.CompactOffsetsIfMostlyDead(minimumRecords: 10));
        await CommitAsync(coordinator, "g", 1, 500);

        var segments = Directory.GetFiles(OffsetsLog("g"), "*.log");
        Assert.Single(segments);
        coordinator = await ReopenAsync();
        Assert.Equal(98, Fetch(coordinator, "g", 0)!.Offset);
        Assert.Equal(500, Fetch(coordinator, "g", 1)!.Offset);
        Assert.Equal("h", Fetch(coordinator, "h", 0)!.Metadata);
    }

    [Fact]
    public async Task DeletingATopic_DeletesEveryGroupsOffsetsForIt_Durably()
    {
        var coordinator = Open();
        _topics!.Create("other", 1);
        await CommitAsync(coordinator, "g", 0, 5);
        var (error, _) = await coordinator.CommitOffsetsAsync("g", -1, "", null, [new OffsetCommitEntry("other", 0, 9, -1, null)]);
        Assert.Equal(GroupError.None, error);

        await _topics.DeleteAsync("t");
        Assert.Null(Fetch(coordinator, "g", 0));
        coordinator = await ReopenAsync();
        Assert.Null(coordinator.FetchOffsets("g", [("t", [0])]).Single().Offset);
        Assert.Equal(9, coordinator.FetchOffsets("g", [("other", [0])]).Single().Offset!.Offset);
    }

    [Fact]
    public async Task OffsetsOfAnEmptyGroup_ExpireAfterTheRetention_Durably()
    {
        var coordinator = Open(new GroupOptions { OffsetsRetentionMinutes = 60, InitialRebalanceDelayMs = 0 });
        await CommitAsync(coordinator, "old", 0, 5);
        await CommitAsync(coordinator, "kept", 0, 6);

        _clock.Now += TimeSpan.FromMinutes(59);
        Assert.Equal(0, coordinator.ExpireOffsets());
        await CommitAsync(coordinator, "kept", 1, 7);
        _clock.Now += TimeSpan.FromMinutes(2);
        Assert.Equal(1, coordinator.ExpireOffsets());

        Assert.Null(Fetch(coordinator, "old", 0));
        Assert.DoesNotContain(coordinator.ListGroups(), g => g.GroupId == "old");
        coordinator = await ReopenAsync(new GroupOptions { OffsetsRetentionMinutes = 60, InitialRebalanceDelayMs = 0 });
        Assert.Null(Fetch(coordinator, "old", 0));
        Assert.Equal(6, Fetch(coordinator, "kept", 0)!.Offset);

        // A restart does not restart the retention: it still counts from the group's latest commit.
        _clock.Now += TimeSpan.FromMinutes(58);
        Assert.Equal(1, coordinator.ExpireOffsets());
        Assert.Null(Fetch(coordinator, "kept", 0));
    }

    [Fact]
    public async Task Summarize_ReportsLagAgainstTheHighWatermark()
    {
        var coordinator = Open();
        _topics!.TryGet("t", out var topic);
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < 10; i++) builder.Add("k"u8, "v"u8, 1);
        topic.Partitions[0].AppendRaw(builder.ToArray());
        await CommitAsync(coordinator, "lagging", 0, 3, "x");

        var summary = coordinator.Summarize("lagging")!;
        Assert.Equal(GroupState.Empty, summary.State);
        Assert.Equal([new PartitionLag("t", 0, 3, "x", 10, 7)], summary.Offsets);
    }

    [Fact]
    public async Task Join_MemberIdRequired_ThenLeaderAndStable()
    {
        var coordinator = Open();
        var request = new JoinRequest
        {
            GroupId = "g", MemberId = "", ClientId = "c", ClientHost = "/h", SessionTimeoutMs = 10_000, RebalanceTimeoutMs = 10_000,
            ProtocolType = "consumer", Protocols = [new MemberProtocol("range", [1]), new MemberProtocol("roundrobin", [2])],
            RequireKnownMemberId = true,
        };
        var first = await coordinator.JoinAsync(request);
        Assert.Equal(GroupError.MemberIdRequired, first.Error);
        Assert.StartsWith("c-", first.MemberId);

        var joined = await coordinator.JoinAsync(request with { MemberId = first.MemberId });
        Assert.Equal(GroupError.None, joined.Error);
        Assert.Equal((1, "range", first.MemberId), (joined.GenerationId, joined.ProtocolName, joined.LeaderId));
        Assert.Equal([1], Assert.Single(joined.Members).Metadata);
        Assert.Equal(GroupError.None, coordinator.Heartbeat("g", 1, first.MemberId, null));

        var synced = await coordinator.SyncAsync("g", 1, first.MemberId, null, "consumer", "range", [(first.MemberId, [9])]);
        Assert.Equal(GroupError.None, synced.Error);
        Assert.Equal([9], synced.Assignment);
        Assert.Equal(GroupState.Stable, coordinator.DescribeGroup("g").State);

        // A second member that prefers roundrobin, supported by both: the vote is tied, the leader's order wins.
        var second = coordinator.JoinAsync(request with { MemberId = "", RequireKnownMemberId = false,
            Protocols = [new MemberProtocol("roundrobin", [3]), new MemberProtocol("range", [4])] });
        Assert.False(second.IsCompleted);
        Assert.Equal(GroupError.RebalanceInProgress, coordinator.Heartbeat("g", 1, first.MemberId, null));
        var rejoined = await coordinator.JoinAsync(request with { MemberId = first.MemberId });
        Assert.Equal((2, "range", 2), (rejoined.GenerationId, rejoined.ProtocolName, rejoined.Members.Count));
        Assert.Empty((await second).Members);

        // Leaving rebalances the rest; the survivor, alone, completes the next generation on rejoin.
        Assert.Equal(GroupError.None, coordinator.Leave("g", [((await second).MemberId, null, null)]).Single().Error);
        Assert.Equal(GroupError.RebalanceInProgress, coordinator.Heartbeat("g", 2, first.MemberId, null));
        Assert.Equal(3, (await coordinator.JoinAsync(request with { MemberId = first.MemberId })).GenerationId);
    }

    [Fact]
    public async Task Rebalance_RemovesMembersThatDoNotRejoinWithinTheRebalanceTimeout()
    {
        _time = TimeProvider.System;
        var coordinator = Open();
        var request = new JoinRequest
        {
            GroupId = "g", MemberId = "", ClientId = "c", ClientHost = "/h", SessionTimeoutMs = 30_000, RebalanceTimeoutMs = 300,
            ProtocolType = "consumer", Protocols = [new MemberProtocol("range", [])],
        };
        var a = await coordinator.JoinAsync(request);
        await coordinator.SyncAsync("g", a.GenerationId, a.MemberId, null, null, null, []);
        var bJoin = coordinator.JoinAsync(request);
        var aAgain = await coordinator.JoinAsync(request with { MemberId = a.MemberId });
        var b = await bJoin;
        await Task.WhenAll(
            coordinator.SyncAsync("g", b.GenerationId, b.MemberId, null, null, null, []),
            coordinator.SyncAsync("g", aAgain.GenerationId, a.MemberId, null, null, null, []));

        // A third member arrives; only a rejoins. The join phase ends at the rebalance timeout without b.
        var c = coordinator.JoinAsync(request);
        var aThird = coordinator.JoinAsync(request with { MemberId = a.MemberId });
        var formed = await aThird.WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.Equal(2, formed.Members.Count);
        Assert.DoesNotContain(formed.Members, m => m.MemberId == b.MemberId);
        Assert.Equal(GroupError.None, (await c).Error);
        Assert.Equal(GroupError.UnknownMemberId, coordinator.Heartbeat("g", formed.GenerationId, b.MemberId, null));
    }

    [Fact]
    public async Task InitialRebalanceDelay_LetsMembersStartingTogetherFormOneGeneration()
    {
        _time = TimeProvider.System;
        var coordinator = Open(new GroupOptions { InitialRebalanceDelayMs = 300 });
        var request = new JoinRequest
        {
            GroupId = "g", MemberId = "", ClientId = "c", ClientHost = "/h", SessionTimeoutMs = 30_000, RebalanceTimeoutMs = 10_000,
            ProtocolType = "consumer", Protocols = [new MemberProtocol("range", [])],
        };
        var first = coordinator.JoinAsync(request);
        var second = coordinator.JoinAsync(request);
        Assert.False(first.IsCompleted);
        var joined = await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10), TestContext.Current.CancellationToken);
        Assert.All(joined, j => Assert.Equal(1, j.GenerationId));
        Assert.Equal(2, joined.Single(j => j.MemberId == j.LeaderId).Members.Count);
    }

    public async ValueTask DisposeAsync()
    {
        if (_coordinator is not null) await _coordinator.DisposeAsync();
        if (_topics is not null) await _topics.DisposeAsync();
        try { Directory.Delete(_data, recursive: true); } catch (IOException) { }
    }
}
