using Ferry.Broker.Topics;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging;

namespace Ferry.Cluster.Tests.Replication;

/// <summary>
/// Replication over the in-memory transport: followers copy the leader, acks=all waits for min.insync, a leader
/// change keeps what was committed (and idempotent dedup), a divergent tail is cut by epoch, a lagging follower
/// leaves the ISR and returns. Waits are on conditions, bounded generously; the ISR clock is moved by hand.
/// </summary>
public sealed class ReplicationTests
{
    private const string Topic = "orders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static byte[] Batch(string value, long producerId = -1, int sequence = -1)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = 0, BaseSequence = sequence };
        builder.Add("k"u8, System.Text.Encoding.UTF8.GetBytes(value), 1000);
        return builder.ToArray();
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!Holds(condition))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail("Timed out waiting until " + what);
            await Task.Delay(10);
        }
    }

    /// <summary>
    /// A condition read while a follower may be truncating its log: a slice taken just before the cut can end inside
    /// the removed range (an IOException from the segment), which means "not yet", not a failure.
    /// </summary>
    private static bool Holds(Func<bool> condition)
    {
        try
        {
            return condition();
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>The values in a partition's log, in offset order (up to its log end).</summary>
    private static List<string> Values(Partition partition)
    {
        var values = new List<string>();
        long next = partition.LogStartOffset;
        while (next < partition.LogEndOffset)
        {
            var read = partition.Read(next, 1 << 20, ReadBound.LogEnd);
            using var slice = read.Slice;
            if (slice.IsEmpty) break;
            var bytes = new byte[slice.Length];
            slice.CopyTo(bytes);
            for (var rest = bytes.AsSpan(); rest.Length >= RecordBatch.HeaderSize; rest = rest[RecordBatch.TotalSize(rest)..])
            {
                var reader = new RecordReader(rest[..RecordBatch.TotalSize(rest)]);
                while (reader.TryRead(out var record)) values.Add(System.Text.Encoding.UTF8.GetString(record.Value));
            }
            next = slice.NextOffset;
        }
        return values;
    }

    [Fact]
    public async Task AcksAll_IsCommittedOnceTheFollowersHaveIt_AndTheyHoldTheLeadersLog()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var leader = cluster[1].Partition(Topic);

        var appended = leader.Append(Batch("a"), requireMinInsync: true);
        await leader.WaitForCommitAsync(appended.LastOffset).WaitAsync(Patience);

        Assert.Equal(1, leader.HighWatermark);
        await Eventually(() => cluster[2].Partition(Topic).HighWatermark == 1 && cluster[3].Partition(Topic).HighWatermark == 1, "followers learn the HW");
        Assert.Equal(["a"], Values(cluster[2].Partition(Topic)));
        Assert.Equal(["a"], Values(cluster[3].Partition(Topic)));
        Assert.Equal(2, leader.MinInsyncReplicas);
    }

    [Fact]
    public async Task AcksAll_WaitsForMinInsync_AndIsRefusedWhenTheIsrIsTooSmall()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var leader = cluster[1].Partition(Topic);
        cluster.Isolate(2);
        cluster.Isolate(3);

        var appended = leader.Append(Batch("held"), requireMinInsync: true);
        var commit = leader.WaitForCommitAsync(appended.LastOffset);
        await Task.Delay(200);
        Assert.False(commit.IsCompleted); // no follower has it: not acknowledged
        Assert.Equal(0, leader.HighWatermark);

        // Both followers lag past replica.lag.time.max.ms: the ISR shrinks to the leader, below min.insync 2.
        cluster.Advance(TimeSpan.FromSeconds(11));
        await cluster[1].Manager.CheckIsrAsync();
        Assert.Equal([1], cluster.State(Topic, 0).Isr);
        var failure = await Assert.ThrowsAsync<PartitionCommitException>(() => commit.WaitAsync(Patience));
        Assert.Equal(PartitionAppendError.NotEnoughReplicasAfterAppend, failure.Error);
        Assert.Equal(PartitionAppendError.NotEnoughReplicas, leader.Append(Batch("refused"), requireMinInsync: true).Error);

        // One follower returns and catches up: back in the ISR, acks=all succeeds again.
        cluster.Heal(2);
        await Eventually(() => leader.Followers.Single(f => f.ReplicaId == 2).LogEndOffset == leader.LogEndOffset, "follower 2 catches up");
        await cluster[1].Manager.CheckIsrAsync();
        Assert.Equal([1, 2], cluster.State(Topic, 0).Isr);
        var next = leader.Append(Batch("b"), requireMinInsync: true);
        Assert.Equal(PartitionAppendError.None, next.Error);
        await leader.WaitForCommitAsync(next.LastOffset).WaitAsync(Patience);
    }

    [Fact]
    public async Task LaggingFollower_LeavesTheIsr_AndRejoinsOnceCaughtUp()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var leader = cluster[1].Partition(Topic);
        cluster.Isolate(3);
        var commits = new List<Task>();
        for (int i = 0; i < 5; i++) commits.Add(leader.WaitForCommitAsync(leader.Append(Batch($"v{i}"), requireMinInsync: true).LastOffset));
        await Eventually(() => cluster[2].Partition(Topic).LogEndOffset == 5, "follower 2 copies");
        await cluster[1].Manager.CheckIsrAsync();
        Assert.Equal([1, 2, 3], cluster.State(Topic, 0).Isr); // not lagging long enough yet
        Assert.Equal(0, leader.HighWatermark); // follower 3 is still in the ISR: nothing is committed
        Assert.DoesNotContain(commits, c => c.IsCompleted);

        cluster.Advance(TimeSpan.FromSeconds(11));
        long advanced = cluster.Options.NowMs();
        // Follower 2 keeps fetching, and so stays caught up at the new time; follower 3 cannot.
        await Eventually(() => leader.Followers.Single(f => f.ReplicaId == 2).LastCaughtUpMs >= advanced, "follower 2 fetches again");
        await cluster[1].Manager.CheckIsrAsync();
        Assert.Equal([1, 2], cluster.State(Topic, 0).Isr);
        await Eventually(() => leader.HighWatermark == 5, "the HW moves with the ISR that is left");
        await Task.WhenAll(commits).WaitAsync(Patience); // min.insync 2 is met: acknowledged

        cluster.Heal(3);
        await Eventually(() => cluster[3].Partition(Topic).LogEndOffset == 5, "follower 3 catches up");
        await Eventually(() => leader.Followers.Single(f => f.ReplicaId == 3).LogEndOffset == 5, "the leader sees it");
        await cluster[1].Manager.CheckIsrAsync();
        Assert.Equal([1, 2, 3], cluster.State(Topic, 0).Isr);
        Assert.Equal(["v0", "v1", "v2", "v3", "v4"], Values(cluster[3].Partition(Topic)));
    }

    [Fact]
    public async Task StalledFollower_IsReportedOnce_AndItsReturnToo()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var stalled = (LogLevel.Warning, "Partition orders-0: no fetch from leader 1 at epoch 0 succeeded for");
        var resumed = (LogLevel.Information, "Partition orders-0: fetching from leader 1 at epoch 0 again");
        IEnumerable<string> Lines((LogLevel Level, string Prefix) line) => cluster.Log.Collector.GetSnapshot()
            .Where(r => r.Level == line.Level && r.Message.StartsWith(line.Prefix, StringComparison.Ordinal)).Select(r => r.Message);
        int Count((LogLevel, string) line) => Lines(line).Count();
        cluster.Isolate(3);
        await Task.Delay(200); // failing fetches, but not yet for long
        Assert.Equal(0, Count(stalled));

        cluster.Advance(TimeSpan.FromSeconds(6));
        await Eventually(() => Count(stalled) == 1, "follower 3 reports its stall");
        Assert.EndsWith("(last error: Unreachable)", Lines(stalled).Single(), StringComparison.Ordinal);
        cluster.Advance(TimeSpan.FromSeconds(6));
        await Task.Delay(200); // more failures, more time: still one report per stall
        Assert.Equal(1, Count(stalled));

        cluster.Heal(3);
        await Eventually(() => Count(resumed) == 1, "follower 3 reports that it fetches again");
        Assert.Equal(1, Count(stalled));
    }

    [Fact]
    public async Task LeaderChange_KeepsWhatWasCommitted_AndIdempotentRetriesAreStillDuplicates()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var first = cluster[1].Partition(Topic);
        var a = first.Append(Batch("a", producerId: 42, sequence: 0), requireMinInsync: true);
        await first.WaitForCommitAsync(a.LastOffset).WaitAsync(Patience);

        cluster.Elect(Topic, 2, 2, 3);
        var second = cluster[2].Partition(Topic);
        Assert.True(second.IsLeader);
        Assert.Equal(1, second.LeaderEpoch);
        Assert.Equal(PartitionAppendError.NotLeaderOrFollower, first.Append(Batch("stale")).Error);
        Assert.Equal(EpochCheck.Fenced, second.CheckLeaderEpoch(0));

        // The producer did not hear back and retries its batch on the new leader: same offset, not written twice.
        var retry = second.Append(Batch("a", producerId: 42, sequence: 0), requireMinInsync: true);
        Assert.Equal((PartitionAppendError.None, 0L), (retry.Error, retry.BaseOffset));
        var b = second.Append(Batch("b", producerId: 42, sequence: 1), requireMinInsync: true);
        await second.WaitForCommitAsync(b.LastOffset).WaitAsync(Patience);
        await Eventually(() => first.LogEndOffset == 2, "the old leader follows");
        Assert.Equal(["a", "b"], Values(first));
        Assert.Equal(1, RecordBatchEpoch(second, 1));
    }

    private static int RecordBatchEpoch(Partition partition, long offset)
    {
        var read = partition.Read(offset, 1, ReadBound.LogEnd);
        using var slice = read.Slice;
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        return RecordBatch.PartitionLeaderEpoch(bytes);
    }

    [Fact]
    public async Task IsolatedLeader_DivergentTailIsTruncatedByEpoch_AndNothingAcknowledgedIsLost()
    {
        await using var cluster = new InMemoryCluster(3);
        cluster.CreateTopic(Topic, leader: 1);
        var old = cluster[1].Partition(Topic);
        var committed = old.Append(Batch("committed"), requireMinInsync: true);
        await old.WaitForCommitAsync(committed.LastOffset).WaitAsync(Patience);
        await Eventually(() => cluster[2].Partition(Topic).LogEndOffset == 1 && cluster[3].Partition(Topic).LogEndOffset == 1, "followers copy");

        // The leader is cut off. What it takes now (acks=1) never reaches the others, and acks=all is never answered.
        cluster.Isolate(1);
        old.Append(Batch("lost-1"));
        old.Append(Batch("lost-2"));
        var unacknowledged = old.WaitForCommitAsync(old.Append(Batch("never-acked"), requireMinInsync: true).LastOffset);
        Assert.Equal(4, old.LogEndOffset);

        // The majority elects node 2, which takes new writes at epoch 1.
        cluster.Elect(Topic, 2, 2, 3);
        var fresh = cluster[2].Partition(Topic);
        var after = fresh.Append(Batch("after"), requireMinInsync: true);
        await fresh.WaitForCommitAsync(after.LastOffset).WaitAsync(Patience);
        await Assert.ThrowsAsync<PartitionCommitException>(() => unacknowledged.WaitAsync(Patience));

        // Healed, the old leader follows: its tail (offsets 1-3, epoch 0) goes, the new leader's log comes.
        cluster.Heal(1);
        await Eventually(() => Values(old).SequenceEqual(["committed", "after"]), "the old leader matches the new one");
        Assert.Equal([new EpochEntry(0, 0), new EpochEntry(1, 1)], old.Epochs.Entries);
        Assert.Equal(["committed", "after"], Values(cluster[3].Partition(Topic)));
    }
}
