using System.Runtime.InteropServices;
using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
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
public sealed class ProduceHandler(TopicRegistry topics, IMetadataController controller, IOptions<KafkaOptions> options) : KafkaHandler<ProduceRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.Produce;
    public override short MinVersion => 0;
    public override short MaxVersion => 11;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ProduceRequest request)
    {
        if (request.TransactionalId is not null) return new(Reject(request, ErrorCodes.TransactionalIdAuthorizationFailed));

        var response = new ProduceResponse();
        List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)>? commits = null;
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
                var appended = partition.Append(MemoryMarshal.AsMemory(records).Span, requireMinInsync: request.Acks == -1);
                result.ErrorCode = ToErrorCode(appended.Error);
                if (appended.Error == PartitionAppendError.NotLeaderOrFollower) LeaderHint(result, partition);
                if (appended.Error != PartitionAppendError.None) continue;
                result.BaseOffset = appended.BaseOffset;
                result.LogAppendTimeMs = appended.LogAppendTime;
                result.LogStartOffset = appended.LogStartOffset;
                // acks=all: answered once the batch is below the high watermark (on every in-sync replica) and
                // durable here by the log's fsync policy; the followers fsync before they fetch past it.
                if (request.Acks == -1) (commits ??= []).Add((result, partition.WaitForCommitAsync(appended.LastOffset)));
            }
        }

        if (request.Acks == 0) return new((IKafkaMessage?)null);
        if (commits is null) return new(response);
        return AwaitCommitsAsync(response, commits);
    }

    private static async ValueTask<IKafkaMessage?> AwaitCommitsAsync(ProduceResponse response,
        List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)> commits)
    {
        foreach (var (result, commit) in commits)
        {
            try
            {
                await commit.ConfigureAwait(false);
            }
            catch (PartitionCommitException ex)
            {
                result.ErrorCode = ToErrorCode(ex.Error);
                result.BaseOffset = -1;
            }
            catch (IOException)
            {
                // fsync failed: the writes cannot be promised. KAFKA_STORAGE_ERROR makes the producer retry.
                result.ErrorCode = ErrorCodes.KafkaStorageError;
                result.BaseOffset = -1;
            }
        }
        return response;
    }

    /// <summary>KIP-951: tell the producer who leads now, so that it need not wait for a metadata refresh.</summary>
    private static void LeaderHint(ProduceResponse.PartitionProduceResponse result, Partition partition)
    {
        result.CurrentLeader.LeaderId = partition.LeaderId;
        result.CurrentLeader.LeaderEpoch = partition.LeaderEpoch;
    }

    private Topic? Resolve(string name, out short error)
    {
        error = ErrorCodes.None;
        if (OffsetsTopic.IsInternal(name))
        {
            // Only the group coordinator writes there, as in Kafka (INVALID_TOPIC_EXCEPTION for producers).
            error = ErrorCodes.InvalidTopicException;
            return null;
        }
        if (topics.TryGet(name, out var topic)) return topic;
        if (!TopicNames.IsValid(name, out _))
        {
            error = ErrorCodes.InvalidTopicException;
            return null;
        }
        error = ErrorCodes.UnknownTopicOrPartition;
        if (!_options.AutoCreateTopics) return null;
        // Appends must happen before the handler's first await (request order), so the topic is used now only if
        // the controller created it synchronously (a single node); on a cluster the producer retries after the
        // creation commits, told UNKNOWN_TOPIC_OR_PARTITION (retriable) meanwhile.
        var created = controller.CreateTopicAsync(new TopicSpec(name, _options.DefaultPartitions));
        if (!created.IsCompletedSuccessfully)
        {
            _ = created.AsTask();
            return null;
        }
        return topics.TryGet(name, out topic) ? topic : null;
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
        PartitionAppendError.NotLeaderOrFollower => ErrorCodes.NotLeaderOrFollower,
        PartitionAppendError.NotEnoughReplicas => ErrorCodes.NotEnoughReplicas,
        PartitionAppendError.NotEnoughReplicasAfterAppend => ErrorCodes.NotEnoughReplicasAfterAppend,
        _ => ErrorCodes.InvalidRecord,
    };
}
