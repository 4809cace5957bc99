using System.Runtime.InteropServices;
using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Ferry.Storage.Records;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// Produce: appends each partition's batches as they arrived (offsets assigned, bytes kept), then answers
/// acks=1 at once (page cache) and acks=all after group-committed fsync; acks=0 gets no answer at all. A
/// transactional produce goes only into partitions its transaction has added (KIP-890's defence against hanging
/// transactions), checked with this node's transaction coordinator.
/// </summary>
public sealed class ProduceHandler(TopicRegistry topics, IMetadataController controller, TransactionCoordinator transactions,
    IOptions<KafkaOptions> options, Authorizer authorizer) : KafkaHandler<ProduceRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.Produce;
    public override short MinVersion => 0;
    public override short MaxVersion => 11;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ProduceRequest request)
    {
        if (request.TransactionalId is not null && !authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId))
            return new(Reject(request, ErrorCodes.TransactionalIdAuthorizationFailed));

        var response = new ProduceResponse();
        List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)>? commits = null;
        foreach (var topicData in request.TopicData)
        {
            var topicResponse = new ProduceResponse.TopicProduceResponse { Name = topicData.Name };
            response.Responses.Add(topicResponse);
            // WRITE on the topic (Kafka checks it before the topic is looked up, so a denied name is never auto-created).
            var topic = authorizer.Allowed(context, AclOperation.Write, AclResourceType.Topic, topicData.Name)
                ? Resolve(context, topicData.Name, out short topicError)
                : Denied(out topicError);
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
                if (request.TransactionalId is { } transactionalId && records.Length >= RecordBatch.HeaderSize
                    && RecordBatch.IsTransactional(records.Span))
                {
                    var verified = transactions.VerifyPartition(transactionalId, RecordBatch.ProducerId(records.Span),
                        RecordBatch.ProducerEpoch(records.Span), topicData.Name, partitionData.Index);
                    if (verified != TransactionError.None)
                    {
                        result.ErrorCode = verified == TransactionError.ProducerFenced ? ErrorCodes.InvalidProducerEpoch : TransactionErrors.ToErrorCode(verified);
                        continue;
                    }
                }
                // The request buffer is ours (pooled, one per request): the log stamps offsets into it in place.
                PartitionAppendResult appended;
                try
                {
                    appended = partition.Append(MemoryMarshal.AsMemory(records).Span, requireMinInsync: request.Acks == -1);
                }
                catch (IOException)
                {
                    // The write failed (disk full: ENOSPC) and nothing of it is kept: KAFKA_STORAGE_ERROR, as Kafka
                    // answers when its log directory fails; the producer retries and the connection stays up.
                    result.ErrorCode = ErrorCodes.KafkaStorageError;
                    continue;
                }
                result.ErrorCode = ToErrorCode(appended.Error);
                if (appended.Error == PartitionAppendError.NotLeaderOrFollower) LeaderHint(result, partition);
                if (appended.RecordErrors is { } refused)
                {
                    // KIP-467 (v8+): which records were refused and why; older versions carry the code alone.
                    foreach (var error in refused)
                        result.RecordErrors.Add(new ProduceResponse.BatchIndexAndErrorMessage { BatchIndex = error.BatchIndex, BatchIndexErrorMessage = error.Message });
                    result.ErrorMessage = appended.Message;
                }
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

    private static Topic? Denied(out short error)
    {
        error = ErrorCodes.TopicAuthorizationFailed;
        return null;
    }

    private Topic? Resolve(KafkaRequestContext context, string name, out short error)
    {
        error = ErrorCodes.None;
        if (InternalTopics.IsInternal(name))
        {
            // Only the group and transaction coordinators write there, as in Kafka (INVALID_TOPIC_EXCEPTION for producers).
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
        if (!_options.AutoCreateTopics || !MayCreate(authorizer, context, name)) return null;
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

    /// <summary>Auto-creation needs what CreateTopics needs: CREATE on the cluster or on the topic's name.</summary>
    internal static bool MayCreate(Authorizer authorizer, KafkaRequestContext context, string name) =>
        authorizer.AllowedOnCluster(context, AclOperation.Create) || authorizer.Allowed(context, AclOperation.Create, AclResourceType.Topic, name);

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
        PartitionAppendError.NotLeaderOrFollower => ErrorCodes.NotLeaderOrFollower,
        PartitionAppendError.NotEnoughReplicas => ErrorCodes.NotEnoughReplicas,
        PartitionAppendError.NotEnoughReplicasAfterAppend => ErrorCodes.NotEnoughReplicasAfterAppend,
        PartitionAppendError.InvalidTimestamp => ErrorCodes.InvalidTimestamp,
        _ => ErrorCodes.InvalidRecord,
    };
}
