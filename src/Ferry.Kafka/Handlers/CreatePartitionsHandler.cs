using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>CreatePartitions: grows a topic to a new partition count.</summary>
public sealed class CreatePartitionsHandler(IMetadataController controller, Authorizer authorizer) : KafkaHandler<CreatePartitionsRequest>
{
    public override short ApiKey => ApiKeys.CreatePartitions;
    public override short MinVersion => 0;
    public override short MaxVersion => 3;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, CreatePartitionsRequest request)
    {
        var response = new CreatePartitionsResponse();
        foreach (var wanted in request.Topics)
        {
            if (!authorizer.Allowed(context, AclOperation.Alter, AclResourceType.Topic, wanted.Name))
            {
                response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
                {
                    Name = wanted.Name, ErrorCode = ErrorCodes.TopicAuthorizationFailed, ErrorMessage = null,
                });
                continue;
            }
            var outcome = await controller.CreatePartitionsAsync(wanted.Name, wanted.Count, request.ValidateOnly).ConfigureAwait(false);
            response.Results.Add(new CreatePartitionsResponse.CreatePartitionsTopicResult
            {
                Name = wanted.Name,
                ErrorCode = TopicErrors.ToErrorCode(outcome.Error),
                ErrorMessage = outcome.Message,
            });
        }
        return response;
    }
}
