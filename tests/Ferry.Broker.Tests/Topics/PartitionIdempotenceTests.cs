using Ferry.Broker.Topics;
using Ferry.Storage.Records;
using Microsoft.Extensions.Logging.Abstractions;

namespace Ferry.Broker.Tests.Topics;

public sealed class PartitionIdempotenceTests : IAsyncLifetime
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "ferry-broker-" + Guid.NewGuid().ToString("N"));
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

    private static byte[] Batch(long producerId, short epoch, int sequence, int records = 2)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = sequence };
        for (int i = 0; i < records; i++) builder.Add("k"u8, "v"u8, 1000 + i);
        return builder.ToArray();
    }

    private Partition Partition() => _topics.GetOrCreate("idem", 1)!.Partitions[0];

    [Fact]
    public void RetriedBatch_IsAnsweredWithItsOriginalOffset_AndNotWrittenTwice()
    {
        var partition = Partition();
        var first = partition.Append(Batch(7, 0, 0));
        var second = partition.Append(Batch(7, 0, 2));
        var retry = partition.Append(Batch(7, 0, 0));

        Assert.Equal((PartitionAppendError.None, 0L), (first.Error, first.BaseOffset));
        Assert.Equal(2, second.BaseOffset);
        Assert.Equal((PartitionAppendError.None, 0L), (retry.Error, retry.BaseOffset));
        Assert.Equal(4, partition.HighWatermark);
    }

    [Fact]
    public void GapInSequence_IsOutOfOrder()
    {
        var partition = Partition();
        partition.Append(Batch(7, 0, 0));
        Assert.Equal(PartitionAppendError.OutOfOrderSequence, partition.Append(Batch(7, 0, 5)).Error);
        Assert.Equal(2, partition.HighWatermark);
    }

    [Fact]
    public void OlderEpoch_IsFenced_NewEpochStartsAtZero()
    {
        var partition = Partition();
        partition.Append(Batch(7, 1, 0));
        Assert.Equal(PartitionAppendError.InvalidProducerEpoch, partition.Append(Batch(7, 0, 2)).Error);
        Assert.Equal(PartitionAppendError.None, partition.Append(Batch(7, 2, 0)).Error);
        Assert.Equal(PartitionAppendError.UnknownProducerId, partition.Append(Batch(8, 0, 3)).Error);
    }

    [Fact]
    public void OnlyTheLastFiveBatchesAreRemembered()
    {
        var partition = Partition();
        for (int i = 0; i < 6; i++) partition.Append(Batch(7, 0, i * 2));
        Assert.Equal(2, partition.Append(Batch(7, 0, 2)).BaseOffset); // batch 1, still remembered
        Assert.Equal(PartitionAppendError.OutOfOrderSequence, partition.Append(Batch(7, 0, 0)).Error); // batch 0, forgotten
    }

    [Fact]
    public async Task DuplicateAfterRestart_IsStillRecognised()
    {
        Partition().Append(Batch(7, 0, 0));
        await _topics.DisposeAsync();
        _topics = Open();

        var retry = Partition().Append(Batch(7, 0, 0));

        Assert.Equal(0, retry.BaseOffset);
        Assert.Equal(2, Partition().HighWatermark);
    }

    private static byte[] TransactionalBatch(long producerId, short epoch, int sequence, int records = 2)
    {
        var builder = new RecordBatchBuilder { ProducerId = producerId, ProducerEpoch = epoch, BaseSequence = sequence, Attributes = RecordBatch.TransactionalFlag };
        for (int i = 0; i < records; i++) builder.Add("k"u8, "v"u8, 1000 + i);
        return builder.ToArray();
    }

    [Fact]
    public void OpenTransaction_HoldsTheLastStableOffset_UntilItsMarker()
    {
        var partition = Partition();
        partition.Append(Batch(1, 0, 0));
        var txn = partition.Append(TransactionalBatch(7, 0, 0));
        partition.Append(Batch(1, 0, 2));

        Assert.Equal(txn.BaseOffset, partition.LastStableOffset);
        Assert.Equal(6, partition.HighWatermark);

        var marker = partition.WriteTxnMarker(7, 0, commit: true, coordinatorEpoch: 0, timestamp: 2000);
        Assert.Equal(PartitionAppendError.None, marker.Error);
        Assert.Equal(partition.HighWatermark, partition.LastStableOffset);
        Assert.False(partition.Transactions.CollectAborted(0, long.MaxValue, []));
    }

    [Fact]
    public async Task AbortedTransaction_IsListed_AndRebuiltFromTheLogAfterARestart()
    {
        var partition = Partition();
        var txn = partition.Append(TransactionalBatch(7, 0, 0));
        var marker = partition.WriteTxnMarker(7, 0, commit: false, coordinatorEpoch: 0, timestamp: 2000);
        partition.Append(TransactionalBatch(8, 0, 0));
        await _topics.DisposeAsync();
        _topics = Open();

        var aborted = new List<AbortedTransaction>();
        Assert.True(Partition().Transactions.CollectAborted(0, long.MaxValue, aborted));
        Assert.Equal([new AbortedTransaction(7, txn.BaseOffset, marker.BaseOffset)], aborted);
        Assert.Equal(marker.BaseOffset + 1, Partition().LastStableOffset);
    }

    [Fact]
    public void MarkerOfANewerEpoch_FencesTheOlderProducer()
    {
        var partition = Partition();
        partition.Append(TransactionalBatch(7, 0, 0));
        partition.WriteTxnMarker(7, 1, commit: false, coordinatorEpoch: 0, timestamp: 2000);

        Assert.Equal(PartitionAppendError.InvalidProducerEpoch, partition.Append(TransactionalBatch(7, 0, 2)).Error);
        Assert.Equal(PartitionAppendError.InvalidProducerEpoch, partition.WriteTxnMarker(7, 0, commit: true, coordinatorEpoch: 0, timestamp: 2000).Error);
        Assert.Equal(PartitionAppendError.None, partition.Append(TransactionalBatch(7, 1, 0)).Error);
    }

    [Fact]
    public void ControlBatchFromAProducer_IsRefused()
    {
        var batch = ControlRecord.BuildMarker(7, 0, commit: true, coordinatorEpoch: 0, timestamp: 1000);
        Assert.Equal(PartitionAppendError.InvalidRecord, Partition().Append(batch).Error);
    }
}
