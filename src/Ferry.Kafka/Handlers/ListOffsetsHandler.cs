using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Ferry.Storage.Records;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// ListOffsets: earliest (-2, and -4, the local log start, the same without tiered storage), latest (-1), the
/// newest record (-3, v7+), the last tiered offset (-5: none, -1), or the first record at or after a timestamp,
/// per partition.
/// </summary>
public sealed class ListOffsetsHandler(TopicRegistry topics, Authorizer authorizer) : KafkaHandler<ListOffsetsRequest>
{
    private const long Latest = -1;
    private const long Earliest = -2;
    private const long MaxTimestamp = -3;
    private const long EarliestLocal = -4;

    public override short ApiKey => ApiKeys.ListOffsets;
    public override short MinVersion => 0;
    public override short MaxVersion => 10;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListOffsetsRequest request)
    {
        var response = new ListOffsetsResponse();
        foreach (var topicRequest in request.Topics)
        {
            var topicResponse = new ListOffsetsResponse.ListOffsetsTopicResponse { Name = topicRequest.Name };
            response.Topics.Add(topicResponse);
            topics.TryGet(topicRequest.Name, out var topic);
            bool allowed = authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, topicRequest.Name);
            foreach (var wanted in topicRequest.Partitions)
            {
                var result = new ListOffsetsResponse.ListOffsetsPartitionResponse { PartitionIndex = wanted.PartitionIndex };
                topicResponse.Partitions.Add(result);
                if (!allowed)
                {
                    result.ErrorCode = ErrorCodes.TopicAuthorizationFailed;
                    result.Offset = -1;
                    result.Timestamp = -1;
                    continue;
                }
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
                if (partition.HighWatermarkBehindEpochStart && wanted.Timestamp is not (Earliest or EarliestLocal))
                {
                    result.ErrorCode = ErrorCodes.OffsetNotAvailable;
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
            case Earliest or EarliestLocal:
                return (partition.LogStartOffset, -1);
            case MaxTimestamp:
                // The first record carrying the log's newest timestamp (KIP-734); an empty log has none.
                if (partition.MaxTimestamp is not { } newest) return (-1, -1);
                timestamp = newest;
                break;
            case < 0:
                return (-1, -1);
        }
        if (partition.FindOffsetByTimestamp(timestamp) is not { } batchOffset) return (-1, -1);
        return FirstRecordAtOrAfter(partition, batchOffset, timestamp);
    }

    /// <summary>
    /// The index finds the batch; the exact record is found in it, a compressed batch being opened for that as
    /// Kafka does (answering the batch's base offset would make a consumer seeking by time re-read records).
    /// Under LogAppendTime every record of a batch has the batch's timestamp, so its first record is the one.
    /// </summary>
    private static (long Offset, long Timestamp) FirstRecordAtOrAfter(Partition partition, long batchOffset, long timestamp)
    {
        var read = partition.Read(batchOffset, 1);
        using var slice = read.Slice;
        if (slice.IsEmpty) return (batchOffset, timestamp);
        var bytes = new byte[slice.Length];
        slice.CopyTo(bytes);
        long logStart = partition.LogStartOffset;
        var fallback = (Math.Max(RecordBatch.BaseOffset(bytes), logStart), RecordBatch.MaxTimestamp(bytes));
        if ((RecordBatch.Attributes(bytes) & RecordBatch.TimestampTypeFlag) != 0) return fallback;
        try
        {
            var batch = RecordBatch.CompressionCodec(bytes) == 0 ? bytes : RecordBatchCompression.Decompress(bytes);
            var reader = new RecordReader(batch);
            while (reader.TryRead(out var record))
            {
                if (record.Timestamp >= timestamp && record.Offset >= logStart) return (record.Offset, record.Timestamp);
            }
        }
        catch (InvalidDataException)
        {
            // A batch that cannot be opened is answered by its start, where a consumer must begin reading it anyway.
        }
        return fallback;
    }
}
