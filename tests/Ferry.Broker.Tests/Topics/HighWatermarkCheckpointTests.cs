using Ferry.Broker.Topics;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Topics;

/// <summary>
/// Kafka's replication-offset-checkpoint: a replica restarted with batches past the high watermark in its log (taken
/// as leader, never on the other in-sync replicas) serves consumers only up to the last high watermark it knew.
/// </summary>
public sealed class HighWatermarkCheckpointTests : IAsyncLifetime
{
    private const int Leader = 1, Follower = 2;
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-hw-" + Guid.NewGuid().ToString("N"));
    private TopicRegistry _topics = null!;

    public ValueTask InitializeAsync()
    {
        _topics = Open(replicated: true);
        return ValueTask.CompletedTask;
    }

    private TopicRegistry Open(bool replicated) =>
        TopicRegistry.Open(new BrokerOptions { DataDirectory = _data, Replicated = replicated }, NullLoggerFactory.Instance);

    public async ValueTask DisposeAsync()
    {
        await _topics.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }

    private IReadOnlyList<Partition> Partitions(string topic) => _topics.TryGet(topic, out var t) ? t.Partitions : throw new KeyNotFoundException(topic);

    private static byte[] Batch(int records)
    {
        var builder = new RecordBatchBuilder();
        for (int i = 0; i < records; i++) builder.Add("k"u8, "v"u8, 1000 + i);
        return builder.ToArray();
    }

    /// <summary>Leads with one follower that has fetched the first 3 records: HW 3, log end 8.</summary>
    private Partition LeadWithATailAboveTheHighWatermark()
    {
        _topics.Create("t", 1);
        var partition = Partitions("t")[0];
        partition.MakeLeader(Leader, 1, 1, [Leader, Follower], [Leader, Follower], 0);
        partition.Append(Batch(3));
        using (partition.ReadAsReplica(Follower, 3, 1 << 20, 10).Slice) { }
        partition.Append(Batch(5));
        Assert.Equal((3L, 8L), (partition.HighWatermark, partition.LogEndOffset));
        return partition;
    }

    private async Task<Partition> RestartAsync(bool clean)
    {
        if (!clean)
        {
            // A SIGKILL: no shutdown checkpoint; what the periodic one wrote is all there is.
            _topics.CheckpointHighWatermarks();
            foreach (var p in Partitions("t")) p.Append(Batch(1)); // after the last checkpoint, never fetched
        }
        await _topics.DisposeAsync();
        _topics = Open(replicated: true);
        return Partitions("t")[0];
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task RestartedReplica_ServesConsumersOnlyUpToTheCheckpointedHighWatermark(bool cleanShutdown)
    {
        LeadWithATailAboveTheHighWatermark();
        var restarted = await RestartAsync(cleanShutdown);

        Assert.Equal(3, restarted.HighWatermark);
        Assert.True(restarted.LogEndOffset > 3);
        var read = restarted.Read(0, 1 << 20);
        using var slice = read.Slice;
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        Assert.Equal(3, read.HighWatermark);
        // A consumer gets the first batch (offsets 0-2) and nothing of the tail past the high watermark.
        Assert.Equal(RecordBatch.TotalSize(bytes), bytes.Length);
        Assert.Equal(2, RecordBatch.LastOffsetDelta(bytes));
    }

    [Fact]
    public async Task SingleNode_KeepsNoCheckpoint_AndItsWholeLogIsCommitted()
    {
        await _topics.DisposeAsync();
        File.Delete(Path.Combine(_data, HighWatermarkCheckpoint.FileName)); // written by the replicated registry of InitializeAsync
        _topics = Open(replicated: false);
        _topics.Create("t", 1);
        Partitions("t")[0].Append(Batch(4));
        await _topics.DisposeAsync();
        Assert.False(File.Exists(Path.Combine(_data, HighWatermarkCheckpoint.FileName)));
        _topics = Open(replicated: false);
        Assert.Equal(4, Partitions("t")[0].HighWatermark);
    }
}
