using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeCluster: the cluster id, every live node, and the controller (the metadata leader).</summary>
public sealed class DescribeClusterHandler(IClusterView cluster, IOptions<KafkaOptions> options, Authorizer authorizer) : KafkaHandler<DescribeClusterRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.DescribeCluster;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeClusterRequest request)
    {
        var response = new DescribeClusterResponse
        {
            ClusterId = cluster.ClusterId,
            ControllerId = cluster.ControllerId,
            ClusterAuthorizedOperations = authorizer.AuthorizedOperations(context, request.IncludeClusterAuthorizedOperations, AclResourceType.Cluster, AclBinding.ClusterName),
        };
        foreach (var node in cluster.Nodes)
        {
            if (!node.Alive) continue;
            var (host, port) = AdvertisedAddress.Of(node, context, _options);
            response.Brokers.Add(new DescribeClusterResponse.DescribeClusterBroker { BrokerId = node.Id, Host = host, Port = port });
        }
        return new(response);
    }
}
