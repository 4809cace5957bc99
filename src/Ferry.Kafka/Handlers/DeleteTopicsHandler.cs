using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Broker.Queues.Quorum;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>DeleteTopics: by name (v0-5) or by name or id (v6).</summary>
public sealed class DeleteTopicsHandler(TopicRegistry topics, IMetadataController controller, Authorizer authorizer) : KafkaHandler<DeleteTopicsRequest>
{
    public override short ApiKey => ApiKeys.DeleteTopics;
    public override short MinVersion => 0;
    public override short MaxVersion => 6;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, DeleteTopicsRequest request)
    {
        var response = new DeleteTopicsResponse();
        var wanted = context.ApiVersion >= 6
            ? request.Topics.Select(t => (t.Name, t.TopicId))
            : request.TopicNames.Select(n => ((string?)n, Guid.Empty));
        foreach (var (name, id) in wanted.ToList())
        {
            var topicName = name ?? topics.Find(id)?.Name;
            var result = new DeleteTopicsResponse.DeletableTopicResult { Name = topicName, TopicId = id };
            response.Responses.Add(result);
            if (topicName is null)
            {
                result.ErrorCode = ErrorCodes.UnknownTopicId;
                continue;
            }
            if (!authorizer.Allowed(context, AclOperation.Delete, AclResourceType.Topic, topicName))
            {
                result.ErrorCode = ErrorCodes.TopicAuthorizationFailed;
                continue;
            }
            if (topics.TryGet(topicName, out var topic)) result.TopicId = topic.Id;
            if (QuorumQueueCluster.IsQuorumTopic(topicName))
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = $"{topicName} is the log of an AMQP quorum queue: delete the queue instead.";
                continue;
            }
            if (InternalTopics.IsInternal(topicName))
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = $"{topicName} is internal to the brokers and cannot be deleted.";
                continue;
            }
            var outcome = await controller.DeleteTopicAsync(topicName).ConfigureAwait(false);
            result.ErrorCode = TopicErrors.ToErrorCode(outcome.Error);
            result.ErrorMessage = outcome.Message;
        }
        return response;
    }
}
