using System.Globalization;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>DescribeConfigs: a topic's effective configs (overrides as dynamic, the rest as defaults), and a few broker ones.</summary>
public sealed class DescribeConfigsHandler(TopicRegistry topics, IOptions<KafkaOptions> options, Authorizer authorizer) : KafkaHandler<DescribeConfigsRequest>
{
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;
    private const sbyte StaticBrokerConfig = 4;

    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.DescribeConfigs;
    public override short MinVersion => 0;
    public override short MaxVersion => 4;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DescribeConfigsRequest request)
    {
        var response = new DescribeConfigsResponse();
        foreach (var resource in request.Resources)
        {
            var result = new DescribeConfigsResponse.DescribeConfigsResult
            {
                ResourceType = resource.ResourceType,
                ResourceName = resource.ResourceName,
                ErrorMessage = null,
            };
            response.Results.Add(result);
            IEnumerable<(string Name, string Value, sbyte Source)> configs;
            if (resource.ResourceType == TopicResource && !authorizer.Allowed(context, AclOperation.DescribeConfigs, AclResourceType.Topic, resource.ResourceName))
            {
                result.ErrorCode = ErrorCodes.TopicAuthorizationFailed;
                continue;
            }
            if (resource.ResourceType == BrokerResource && !authorizer.AllowedOnCluster(context, AclOperation.DescribeConfigs))
            {
                result.ErrorCode = ErrorCodes.ClusterAuthorizationFailed;
                continue;
            }
            if (resource.ResourceType == TopicResource)
            {
                if (!topics.TryGet(resource.ResourceName, out var topic))
                {
                    result.ErrorCode = ErrorCodes.UnknownTopicOrPartition;
                    result.ErrorMessage = $"Topic '{resource.ResourceName}' does not exist.";
                    continue;
                }
                configs = TopicErrors.DescribeConfigs(topic);
            }
            else if (resource.ResourceType == BrokerResource)
            {
                configs = BrokerConfigs();
            }
            else
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = $"Resource type {resource.ResourceType} is not supported.";
                continue;
            }
            var keys = resource.ConfigurationKeys is { Count: > 0 } wanted ? new HashSet<string>(wanted) : null;
            foreach (var (name, value, source) in configs)
            {
                if (keys is not null && !keys.Contains(name)) continue;
                result.Configs.Add(new DescribeConfigsResponse.DescribeConfigsResourceResult
                {
                    Name = name,
                    Value = value,
                    ReadOnly = resource.ResourceType == BrokerResource,
                    IsDefault = source == TopicErrors.DefaultConfig,
                    ConfigSource = source,
                    IsSensitive = false,
                    Documentation = null,
                });
            }
        }
        return new(response);
    }

    private IEnumerable<(string, string, sbyte)> BrokerConfigs()
    {
        yield return ("auto.create.topics.enable", _options.AutoCreateTopics ? "true" : "false", StaticBrokerConfig);
        yield return ("num.partitions", _options.DefaultPartitions.ToString(CultureInfo.InvariantCulture), StaticBrokerConfig);
        yield return ("socket.request.max.bytes", _options.MaxRequestBytes.ToString(CultureInfo.InvariantCulture), StaticBrokerConfig);
        yield return ("broker.id", _options.NodeId.ToString(CultureInfo.InvariantCulture), StaticBrokerConfig);
    }
}
