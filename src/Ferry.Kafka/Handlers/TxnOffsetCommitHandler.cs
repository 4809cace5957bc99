using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Transactions;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// TxnOffsetCommit: a consumer group's offsets committed as part of a transaction (SendOffsetsToTransaction),
/// durable at once but visible to OffsetFetch only once the transaction commits. The producer must be current and
/// its transaction must hold the group (AddOffsetsToTxn); v3+ also carry the group generation (KIP-447). WRITE on the
/// transactional id, READ on the group, READ on each topic (the others are then not committed), as Kafka requires.
/// </summary>
public sealed class TxnOffsetCommitHandler(GroupCoordinator groups, TransactionCoordinator transactions, Authorizer authorizer) : KafkaHandler<TxnOffsetCommitRequest>
{
    public override short ApiKey => ApiKeys.TxnOffsetCommit;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, TxnOffsetCommitRequest request)
    {
        var entries = request.Topics.SelectMany(t => t.Partitions.Select(p =>
            new OffsetCommitEntry(t.Name, p.PartitionIndex, p.CommittedOffset, p.CommittedLeaderEpoch, p.CommittedMetadata))).ToList();
        var deniedTopics = request.Topics.Select(t => t.Name).Where(name => !authorizer.Allowed(context, AclOperation.Read, AclResourceType.Topic, name))
            .ToHashSet(StringComparer.Ordinal);
        short requestError = !authorizer.Allowed(context, AclOperation.Write, AclResourceType.TransactionalId, request.TransactionalId)
            ? ErrorCodes.TransactionalIdAuthorizationFailed
            : !authorizer.Allowed(context, AclOperation.Read, AclResourceType.Group, request.GroupId)
                ? ErrorCodes.GroupAuthorizationFailed
                : TransactionErrors.ToErrorCode(transactions.VerifyGroup(request.TransactionalId, request.ProducerId, request.ProducerEpoch, request.GroupId));
        GroupError[] errors = new GroupError[entries.Count];
        if (requestError == ErrorCodes.None && deniedTopics.Count == 0)
        {
            var (groupError, partitionErrors) = await groups.CommitTransactionalOffsetsAsync(request.GroupId, request.ProducerId,
                request.GenerationId, request.MemberId, request.GroupInstanceId, entries).ConfigureAwait(false);
            requestError = GroupErrors.ToErrorCode(groupError);
            errors = partitionErrors;
        }
        var response = new TxnOffsetCommitResponse();
        int i = 0;
        foreach (var topic in request.Topics)
        {
            var result = new TxnOffsetCommitResponse.TxnOffsetCommitResponseTopic { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                result.Partitions.Add(new TxnOffsetCommitResponse.TxnOffsetCommitResponsePartition
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = requestError != ErrorCodes.None ? requestError
                        : deniedTopics.Count > 0 ? (deniedTopics.Contains(topic.Name) ? ErrorCodes.TopicAuthorizationFailed : ErrorCodes.OperationNotAttempted)
                        : GroupErrors.ToErrorCode(errors[i]),
                });
                i++;
            }
            response.Topics.Add(result);
        }
        return response;
    }
}
