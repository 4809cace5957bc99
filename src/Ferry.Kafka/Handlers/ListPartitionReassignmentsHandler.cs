using Ferry.Broker.Cluster;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// ListPartitionReassignments (KIP-455): the partitions whose move is still running, with their whole replica set and
/// the replicas being added and removed; all of them, or those of the topics and partitions asked for.
/// </summary>
public sealed class ListPartitionReassignmentsHandler(TopicRegistry topics, IClusterView cluster, Authorizer authorizer) : KafkaHandler<ListPartitionReassignmentsRequest>
{
    public override short ApiKey => ApiKeys.ListPartitionReassignments;
    public override short MinVersion => 0;
    public override short MaxVersion => 0;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, ListPartitionReassignmentsRequest request)
    {
        var response = new ListPartitionReassignmentsResponse { ErrorMessage = null };
        if (!authorizer.AllowedOnCluster(context, AclOperation.Describe))
        {
            response.ErrorCode = ErrorCodes.ClusterAuthorizationFailed;
            response.ErrorMessage = "DESCRIBE on the cluster is needed to list reassignments.";
            return new(response);
        }
        var asked = request.Topics is { } wanted
            ? wanted.Select(t => (t.Name, Partitions: (IEnumerable<int>)t.PartitionIndexes))
            : topics.Topics.OrderBy(t => t.Name, StringComparer.Ordinal).Select(t => (t.Name, Partitions: t.Partitions.Select(p => p.Index)));
        foreach (var (name, partitions) in asked)
        {
            ListPartitionReassignmentsResponse.OngoingTopicReassignment? ongoing = null;
            foreach (int index in partitions)
            {
                if (cluster.GetPartition(name, index) is not { IsReassigning: true } state) continue;
                ongoing ??= new ListPartitionReassignmentsResponse.OngoingTopicReassignment { Name = name };
                ongoing.Partitions.Add(new ListPartitionReassignmentsResponse.OngoingPartitionReassignment
                {
                    PartitionIndex = index,
                    Replicas = [.. state.Replicas],
                    AddingReplicas = [.. state.AddingReplicas ?? []],
                    RemovingReplicas = [.. state.RemovingReplicas ?? []],
                });
            }
            if (ongoing is not null) response.Topics.Add(ongoing);
        }
        return new(response);
    }
}
