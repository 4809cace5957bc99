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

    [Fact]
    public void TransactionalBatch_IsRefused()
    {
        var batch = Batch(7, 0, 0);
        System.Buffers.Binary.BinaryPrimitives.WriteInt16BigEndian(batch.AsSpan(RecordBatch.AttributesOffset), RecordBatch.TransactionalFlag);
        RecordBatch.WriteCrc(batch);
        Assert.Equal(PartitionAppendError.TransactionsUnsupported, Partition().Append(batch).Error);
    }
}
