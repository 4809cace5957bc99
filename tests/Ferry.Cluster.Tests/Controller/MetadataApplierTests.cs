using Ferry.Broker;
using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>
/// A voter's applier feeding a broker-only node's (<see cref="MetadataApplier.ReadAfter"/>): the node ends with the
/// voter's image and topics whether it gets the exact entries or a snapshot, and never a snapshot of unknown index.
/// </summary>
public sealed class MetadataApplierTests : IAsyncDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "ferry-applier-" + Guid.NewGuid().ToString("N"));
    private readonly List<TopicRegistry> _registries = [];

    private MetadataApplier Applier(int nodeId, bool keepRecent, out TopicRegistry topics)
    {
        topics = TopicRegistry.Open(new BrokerOptions { DataDirectory = Path.Combine(_root, $"node-{nodeId}") }, NullLoggerFactory.Instance);
        _registries.Add(topics);
        return new MetadataApplier(nodeId, topics, NullLogger.Instance, keepRecent);
    }

    private static MetadataRecord Register(int id) =>
        new() { Type = MetadataRecordType.RegisterNode, NodeId = id, KafkaHost = "127.0.0.1", KafkaPort = 9000 + id, HttpEndPoint = "http://x" };

    private static MetadataRecord CreateTopic(string name) =>
        new() { Type = MetadataRecordType.CreateTopic, Topic = name, TopicId = Guid.NewGuid(), Assignments = [[1, 4], [4, 1]] };

    /// <summary>Applies what a voter answered, as the broker-only node does.</summary>
    private static async Task FollowAsync(MetadataApplier node, MetadataFeedReply reply)
    {
        if (reply.Snapshot is { } snapshot) await node.RestoreAsync(snapshot, reply.AppliedIndex);
        else foreach (var entry in reply.Records) await node.ApplyAsync(entry.Index, entry.Record);
        if (reply.AppliedIndex > node.AppliedIndex) await node.ApplyAsync(reply.AppliedIndex, null);
    }

    [Fact]
    public async Task ABrokerOnlyNodeFollowingTheEntries_HoldsTheVotersImageAndTopics()
    {
        var voter = Applier(1, keepRecent: true, out _);
        var node = Applier(4, keepRecent: false, out var nodeTopics);
        var roles = new List<PartitionRoleChange>();
        using var subscription = node.Subscribe(roles.Add);
        await voter.ApplyAsync(1, null);
        await voter.ApplyAsync(2, Register(1));
        await voter.ApplyAsync(3, Register(4));
        await voter.ApplyAsync(4, CreateTopic("t"));

        var reply = voter.ReadAfter(0, 500, "c", 1)!;
        Assert.Null(reply.Snapshot);
        Assert.Equal([2L, 3L, 4L], reply.Records.Select(r => r.Index));
        await FollowAsync(node, reply);

        Assert.Equal(4, node.AppliedIndex);
        Assert.Equal(voter.Image.Serialize(), node.Image.Serialize());
        Assert.True(nodeTopics.TryGet("t", out var local) && local.Partitions.Count == 2);
        Assert.Equal([PartitionRole.Follower, PartitionRole.Leader], roles.Select(r => r.Role));
        // Caught up: nothing new, and the index it has.
        var idle = voter.ReadAfter(4, 500, "c", 1)!;
        Assert.Empty(idle.Records);
        Assert.Equal(4, idle.AppliedIndex);
    }

    [Fact]
    public async Task ABrokerOnlyNodeBehindTheRing_GetsASnapshotAtItsIndex()
    {
        var voter = Applier(1, keepRecent: true, out _);
        var node = Applier(4, keepRecent: false, out var nodeTopics);
        await voter.ApplyAsync(1, Register(1));
        await voter.ApplyAsync(2, Register(4));
        await voter.ApplyAsync(3, CreateTopic("kept"));
        for (int i = 4; i <= RecentMetadataRecords.Capacity + 10; i++) await voter.ApplyAsync(i, Register(1));

        var reply = voter.ReadAfter(0, 500, "c", 1)!;
        Assert.NotNull(reply.Snapshot);
        Assert.Equal(RecentMetadataRecords.Capacity + 10, reply.AppliedIndex);
        await FollowAsync(node, reply);
        Assert.Equal(voter.Image.Serialize(), node.Image.Serialize());
        Assert.True(nodeTopics.TryGet("kept", out _));

        // Bounded answers: the rest follows with More set.
        var partial = voter.ReadAfter(100, 10, "c", 1)!;
        Assert.True(partial.More);
        Assert.Equal(110, partial.AppliedIndex);
    }

    [Fact]
    public async Task AVoterThatRestoredASnapshot_AnswersOnlyOnceItKnowsItsIndex()
    {
        var voter = Applier(1, keepRecent: true, out _);
        await voter.ApplyAsync(1, Register(1));
        var snapshot = voter.Image.Serialize();
        await voter.RestoreAsync(snapshot, index: null);
        Assert.Null(voter.ReadAfter(0, 500, "c", 1));

        await voter.ApplyAsync(201, Register(4));
        Assert.Equal([201L], voter.ReadAfter(200, 500, "c", 1)!.Records.Select(r => r.Index));
        Assert.NotNull(voter.ReadAfter(150, 500, "c", 1)!.Snapshot);
    }

    [Fact]
    public async Task WaitForApplied_ReturnsOnceTheIndexIsApplied()
    {
        var node = Applier(4, keepRecent: false, out _);
        var wait = node.WaitForAppliedAsync(2, TestContext.Current.CancellationToken);
        await node.ApplyAsync(1, Register(1));
        Assert.False(wait.IsCompleted);
        await node.ApplyAsync(2, Register(4));
        await wait.WaitAsync(TimeSpan.FromSeconds(5), TestContext.Current.CancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var registry in _registries) await registry.DisposeAsync();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }
}
