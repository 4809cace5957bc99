using Ferry.Broker.Topics;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Topics;

/// <summary>
/// The partition as a replica: leader epochs stamped and cached durably, the high watermark moved by followers'
/// fetches, acks=all waiting for it, truncation by epoch, follower appends keeping the leader's offsets.
/// </summary>
public sealed class PartitionReplicaTests : IAsyncLifetime
{
    private const int Leader = 1, FollowerA = 2, FollowerB = 3;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-replica-" + Guid.NewGuid().ToString("N"));
    private TopicRegistry _topics = null!;

    public ValueTask InitializeAsync()
    {
        _topics = Open();
        return ValueTask.CompletedTask;
    }

    private TopicRegistry Open() => TopicRegistry.Open(new BrokerOptions { DataDirectory = _data }, NullLoggerFactory.Instance);

    public async ValueTask DisposeAsync()
    {
        await _topics.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private Partition Partition(string name = "rep") => _topics.GetOrCreate(name, 1)!.Partitions[0];

    private static byte[] Batch(int records = 2, long producerId = -1, int sequence = -1)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = 0, BaseSequence = sequence };
        for (int i = 0; i < records; i++) builder.Add("k"u8, "v"u8, 1000 + i);
        return builder.ToArray();
    }

    private static byte[] ReadAll(Partition partition, long from)
    {
        var read = partition.Read(from, 1 << 20, ReadBound.LogEnd);
        using var slice = read.Slice;
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        return bytes;
    }

    [Fact]
    public async Task SingleNode_HighWatermarkIsTheLogEndAfterEachAppend()
    {
        var partition = Partition();
        var appended = partition.Append(Batch(3));
        Assert.Equal((0L, 2L), (appended.BaseOffset, appended.LastOffset));
        Assert.Equal(3, partition.HighWatermark);
        await partition.WaitForCommitAsync(appended.LastOffset).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public void Leader_StampsItsEpochOnEveryBatch_AndCachesWhereItStarts()
    {
        var partition = Partition();
        partition.Append(Batch());
        partition.MakeLeader(Leader, 4, 1, [Leader], [Leader], 0);
        partition.Append(Batch());

        var bytes = ReadAll(partition, 2);
        Assert.Equal(4, RecordBatch.PartitionLeaderEpoch(bytes));
        Assert.Equal([new EpochEntry(0, 0), new EpochEntry(4, 2)], partition.Epochs.Entries);
        Assert.Equal((0, 2L), partition.EndOffsetForEpoch(0));
        Assert.Equal((4, 4L), partition.EndOffsetForEpoch(4));
        Assert.Equal((0, 2L), partition.EndOffsetForEpoch(3));
        Assert.Equal((-1, -1L), partition.EndOffsetForEpoch(5));
    }

    [Fact]
    public async Task EpochCache_SurvivesRestart_AndDataWithoutACheckpointIsEpochZero()
    {
        var partition = Partition();
        partition.Append(Batch());
        partition.MakeLeader(Leader, 7, 1, [Leader], [Leader], 0);
        partition.Append(Batch());
        string checkpoint = Path.Combine(_data, "topics", "rep-0", LeaderEpochCache.FileName);
        Assert.Equal("0\n2\n0 0\n7 2\n", await File.ReadAllTextAsync(checkpoint));

        await _topics.DisposeAsync();
        _topics = Open();
        Assert.Equal([new EpochEntry(0, 0), new EpochEntry(7, 2)], Partition().Epochs.Entries);

        // Data written before epochs were kept: no checkpoint, so all of it is epoch 0.
        await _topics.DisposeAsync();
        File.Delete(checkpoint);
        _topics = Open();
        Assert.Equal([new EpochEntry(0, 0)], Partition().Epochs.Entries);
        Assert.True(File.Exists(checkpoint));
    }

    [Fact]
    public async Task Leader_HighWatermarkWaitsForTheInSyncFollowers_AndAcksAllWaitsForIt()
    {
        var partition = Partition();
        partition.MakeLeader(Leader, 1, 1, [Leader, FollowerA, FollowerB], [Leader, FollowerA, FollowerB], 0);
        var appended = partition.Append(Batch(2), requireMinInsync: true);
        Assert.Equal(0, partition.HighWatermark);
        var commit = partition.WaitForCommitAsync(appended.LastOffset);

        using (partition.ReadAsReplica(FollowerA, 2, 1 << 20, 10).Slice) { }
        Assert.Equal(0, partition.HighWatermark);
        Assert.False(commit.IsCompleted);
        // A consumer sees nothing above the high watermark.
        Assert.True(partition.Read(0, 1 << 20).Slice.IsEmpty);

        using (partition.ReadAsReplica(FollowerB, 2, 1 << 20, 10).Slice) { }
        Assert.Equal(2, partition.HighWatermark);
        await commit.WaitAsync(TimeSpan.FromSeconds(30));
        using var visible = partition.Read(0, 1 << 20).Slice;
        Assert.False(visible.IsEmpty);
    }

    [Fact]
    public async Task AcksAll_RefusedBelowMinInsync_AndFailsAfterAppendWhenTheIsrShrinks()
    {
        var partition = Partition();
        partition.MinInsyncReplicas = 2;
        partition.MakeLeader(Leader, 1, 1, [Leader, FollowerA, FollowerB], [Leader, FollowerA], 0);
        var appended = partition.Append(Batch(), requireMinInsync: true);
        Assert.Equal(PartitionAppendError.None, appended.Error);
        var commit = partition.WaitForCommitAsync(appended.LastOffset);

        // The controller drops the lagging follower: the leader alone moves the high watermark, and the
        // waiting acks=all learns that too few replicas have it.
        partition.UpdateIsr(1, 2, [Leader]);
        var failure = await Assert.ThrowsAsync<PartitionCommitException>(() => commit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(PartitionAppendError.NotEnoughReplicasAfterAppend, failure.Error);

        Assert.Equal(PartitionAppendError.NotEnoughReplicas, partition.Append(Batch(), requireMinInsync: true).Error);
        Assert.Equal(PartitionAppendError.None, partition.Append(Batch(), requireMinInsync: false).Error);
    }

    [Fact]
    public async Task LosingLeadership_FailsWaitingAcksAll_AndRefusesProduce()
    {
        var partition = Partition();
        partition.MakeLeader(Leader, 1, 1, [Leader, FollowerA], [Leader, FollowerA], 0);
        var appended = partition.Append(Batch(), requireMinInsync: true);
        var commit = partition.WaitForCommitAsync(appended.LastOffset);

        partition.MakeFollower(Leader, FollowerA, 2, 2);

        var failure = await Assert.ThrowsAsync<PartitionCommitException>(() => commit.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(PartitionAppendError.NotLeaderOrFollower, failure.Error);
        Assert.Equal(PartitionAppendError.NotLeaderOrFollower, partition.Append(Batch()).Error);
        Assert.Equal(EpochCheck.NotLeader, partition.CheckLeaderEpoch(2));
        Assert.Equal(EpochCheck.Fenced, partition.CheckLeaderEpoch(1));
        Assert.Equal(EpochCheck.Unknown, partition.CheckLeaderEpoch(3));
    }

    [Fact]
    public void Follower_KeepsTheLeadersOffsetsAndEpochs_AndItsProducerState()
    {
        var leader = Partition("lead");
        leader.MakeLeader(Leader, 3, 1, [Leader, FollowerA], [Leader, FollowerA], 0);
        leader.Append(Batch(2, producerId: 9, sequence: 0));
        leader.Append(Batch(3, producerId: 9, sequence: 2));

        var follower = Partition("follow");
        follower.MakeFollower(FollowerA, Leader, 3, 1);
        var copied = follower.AppendAsFollower(ReadAll(leader, 0));
        Assert.Equal((0L, 4L), (copied.BaseOffset, copied.LastOffset));
        Assert.Equal([new EpochEntry(3, 0)], follower.Epochs.Entries);
        follower.UpdateFromLeader(5, 0);
        Assert.Equal(5, follower.HighWatermark);
        // Bytes that do not start at the follower's log end are refused.
        Assert.False(follower.AppendAsFollower(ReadAll(leader, 2)).Succeeded);

        // Promoted, the follower recognises the producer's retry of its last batch.
        follower.MakeLeader(FollowerA, 4, 2, [Leader, FollowerA], [FollowerA], 0);
        var retry = follower.Append(Batch(3, producerId: 9, sequence: 2));
        Assert.Equal((PartitionAppendError.None, 2L), (retry.Error, retry.BaseOffset));
        Assert.Equal(5, follower.LogEndOffset);
    }

    [Fact]
    public void TruncateTo_CutsTheEpochCache_AndRebuildsProducerStateFromTheWholeLog()
    {
        var partition = Partition();
        partition.MakeLeader(Leader, 1, 1, [Leader], [Leader], 0);
        partition.Append(Batch(2, producerId: 5, sequence: 0));
        partition.Log.Roll();
        partition.Append(Batch(2, producerId: 6, sequence: 0));
        partition.MakeLeader(Leader, 2, 2, [Leader], [Leader], 0);
        partition.Append(Batch(2, producerId: 5, sequence: 2));

        partition.MakeFollower(Leader, FollowerA, 3, 3);
        partition.TruncateTo(4);

        Assert.Equal(4, partition.LogEndOffset);
        Assert.Equal([new EpochEntry(1, 0)], partition.Epochs.Entries);
        partition.MakeLeader(Leader, 3, 4, [Leader], [Leader], 0);
        // Producer 5's batch from the first segment is still known: its retry is a duplicate, and its truncated
        // batch (sequence 2) may be sent again.
        Assert.Equal(0, partition.Append(Batch(2, producerId: 5, sequence: 0)).BaseOffset);
        Assert.Equal(4, partition.Append(Batch(2, producerId: 5, sequence: 2)).BaseOffset);
    }
}
