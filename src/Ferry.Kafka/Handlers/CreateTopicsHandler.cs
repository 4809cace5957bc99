using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>CreateTopics: partitions (-1: the default), replication factor 1 (or -1), and topic configs.</summary>
public sealed class CreateTopicsHandler(TopicRegistry topics, IOptions<KafkaOptions> options) : KafkaHandler<CreateTopicsRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.CreateTopics;
    public override short MinVersion => 0;
    public override short MaxVersion => 7;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, CreateTopicsRequest request)
    {
        var response = new CreateTopicsResponse();
        foreach (var wanted in request.Topics)
        {
            var result = new CreateTopicsResponse.CreatableTopicResult { Name = wanted.Name, ErrorMessage = null };
            response.Topics.Add(result);
            int partitions = wanted.NumPartitions == -1 ? _options.DefaultPartitions : wanted.NumPartitions;
            if (wanted.Assignments.Count > 0) partitions = wanted.Assignments.Count;
            if (wanted.ReplicationFactor is not (-1 or 1) || wanted.Assignments.Any(a => a.BrokerIds.Count != 1 || a.BrokerIds[0] != _options.NodeId))
            {
                result.ErrorCode = ErrorCodes.InvalidReplicationFactor;
                result.ErrorMessage = "Ferry runs as a single node: the replication factor must be 1.";
                continue;
            }
            var configs = wanted.Configs.ToDictionary(c => c.Name, c => c.Value ?? "", StringComparer.Ordinal);
            var outcome = request.ValidateOnly ? topics.Validate(wanted.Name, partitions, configs) : topics.Create(wanted.Name, partitions, configs);
            result.ErrorCode = TopicErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
            if (!outcome.Succeeded) continue;
            result.NumPartitions = partitions;
            result.ReplicationFactor = 1;
            if (!request.ValidateOnly && topics.TryGet(wanted.Name, out var topic))
            {
                result.TopicId = topic.Id;
                result.Configs = TopicErrors.DescribeConfigs(topic).Select(c => new CreateTopicsResponse.CreatableTopicConfigs
                {
                    Name = c.Name,
                    Value = c.Value,
                    ConfigSource = c.Source,
                    ReadOnly = false,
                    IsSensitive = false,
                }).ToList();
            }
        }
        return new(response);
    }
}
