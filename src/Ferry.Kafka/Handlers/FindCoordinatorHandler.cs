using Ferry.Broker.Cluster;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// FindCoordinator: the group's coordinator from the cluster view (the leader of its offsets partition; on a
/// single node, this node), v4 a batch of keys. Transactions have no
/// coordinator in Ferry yet, so transactional keys get COORDINATOR_NOT_AVAILABLE.
/// </summary>
public sealed class FindCoordinatorHandler(IClusterView cluster, IOptions<KafkaOptions> options) : KafkaHandler<FindCoordinatorRequest>
{
    private const sbyte GroupKey = 0;
    private const sbyte TransactionKey = 1;
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.FindCoordinator;
    public override short MinVersion => 0;
    public override short MaxVersion => 5;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, FindCoordinatorRequest request)
    {
        var response = new FindCoordinatorResponse();
        if (context.ApiVersion >= 4)
        {
            foreach (var key in request.CoordinatorKeys) response.Coordinators.Add(Answer(context, key, request.KeyType));
        }
        else
        {
            var answer = Answer(context, request.Key, request.KeyType);
            response.ErrorCode = answer.ErrorCode;
            response.ErrorMessage = answer.ErrorMessage;
            response.NodeId = answer.NodeId;
            response.Host = answer.Host;
            response.Port = answer.Port;
        }
        return new(response);
    }

    private FindCoordinatorResponse.Coordinator Answer(KafkaRequestContext context, string key, sbyte keyType)
    {
        if (keyType != GroupKey)
        {
            return new FindCoordinatorResponse.Coordinator
            {
                Key = key,
                NodeId = -1,
                Host = "",
                Port = -1,
                ErrorCode = keyType == TransactionKey ? ErrorCodes.CoordinatorNotAvailable : ErrorCodes.InvalidRequest,
                ErrorMessage = keyType == TransactionKey ? "Ferry has no transaction coordinator." : $"Unknown coordinator key type {keyType}.",
            };
        }
        int nodeId = cluster.CoordinatorFor(key);
        if (nodeId < 0 || AdvertisedAddress.OfNode(cluster, nodeId, context, _options) is not var (host, port))
        {
            return new FindCoordinatorResponse.Coordinator
            {
                Key = key, NodeId = -1, Host = "", Port = -1, ErrorCode = ErrorCodes.CoordinatorNotAvailable,
                ErrorMessage = "The group's coordinator is being elected.",
            };
        }
        return new FindCoordinatorResponse.Coordinator { Key = key, NodeId = nodeId, Host = host, Port = port, ErrorMessage = null };
    }
}
