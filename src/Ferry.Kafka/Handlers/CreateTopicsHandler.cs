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
/// CreateTopics through the controller: partitions (-1: the default), replication factor (-1: the cluster's default)
/// or manual assignments (INVALID_REPLICATION_FACTOR when the cluster cannot place them), and topic configs.
/// </summary>
public sealed class CreateTopicsHandler(TopicRegistry topics, IMetadataController controller, IClusterView cluster, IOptions<KafkaOptions> options, Authorizer authorizer) : KafkaHandler<CreateTopicsRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.CreateTopics;
    public override short MinVersion => 0;
    public override short MaxVersion => 7;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, CreateTopicsRequest request)
    {
        var response = new CreateTopicsResponse();
        bool clusterCreate = authorizer.AllowedOnCluster(context, AclOperation.Create);
        foreach (var wanted in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = wanted.Name, ErrorMessage = null };
            response.Topics.Add(result);
            // As Kafka: CREATE on the cluster, or on the topic's name.
            if (!clusterCreate && !authorizer.Allowed(context, AclOperation.Create, AclResourceType.Topic, wanted.Name))
            {
                result.ErrorCode = ErrorCodes.TopicAuthorizationFailed;
                result.ErrorMessage = "Authorization failed.";
                continue;
            }
            int partitions = wanted.NumPartitions == -1 ? _options.DefaultPartitions : wanted.NumPartitions;
            if (wanted.Assignments.Count > 0) partitions = wanted.Assignments.Count;
            var configs = wanted.Configs.ToDictionary(c => c.Name, c => c.Value ?? "", StringComparer.Ordinal);
            var assignments = wanted.Assignments.Count == 0 ? null
                : wanted.Assignments.OrderBy(a => a.PartitionIndex).Select(a => (IReadOnlyList<int>)[.. a.BrokerIds]).ToList();
            var outcome = await controller.CreateTopicAsync(
                new TopicSpec(wanted.Name, partitions, wanted.ReplicationFactor, assignments, configs, request.ValidateOnly)).ConfigureAwait(false);
            result.ErrorCode = TopicErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
            if (!outcome.Succeeded) continue;
            result.NumPartitions = partitions;
            result.ReplicationFactor = wanted.ReplicationFactor != -1 ? wanted.ReplicationFactor : (short)Math.Min(3, cluster.Nodes.Count(n => n.Alive));
            if (!request.ValidateOnly && topics.TryGet(wanted.Name, out var topic))
            {
                if (cluster.GetPartition(topic.Name, 0) is { } first) result.ReplicationFactor = (short)first.Replicas.Count;
                result.TopicId = topic.Id;
                result.Configs = TopicErrors.DescribeConfigs(topic, topics.Defaults).Select(c => new CreateTopicsResponse.CreatableTopicConfigs
                {
                    Name = c.Name,
                    Value = c.Value,
                    ConfigSource = c.Source,
                    ReadOnly = false,
                    IsSensitive = false,
                }).ToList();
            }
        }
        return response;
    }
}
