using System.Runtime.InteropServices;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// Produce: appends each partition's batches as they arrived (offsets assigned, bytes kept), then answers
/// acks=1 at once (page cache) and acks=all after group-committed fsync; acks=0 gets no answer at all.
/// </summary>
public sealed class ProduceHandler(TopicRegistry topics, IOptions<KafkaOptions> options) : KafkaHandler<ProduceRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.Produce;
    public override short MinVersion => 0;
    public override short MaxVersion => 11;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ProduceRequest request)
    {
        if (request.TransactionalId is not null) return new(Reject(request, ErrorCodes.TransactionalIdAuthorizationFailed));

        var response = new ProduceResponse();
        List<Task>? durable = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            var topic = Resolve(topicData.Name, out short topicError);
            foreach (var partitionData in topicData.PartitionData)
            {
                var result = new ProduceResponse.PartitionProduceResponse { Index = partitionData.Index, BaseOffset = -1 };
                topicResponse.PartitionResponses.Add(result);
                var partition = topic?.TryGetPartition(partitionData.Index);
                if (partition is null)
                {
                    result.ErrorCode = topic is null ? topicError : ErrorCodes.UnknownTopicOrPartition;
                    continue;
                }
                if (partitionData.Records is not { Length: > 0 } records)
                {
                    result.ErrorCode = ErrorCodes.InvalidRecord;
                    continue;
                }
                // The request buffer is ours (pooled, one per request): the log stamps offsets into it in place.
                var appended = partition.Append(MemoryMarshal.AsMemory(records).Span);
                result.ErrorCode = ToErrorCode(appended.Error);
                if (appended.Error != PartitionAppendError.None) continue;
                result.BaseOffset = appended.BaseOffset;
                result.LogAppendTimeMs = appended.LogAppendTime;
                result.LogStartOffset = appended.LogStartOffset;
                if (request.Acks == -1)
                    (durable ??= []).Add(partition.Log.WaitForDurableAsync(partition.Log.LogEndOffset));
            }
        }

        if (request.Acks == 0) return new((IKafkaMessage?)null);
        if (durable is null) return new(response);
        return AwaitDurableAsync(response, durable);
    }

    private static async ValueTask<IKafkaMessage?> AwaitDurableAsync(ProduceResponse response, List<Task> durable)
    {
        try
        {
            await Task.WhenAll(durable).ConfigureAwait(false);
        }
        catch (IOException)
        {
            // fsync failed: the writes cannot be promised. KAFKA_STORAGE_ERROR makes the producer retry.
            foreach (var topic in response.Responses)
            {
                foreach (var partition in topic.PartitionResponses)
                {
                    if (partition.ErrorCode == ErrorCodes.None) partition.ErrorCode = ErrorCodes.KafkaStorageError;
                }
            }
        }
        return response;
    }

    private Topic? Resolve(string name, out short error)
    {
        error = ErrorCodes.None;
        if (topics.TryGet(name, out var topic)) return topic;
        if (!TopicNames.IsValid(name, out _))
        {
            error = ErrorCodes.InvalidTopicException;
            return null;
        }
        error = ErrorCodes.UnknownTopicOrPartition;
        return _options.AutoCreateTopics ? topics.GetOrCreate(name, _options.DefaultPartitions) : null;
    }

    private static ProduceResponse Reject(ProduceRequest request, short error) => new()
    {
        Responses = request.TopicData.Select(t => new ProduceResponse.TopicProduceResponse
        {
            Name = t.Name,
            PartitionResponses = t.PartitionData.Select(p => new ProduceResponse.PartitionProduceResponse
            {
                Index = p.Index,
                ErrorCode = error,
                BaseOffset = -1,
            }).ToList(),
        }).ToList(),
    };

    private static short ToErrorCode(PartitionAppendError error) => error switch
    {
        PartitionAppendError.None => ErrorCodes.None,
        PartitionAppendError.CorruptMessage => ErrorCodes.CorruptMessage,
        PartitionAppendError.MessageTooLarge => ErrorCodes.MessageTooLarge,
        PartitionAppendError.OutOfOrderSequence => ErrorCodes.OutOfOrderSequenceNumber,
        PartitionAppendError.DuplicateSequence => ErrorCodes.DuplicateSequenceNumber,
        PartitionAppendError.InvalidProducerEpoch => ErrorCodes.InvalidProducerEpoch,
        PartitionAppendError.UnknownProducerId => ErrorCodes.UnknownProducerId,
        PartitionAppendError.TransactionsUnsupported => ErrorCodes.TransactionalIdAuthorizationFailed,
        _ => ErrorCodes.InvalidRecord,
    };
}
