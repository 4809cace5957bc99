using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeCluster: the cluster id and this node, the only broker and the controller.</summary>
public sealed class DescribeClusterHandler(IOptions<KafkaOptions> options) : KafkaHandler<DescribeClusterRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.DescribeCluster;
    public override short MinVersion => 0;
    public override short MaxVersion => 1;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeClusterRequest request)
    {
        var (host, port) = AdvertisedAddress.For(context, _options);
        return new(new DescribeClusterResponse
        {
            ClusterId = _options.ClusterId,
            ControllerId = _options.NodeId,
            Brokers = [new DescribeClusterResponse.DescribeClusterBroker { BrokerId = _options.NodeId, Host = host, Port = port }],
        });
    }
}
