using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>ListOffsets as Kafka answers it: by timestamp to the exact record, inside compressed batches too; latest timestamp (v7+).</summary>
public sealed class ListOffsetsTests
{
    private const long T0 = 1_700_000_000_000;

    /// <summary>20 records in one batch, record i at T0 + 10 i, except record 12, the newest, at T0 + 1000.</summary>
    private static async Task ProduceOneBatchAsync(FerryServer server, string topic, CompressionType compression)
    {
        using (var admin = Clients.Admin(server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        using var producer = Clients.Producer(server, c => { c.CompressionType = compression; c.LingerMs = 200; });
        for (int i = 0; i < 20; i++)
        {
            producer.Produce(topic, new Message<string, string>
            {
                Key = "k",
                Value = $"v{i}-" + new string('x', 100),
                Timestamp = new Timestamp(i == 12 ? T0 + 1000 : T0 + 10 * i, TimestampType.CreateTime),
            });
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task OffsetsForTimes_FindsTheExactRecord_InsideABatch(CompressionType compression)
    {
        await using var server = await FerryServer.StartAsync();
        var topic = "times-" + compression.ToString().ToLowerInvariant();
        await ProduceOneBatchAsync(server, topic, compression);

        using var consumer = Clients.Consumer(server);
        var partition = new TopicPartition(topic, 0);
        long Find(long timestamp) => consumer.OffsetsForTimes([new TopicPartitionTimestamp(partition, new Timestamp(timestamp, TimestampType.CreateTime))],
            TimeSpan.FromSeconds(10)).Single().Offset.Value;
        Assert.Equal(0, Find(T0));
        Assert.Equal(6, Find(T0 + 55));
        Assert.Equal(7, Find(T0 + 70));
        Assert.Equal(12, Find(T0 + 500));
        Assert.Equal(-1, Find(T0 + 2000)); // after every record: Kafka's "none"
    }

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Zstd)]
    public async Task ListOffsets_MaxTimestamp_IsTheNewestRecord(CompressionType compression)
    {
        await using var server = await FerryServer.StartAsync();
        var topic = "newest-" + compression.ToString().ToLowerInvariant();
        await ProduceOneBatchAsync(server, topic, compression);

        using var admin = Clients.Admin(server);
        var result = await admin.ListOffsetsAsync([new TopicPartitionOffsetSpec { TopicPartition = new TopicPartition(topic, 0), OffsetSpec = OffsetSpec.MaxTimestamp() }]);
        var info = result.ResultInfos.Single().TopicPartitionOffsetError;
        Assert.Equal(ErrorCode.NoError, info.Error.Code);
        Assert.Equal(12, info.Offset.Value);
    }
}
