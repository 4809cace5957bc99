using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// FindCoordinator: the coordinator of a group (key type 0) or of a transactional id (key type 1) from the cluster
/// view by <see cref="InternalTopicOwnership"/> (the leader of the internal topic partition its key hashes to), v4 a batch of keys.
/// </summary>
public sealed class FindCoordinatorHandler(IClusterView cluster, TopicRegistry topics, IOptions<KafkaOptions> options, Authorizer authorizer) : KafkaHandler<FindCoordinatorRequest>
{
    private const sbyte GroupKey = 0;
    private const sbyte TransactionKey = 1;
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.FindCoordinator;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, FindCoordinatorRequest request) =>
        new(Respond(request, context.ApiVersion, key => Answer(context, key, request.KeyType)));

    /// <summary>
    /// v6 (KIP-932's share-group key type) and any later version the schema knows: every key asked for carries the
    /// error, as does the v0–3 single answer, so the client learns why instead of seeing its connection drop.
    /// </summary>
    protected override IKafkaMessage? ErrorResponse(FindCoordinatorRequest request, short version, short errorCode) =>
        Respond(request, version, key => NoCoordinator(key, errorCode, null));

    /// <summary>v4 and later answer each key of the batch; v0–3 one key, in the response's top-level fields.</summary>
    private static FindCoordinatorResponse Respond(FindCoordinatorRequest request, short version, Func<string, FindCoordinatorResponse.Coordinator> answer)
    {
        var response = new FindCoordinatorResponse();
        if (version >= 4)
        {
            foreach (var key in request.CoordinatorKeys) response.Coordinators.Add(answer(key));
        }
        else
        {
            var single = answer(request.Key);
            response.ErrorCode = single.ErrorCode;
            response.ErrorMessage = single.ErrorMessage;
            response.NodeId = single.NodeId;
            response.Host = single.Host;
            response.Port = single.Port;
        }
        return response;
    }

    private static FindCoordinatorResponse.Coordinator NoCoordinator(string key, short errorCode, string? message) =>
        new() { Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = errorCode, ErrorMessage = message };

    private FindCoordinatorResponse.Coordinator Answer(KafkaRequestContext context, string key, sbyte keyType)
    {
        // As Kafka: DESCRIBE on the group, or on the transactional id, to learn its coordinator.
        if (keyType is GroupKey or TransactionKey
            && !authorizer.Allowed(context, AclOperation.Describe, keyType == GroupKey ? AclResourceType.Group : AclResourceType.TransactionalId, key))
        {
            return NoCoordinator(key, keyType == GroupKey ? ErrorCodes.GroupAuthorizationFailed : ErrorCodes.TransactionalIdAuthorizationFailed, null);
        }
        if (keyType is not (GroupKey or TransactionKey))
        {
            return NoCoordinator(key, ErrorCodes.InvalidRequest, $"Unknown coordinator key type {keyType}.");
        }
        // A group's coordinator leads its __consumer_offsets partition, a transactional id's its __transaction_state one.
        int nodeId = InternalTopicOwnership.CoordinatorOf(topics, cluster, (CoordinatorKind)keyType, key);
        if (nodeId < 0 || AdvertisedAddress.OfNode(cluster, nodeId, context, _options) is not var (host, port))
        {
            return NoCoordinator(key, ErrorCodes.CoordinatorNotAvailable, "The coordinator is being elected.");
        }
        return new FindCoordinatorResponse.Coordinator { Key = key, NodeId = nodeId, Host = host, Port = port, ErrorMessage = null };
    }
}
