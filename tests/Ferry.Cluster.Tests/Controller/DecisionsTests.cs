using Ferry.Broker.Cluster;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>The controller's decisions, as pure functions of the committed image.</summary>
public sealed class DecisionsTests
{
    private static MetadataImage Image(params (string Topic, int[][] Replicas)[] topics)
    {
        var image = new MetadataImage();
        foreach (int id in new[] { 1, 2, 3 })
            image.Apply(new MetadataRecord { Type = MetadataRecordType.RegisterNode, NodeId = id, KafkaHost = "127.0.0.1", KafkaPort = 9000 + id, HttpEndPoint = "http://x" });
        foreach (var (topic, replicas) in topics)
        {
            image.Apply(new MetadataRecord
            {
                Type = MetadataRecordType.CreateTopic, Topic = topic, TopicId = Guid.NewGuid(), Assignments = replicas.Select(r => r.ToList()).ToList(),
            });
        }
        return image;
    }

    private static void ApplyAll(MetadataImage image, IEnumerable<MetadataRecord> records)
    {
        foreach (var record in records) Assert.True(image.Apply(record));
    }

    [Fact]
    public void FencingALeaderElectsTheNextInSyncReplicaAndBumpsTheLeaderEpoch()
    {
        var image = Image(("t", [[1, 2, 3]]));
        image.Apply(new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = 1 });
        ApplyAll(image, Decisions.OnFenced(image, 1));
        var state = image.Topics["t"].Partitions[0];
        Assert.Equal(2, state.Leader);
        Assert.Equal(1, state.LeaderEpoch);
        Assert.Equal([2, 3], state.Isr);
        Assert.Equal(1, state.PartitionEpoch);
    }

    [Fact]
    public void AReplicaOutsideTheIsrIsNeverElected()
    {
        var image = Image(("t", [[1, 2, 3]]));
        var shrink = Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 1, 0, 0, [1]), out var record);
        Assert.Equal(AlterPartitionError.None, shrink.Error);
        ApplyAll(image, [record!]);
        image.Apply(new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = 1 });
        ApplyAll(image, Decisions.OnFenced(image, 1));
        var state = image.Topics["t"].Partitions[0];
        // No unclean election: 2 and 3 are alive but out of sync, so the partition waits for 1.
        Assert.Equal(PartitionState.NoLeader, state.Leader);
        Assert.Equal([1], state.Isr);
        Assert.Empty(Decisions.Rebalance(image));

        image.Apply(new MetadataRecord { Type = MetadataRecordType.RegisterNode, NodeId = 1, KafkaHost = "127.0.0.1", KafkaPort = 9001, HttpEndPoint = "http://x" });
        ApplyAll(image, Decisions.Rebalance(image));
        Assert.Equal(1, image.Topics["t"].Partitions[0].Leader);
    }

    [Fact]
    public void AlterPartitionWithAStaleLeaderOrPartitionEpochIsRefused()
    {
        var image = Image(("t", [[1, 2, 3]]));
        Assert.Equal(AlterPartitionError.FencedLeaderEpoch, Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 2, 0, 0, [2, 3]), out _).Error);
        Assert.Equal(AlterPartitionError.FencedLeaderEpoch, Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 1, 5, 0, [1, 2]), out _).Error);
        var first = Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 1, 0, 0, [1, 2]), out var record);
        ApplyAll(image, [record!]);
        Assert.Equal(1, first.State!.PartitionEpoch);
        Assert.Equal(AlterPartitionError.InvalidUpdateVersion, Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 1, 0, 0, [1, 2, 3]), out _).Error);
        Assert.Equal(AlterPartitionError.InvalidRequest, Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 1, 0, 1, [2, 3]), out _).Error);
    }

    [Fact]
    public void LeadershipReturnsToThePreferredReplicaOnceItIsInSync()
    {
        var image = Image(("t", [[1, 2, 3]]));
        image.Apply(new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = 1 });
        ApplyAll(image, Decisions.OnFenced(image, 1));
        image.Apply(new MetadataRecord { Type = MetadataRecordType.RegisterNode, NodeId = 1, KafkaHost = "127.0.0.1", KafkaPort = 9001, HttpEndPoint = "http://x" });
        Assert.Empty(Decisions.Rebalance(image));
        var expand = Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, 2, 1, 1, [2, 3, 1]), out var record);
        Assert.Equal(AlterPartitionError.None, expand.Error);
        ApplyAll(image, [record!]);
        ApplyAll(image, Decisions.Rebalance(image));
        var state = image.Topics["t"].Partitions[0];
        Assert.Equal(1, state.Leader);
        Assert.Equal(2, state.LeaderEpoch);
    }

    [Fact]
    public void PlacementSpreadsReplicasAndLeadersOverTheNodes()
    {
        var placed = Decisions.Place([1, 2, 3], "orders", 0, 6, 3);
        Assert.All(placed, replicas => Assert.Equal([1, 2, 3], replicas.Order()));
        Assert.Equal(3, placed.Select(r => r[0]).Distinct().Count());
        Assert.Equal(placed.Select(r => string.Join(',', r)), Decisions.Place([3, 1, 2], "orders", 0, 6, 3).Select(r => string.Join(',', r)));
    }

    [Fact]
    public void TheSameRecordsGiveTheSameImageAndASnapshotRestoresIt()
    {
        var records = new List<MetadataRecord>
        {
            new() { Type = MetadataRecordType.RegisterNode, NodeId = 1, KafkaHost = "h", KafkaPort = 1, HttpEndPoint = "e" },
            new() { Type = MetadataRecordType.CreateTopic, Topic = "a", TopicId = Guid.NewGuid(), Assignments = [[1]], Configs = new() { ["retention.ms"] = "5" } },
            new() { Type = MetadataRecordType.ProducerIds, ProducerIdEnd = 1000 },
            new() { Type = MetadataRecordType.CreateTopic, Topic = "a", TopicId = Guid.NewGuid(), Assignments = [[1]] },
        };
        var one = new MetadataImage();
        var two = new MetadataImage();
        foreach (var record in records)
        {
            var bytes = record.Serialize();
            Assert.Equal(one.Apply(MetadataRecord.Deserialize(bytes)), two.Apply(MetadataRecord.Deserialize(bytes)));
        }
        Assert.Equal(one.Serialize(), two.Serialize());
        var restored = new MetadataImage();
        restored.Restore(one.Serialize());
        Assert.Equal(one.Serialize(), restored.Serialize());
        Assert.Equal(1000, restored.ProducerIdEnd);
        Assert.Equal(records[1].TopicId, restored.Topics["a"].Id);
    }

    [Fact]
    public void AFencingAndItsElectionsTravelAsOneBatchThatReadersSeeWhole()
    {
        var image = Image(("t", [[1, 2, 3], [2, 3, 1]]));
        List<MetadataRecord> records = [new MetadataRecord { Type = MetadataRecordType.FenceNode, NodeId = 1 }, .. Decisions.OnFenced(image, 1)];
        var batch = MetadataRecord.Deserialize(MetadataRecord.Of(records).Serialize());
        Assert.Equal(MetadataRecordType.Batch, batch.Type);
        var before = image.Topics;

        var changed = image.Apply(batch.Records!);
        Assert.Equal(3, changed.Count);
        Assert.False(image.IsAlive(1));
        Assert.Equal(2, image.Topics["t"].Partitions[0].Leader);
        Assert.Equal([2, 3], image.Topics["t"].Partitions[1].Isr);
        // What a reader held before the batch is untouched (one swap, not three).
        Assert.Equal(1, before["t"].Partitions[0].Leader);
        Assert.Same(records[0], MetadataRecord.Of([records[0]]));
    }
}
