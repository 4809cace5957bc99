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
/// transactions), as the <see cref="TransactionVerifier"/> finds; when only another node's coordinator can say, the
/// appends wait for its answer, and the connection's later Produce requests wait their turn behind them.
/// </summary>
public sealed class ProduceHandler(TopicRegistry topics, IMetadataController controller, TransactionVerifier transactions,
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

        var response = new ProduceResponse { ThrottleTimeMs = context.ThrottleTimeMs };
        var appends = new List<PendingAppend>();
        bool unverified = false;
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
                var append = new PendingAppend(result, partition, records);
                if (request.TransactionalId is { } transactionalId && records.Length >= RecordBatch.HeaderSize
                    && RecordBatch.IsTransactional(records.Span))
                {
                    append.ProducerId = RecordBatch.ProducerId(records.Span);
                    append.ProducerEpoch = RecordBatch.ProducerEpoch(records.Span);
                    if (!transactions.TryVerify(transactionalId, append.ProducerId, append.ProducerEpoch, partition, out var verified))
                    {
                        append.Unverified = unverified = true;
                    }
                    else if (verified != TransactionError.None)
                    {
                        result.ErrorCode = VerificationErrorCode(verified);
                        continue;
                    }
                }
                appends.Add(append);
            }
        }

        if (!unverified && context.AppendOrder is null or { IsIdle: true })
        {
            var commits = AppendAll(appends, request.Acks);
            if (request.Acks == 0) return new((IKafkaMessage?)null);
            return commits is null ? new(response) : AwaitCommitsAsync(response, commits);
        }
        // The request's buffer goes back to the pool once this returns: what is appended later must be a copy.
        foreach (var append in appends) append.Records = append.Records.ToArray();
        Task previous = Task.CompletedTask;
        var turn = context.AppendOrder?.Defer(out previous);
        return AppendLaterAsync(request, response, appends, previous, turn, context.ConnectionClosed);
    }

    /// <summary>
    /// The waiting path: the remote coordinator's answers and the connection's earlier waiting Produce first, then the
    /// appends; the turn passes on once they are done (or given up), before the acks=all wait.
    /// </summary>
    private async ValueTask<IKafkaMessage?> AppendLaterAsync(ProduceRequest request, ProduceResponse response, List<PendingAppend> appends,
        Task previous, TaskCompletionSource? turn, CancellationToken cancellationToken)
    {
        List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)>? commits;
        try
        {
            var verifying = VerifyRemotelyAsync(request.TransactionalId!, appends, cancellationToken);
            await previous.ConfigureAwait(false);
            await verifying.ConfigureAwait(false);
            commits = AppendAll(appends, request.Acks);
        }
        finally
        {
            turn?.TrySetResult();
        }
        if (request.Acks == 0) return null;
        return commits is null ? response : await AwaitCommitsAsync(response, commits).ConfigureAwait(false);
    }

    /// <summary>Asks the coordinator on another node about the partitions only it can vouch for; a refused one is not appended.</summary>
    private async Task VerifyRemotelyAsync(string transactionalId, List<PendingAppend> appends, CancellationToken cancellationToken)
    {
        foreach (var producer in appends.Where(a => a.Unverified).GroupBy(a => (a.ProducerId, a.ProducerEpoch)))
        {
            var asked = producer.ToList();
            var answers = await transactions.VerifyRemotelyAsync(transactionalId, producer.Key.ProducerId, producer.Key.ProducerEpoch,
                asked.Select(a => new TransactionPartition(a.Partition.Topic, a.Partition.Index)).ToList(), cancellationToken).ConfigureAwait(false);
            for (int i = 0; i < asked.Count; i++)
            {
                var error = i < answers.Count ? answers[i].Error : TransactionError.CoordinatorNotAvailable;
                if (error != TransactionError.None) asked[i].Result.ErrorCode = VerificationErrorCode(error);
                asked[i].Unverified = false;
            }
        }
    }

    /// <summary>
    /// A refusal of the verification as Produce answers it: a coordinator that is moving, loading or finishing the
    /// previous transaction is NOT_ENOUGH_REPLICAS, retriable to every producer (Kafka answers so too, since producers
    /// do not expect coordinator errors on Produce); a fenced producer INVALID_PRODUCER_EPOCH.
    /// </summary>
    private static short VerificationErrorCode(TransactionError error) => error switch
    {
        TransactionError.ProducerFenced => ErrorCodes.InvalidProducerEpoch,
        TransactionError.NotCoordinator or TransactionError.CoordinatorNotAvailable or TransactionError.CoordinatorLoadInProgress
            or TransactionError.ConcurrentTransactions => ErrorCodes.NotEnoughReplicas,
        _ => TransactionErrors.ToErrorCode(error),
    };

    /// <summary>Appends every partition not refused so far, in request order; the acks=all ones give the commits to wait for.</summary>
    private static List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)>? AppendAll(List<PendingAppend> appends, short acks)
    {
        List<(ProduceResponse.PartitionProduceResponse Result, Task Commit)>? commits = null;
        foreach (var append in appends)
        {
            var (result, partition) = (append.Result, append.Partition);
            if (result.ErrorCode != ErrorCodes.None) continue;
            // The request buffer is ours (pooled, one per request, or a copy): the log stamps offsets into it in place.
            PartitionAppendResult appended;
            try
            {
                appended = partition.Append(MemoryMarshal.AsMemory(append.Records).Span, requireMinInsync: acks == -1);
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
            if (acks == -1) (commits ??= []).Add((result, partition.WaitForCommitAsync(appended.LastOffset)));
        }
        return commits;
    }

    /// <summary>One partition's batches of the request, between the checks and the append.</summary>
    private sealed class PendingAppend(ProduceResponse.PartitionProduceResponse result, Partition partition, ReadOnlyMemory<byte> records)
    {
        public ProduceResponse.PartitionProduceResponse Result { get; } = result;
        public Partition Partition { get; } = partition;
        public ReadOnlyMemory<byte> Records { get; set; } = records;
        public long ProducerId { get; set; } = -1;
        public short ProducerEpoch { get; set; } = -1;

        /// <summary>Only the coordinator on another node can say whether the partition is in the transaction.</summary>
        public bool Unverified { get; set; }
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
