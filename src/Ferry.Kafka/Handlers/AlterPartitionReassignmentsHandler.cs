using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// AlterPartitionReassignments (KIP-455): moves partitions to new replica sets, or cancels a running move (null
/// replicas). Each partition's answer comes once the controller has begun the move; the new replicas then catch up
/// and the controller completes it when they are all in sync (ListPartitionReassignments shows it until then).
/// </summary>
public sealed class AlterPartitionReassignmentsHandler(IMetadataController controller, Authorizer authorizer) : KafkaHandler<AlterPartitionReassignmentsRequest>
{
    public override short ApiKey => ApiKeys.AlterPartitionReassignments;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, AlterPartitionReassignmentsRequest request)
    {
        var response = new AlterPartitionReassignmentsResponse { ErrorMessage = null };
        // Kafka asks ALTER on the cluster: moving replicas is an operator's act, not a topic owner's.
        if (!authorizer.AllowedOnCluster(context, AclOperation.Alter))
        {
            response.ErrorCode = ErrorCodes.ClusterAuthorizationFailed;
            response.ErrorMessage = "ALTER on the cluster is needed to reassign partitions.";
            return response;
        }
        foreach (var topic in request.Topics)
        {
            var results = new AlterPartitionReassignmentsResponse.ReassignableTopicResponse { Name = topic.Name };
            foreach (var partition in topic.Partitions)
            {
                var outcome = await controller.ReassignPartitionAsync(topic.Name, partition.PartitionIndex, partition.Replicas).ConfigureAwait(false);
                results.Partitions.Add(new AlterPartitionReassignmentsResponse.ReassignablePartitionResponse
                {
                    PartitionIndex = partition.PartitionIndex,
                    ErrorCode = TopicErrors.ToErrorCode(outcome.Error),
                    ErrorMessage = outcome.Message,
                });
            }
            response.Responses.Add(results);
        }
        return response;
    }
}
