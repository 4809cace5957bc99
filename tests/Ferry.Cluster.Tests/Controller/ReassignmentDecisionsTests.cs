using Ferry.Broker.Cluster;
using Ferry.Broker.Topics;
using Ferry.Cluster.Controller;

namespace Ferry.Cluster.Tests.Controller;

/// <summary>
/// Partition reassignment (KIP-455) as the controller decides it from the committed image: begin, complete once the
/// target is in sync, replace and cancel, and what it refuses.
/// </summary>
public sealed class ReassignmentDecisionsTests
{
    private static MetadataImage Image(params int[][] replicas)
    {
        var image = new MetadataImage();
        foreach (int id in new[] { 1, 2, 3, 4 })
            image.Apply(new MetadataRecord { Type = MetadataRecordType.RegisterNode, NodeId = id, KafkaHost = "127.0.0.1", KafkaPort = 9000 + id, HttpEndPoint = "http://x" });
        image.Apply(new MetadataRecord
        {
            Type = MetadataRecordType.CreateTopic, Topic = "t", TopicId = Guid.NewGuid(), Assignments = replicas.Select(r => r.ToList()).ToList(),
        });
        return image;
    }

    private static PartitionState State(MetadataImage image) => image.Topics["t"].Partitions[0];

    private static void Reassign(MetadataImage image, int[]? target)
    {
        var result = Decisions.Reassign(image, "t", 0, target, out var record);
        Assert.Equal(TopicError.None, result.Error);
        Assert.True(image.Apply(record!));
    }

    private static void Isr(MetadataImage image, params int[] isr)
    {
        var state = State(image);
        var result = Decisions.AlterPartition(image, new AlterPartitionRequest("t", 0, state.Leader, state.LeaderEpoch, state.PartitionEpoch, isr), out var record);
        Assert.Equal(AlterPartitionError.None, result.Error);
        Assert.True(image.Apply(record!));
    }

    [Fact]
    public void AMoveBeginsWithTheTargetAndTheOriginalTogether_AndCompletesOnceTheTargetIsInSync()
    {
        var image = Image([1, 2]);
        Reassign(image, [2, 3]);
        var moving = State(image);
        Assert.Equal([2, 3, 1], moving.Replicas);
        Assert.Equal([3], moving.AddingReplicas);
        Assert.Equal([1], moving.RemovingReplicas);
        Assert.Equal(1, moving.Leader);
        Assert.Equal(0, moving.LeaderEpoch);
        Assert.Equal(1, moving.PartitionEpoch);
        // As Kafka counts them: the replicas less those being added, in the replicas' order.
        Assert.Equal([2, 1], moving.OriginalReplicas);
        Assert.Equal([2, 3], moving.TargetReplicas);

        // Not before the adding replica is in sync.
        Assert.Empty(Decisions.CompleteReassignments(image));
        Isr(image, 1, 2, 3);
        var completion = Decisions.CompleteReassignments(image);
        Assert.Single(completion);
        Assert.True(image.Apply(completion[0]));

        // The leader was being removed: an in-sync target replica leads at a new epoch.
        var done = State(image);
        Assert.Equal([2, 3], done.Replicas);
        Assert.Equal([2, 3], done.Isr);
        Assert.Equal(2, done.Leader);
        Assert.Equal(1, done.LeaderEpoch);
        Assert.False(done.IsReassigning);
        Assert.Empty(Decisions.CompleteReassignments(image));
    }

    [Fact]
    public void ALeaderThatStaysKeepsItsEpoch()
    {
        var image = Image([1]);
        Reassign(image, [1, 2, 3]);
        Isr(image, 1, 2, 3);
        Assert.True(image.Apply(Decisions.CompleteReassignments(image).Single()));
        var done = State(image);
        Assert.Equal([1, 2, 3], done.Replicas);
        Assert.Equal(1, done.Leader);
        Assert.Equal(0, done.LeaderEpoch);
    }

    [Fact]
    public void CancellingGoesBackToTheOriginalReplicas()
    {
        var image = Image([1, 2]);
        Reassign(image, [3, 4]);
        Isr(image, 1, 2, 3);
        Reassign(image, null);
        var back = State(image);
        Assert.Equal([1, 2], back.Replicas);
        Assert.Equal([1, 2], back.Isr);
        Assert.Equal(1, back.Leader);
        Assert.False(back.IsReassigning);

        Assert.Equal(TopicError.NoReassignmentInProgress, Decisions.Reassign(image, "t", 0, null, out var none).Error);
        Assert.Null(none);
    }

    [Fact]
    public void ANewTargetReplacesARunningMove_MeasuredFromTheOriginal()
    {
        var image = Image([1, 2]);
        Reassign(image, [2, 3]);
        Reassign(image, [1, 4]);
        // 3 was being added for the first move and is in neither the original nor the new target: it goes at once.
        var moving = State(image);
        Assert.Equal([1, 4, 2], moving.Replicas);
        Assert.Equal([4], moving.AddingReplicas);
        Assert.Equal([2], moving.RemovingReplicas);
        Assert.Equal([1, 2], moving.OriginalReplicas);
    }

    [Theory]
    [InlineData(new int[0], TopicError.InvalidReplicaAssignment)]
    [InlineData(new[] { 2, 2 }, TopicError.InvalidReplicaAssignment)]
    [InlineData(new[] { 2, 9 }, TopicError.InvalidReplicaAssignment)]
    public void BadTargetsAreRefused(int[] target, TopicError error)
    {
        var image = Image([1, 2]);
        Assert.Equal(error, Decisions.Reassign(image, "t", 0, target, out var record).Error);
        Assert.Null(record);
        Assert.Equal(TopicError.UnknownPartition, Decisions.Reassign(image, "t", 5, [1], out _).Error);
        Assert.Equal(TopicError.UnknownTopic, Decisions.Reassign(image, "nope", 0, [1], out _).Error);
    }

    [Fact]
    public void TheMoveSurvivesASnapshot()
    {
        var image = Image([1, 2]);
        Reassign(image, [2, 3]);
        var restored = new MetadataImage();
        restored.Restore(image.Serialize());
        var moving = restored.Topics["t"].Partitions[0];
        Assert.Equal([2, 3, 1], moving.Replicas);
        Assert.Equal([3], moving.AddingReplicas);
        Assert.Equal([1], moving.RemovingReplicas);
    }
}
