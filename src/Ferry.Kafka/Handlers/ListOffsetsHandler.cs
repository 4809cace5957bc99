using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Ferry.Storage.Records;

namespace Ferry.Kafka.Handlers;

/// <summary>ListOffsets: earliest (-2), latest (-1), or the first offset at or after a timestamp, per partition.</summary>
public sealed class ListOffsetsHandler(TopicRegistry topics) : KafkaHandler<ListOffsetsRequest>
{
    private const long Latest = -1;
    private const long Earliest = -2;

    public override short ApiKey => ApiKeys.ListOffsets;
    public override short MinVersion => 0;
    public override short MaxVersion => 6;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListOffsetsRequest request)
    {
        var response = new ListOffsetsResponse();
        foreach (var topicRequest in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topicRequest.Name };
            response.Topics.Add(topicResponse);
            topics.TryGet(topicRequest.Name, out var topic);
            foreach (var wanted in topicRequest.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = wanted.PartitionIndex };
                topicResponse.Partitions.Add(result);
                var partition = topic?.TryGetPartition(wanted.PartitionIndex);
                if (partition is null)
                {
                    result.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                    continue;
                }
                if (partition.CheckLeaderEpoch(wanted.CurrentLeaderEpoch) is var epochCheck && epochCheck != EpochCheck.Ok)
                {
                    result.ErrorCode = ErrorCodes.ForEpochCheck(epochCheck);
                    result.Offset = -1;
                    result.Timestamp = -1;
                    continue;
                }
                var (offset, timestamp) = Find(partition, wanted.Timestamp);
                result.Offset = offset;
                result.Timestamp = timestamp;
                result.LeaderEpoch = partition.LeaderEpoch;
                if (context.ApiVersion == 0) result.OldStyleOffsets = offset >= 0 ? [offset] : [];
            }
        }
        return new(response);
    }

    private static (long Offset, long Timestamp) Find(Partition partition, long timestamp)
    {
        switch (timestamp)
        {
            case Latest:
                return (partition.LastStableOffset, -1);
            case Earliest:
                return (partition.LogStartOffset, -1);
            case < 0:
                return (-1, -1);
        }
        if (partition.FindOffsetByTimestamp(timestamp) is not { } batchOffset) return (-1, -1);
        return FirstRecordAtOrAfter(partition, batchOffset, timestamp);
    }

    /// <summary>
    /// The index finds the batch; within an uncompressed batch the exact record is found here. A compressed
    /// batch is answered with its base offset and max timestamp, which is where a consumer must start anyway.
    /// </summary>
    private static (long Offset, long Timestamp) FirstRecordAtOrAfter(Partition partition, long batchOffset, long timestamp)
    {
        var read = partition.Read(batchOffset, 1);
        using var slice = read.Slice;
        if (slice.IsEmpty) return (batchOffset, timestamp);
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        if (RecordBatch.CompressionCodec(bytes) != 0 || (RecordBatch.Attributes(bytes) & RecordBatch.TimestampTypeFlag) != 0)
            return (Math.Max(RecordBatch.BaseOffset(bytes), partition.LogStartOffset), RecordBatch.MaxTimestamp(bytes));
        var reader = new RecordReader(bytes);
        while (reader.TryRead(out var record))
        {
            if (record.Timestamp >= timestamp && record.Offset >= partition.LogStartOffset) return (record.Offset, record.Timestamp);
        }
        return (RecordBatch.BaseOffset(bytes), RecordBatch.MaxTimestamp(bytes));
    }
}
