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
/// Metadata: every live node of the cluster view, the controller, and per partition its leader, leader epoch,
/// replicas, ISR and offline replicas (LEADER_NOT_AVAILABLE while it has no leader). Unknown topics are
/// auto-created through the controller when allowed.
/// </summary>
public sealed class MetadataHandler(TopicRegistry topics, IClusterView cluster, IMetadataController controller, IOptions<KafkaOptions> options, Authorizer authorizer)
    : KafkaHandler<MetadataRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.Metadata;
    public override short MinVersion => 0;
    public override short MaxVersion => 12;

    protected override async ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, MetadataRequest request)
    {
        var response = new MetadataResponse { ClusterId = cluster.ClusterId, ControllerId = cluster.ControllerId };
        // KIP-430: asked for (v8+), the operations the principal may do; v11 moved the cluster's to DescribeCluster.
        bool topicOps = context.ApiVersion >= 8 && request.IncludeTopicAuthorizedOperations;
        if (context.ApiVersion is >= 8 and <= 10)
        {
            response.ClusterAuthorizedOperations = authorizer.AuthorizedOperations(context, request.IncludeClusterAuthorizedOperations,
                AclResourceType.Cluster, AclBinding.ClusterName);
        }
        // A node fenced a moment ago is still listed, as Kafka lists a dead broker until its session times out, but it
        // leads nothing and its replicas are offline: partitions are described against the live ones only.
        var live = new List<MetadataResponse.MetadataResponseBroker>();
        foreach (var node in cluster.Nodes)
        {
            if (!node.Alive && !node.RecentlyFenced) continue;
            var (host, port) = AdvertisedAddress.Of(node, context, _options);
            var broker = new MetadataResponse.MetadataResponseBroker { NodeId = node.Id, Host = host, Port = port, Rack = null };
            response.Brokers.Add(broker);
            if (node.Alive) live.Add(broker);
        }

        // v0 asks for all topics with an empty list; v1+ with a null one.
        bool all = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0);
        if (all)
        {
            // Topics the principal may not DESCRIBE are not listed at all, as Kafka hides them.
            foreach (var topic in topics.Topics.OrderBy(t => t.Name, StringComparer.Ordinal))
            {
                if (!authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, topic.Name)) continue;
                response.Topics.Add(WithOperations(context, topicOps, Describe(topic, live)));
            }
        }
        else
        {
            bool autoCreate = _options.AutoCreateTopics && (context.ApiVersion < 4 || request.AllowAutoTopicCreation);
            foreach (var requested in request.Topics!)
            {
                response.Topics.Add(WithOperations(context, topicOps, await LookupAsync(context, requested, autoCreate, live).ConfigureAwait(false)));
            }
        }
        return response;
    }

    private MetadataResponse.MetadataResponseTopic WithOperations(KafkaRequestContext context, bool asked, MetadataResponse.MetadataResponseTopic topic)
    {
        if (asked && topic.ErrorCode == ErrorCodes.None && topic.Name is { } name)
            topic.TopicAuthorizedOperations = authorizer.AuthorizedOperations(context, true, AclResourceType.Topic, name);
        return topic;
    }

    private async ValueTask<MetadataResponse.MetadataResponseTopic> LookupAsync(KafkaRequestContext context, MetadataRequest.MetadataRequestTopic requested,
        bool autoCreate, List<MetadataResponse.MetadataResponseBroker> live)
    {
        if (requested.Name is null or "")
        {
            var byId = topics.Find(requested.TopicId);
            if (byId is not null && !authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, byId.Name))
                return new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCodes.TopicAuthorizationFailed, Name = null, TopicId = requested.TopicId };
            return byId is not null
                ? Describe(byId, live)
                : new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCodes.UnknownTopicId, Name = null, TopicId = requested.TopicId };
        }
        string name = requested.Name;
        // Named but not DESCRIBE-able: TOPIC_AUTHORIZATION_FAILED, whether it exists or not (existence is not revealed).
        if (!authorizer.Allowed(context, AclOperation.Describe, AclResourceType.Topic, name)) return Error(name, ErrorCodes.TopicAuthorizationFailed);
        if (topics.TryGet(name, out var topic)) return Describe(topic, live);
        if (!TopicNames.IsValid(name, out _)) return Error(name, ErrorCodes.InvalidTopicException);
        if (!autoCreate) return Error(name, ErrorCodes.UnknownTopicOrPartition);
        if (!ProduceHandler.MayCreate(authorizer, context, name)) return Error(name, ErrorCodes.TopicAuthorizationFailed);
        var created = await controller.CreateTopicAsync(new TopicSpec(name, _options.DefaultPartitions)).ConfigureAwait(false);
        if ((created.Succeeded || created.Error == TopicError.TopicAlreadyExists) && topics.TryGet(name, out topic)) return Describe(topic, live);
        // Kafka answers a topic it is still creating with LEADER_NOT_AVAILABLE; clients retry.
        return Error(name, created.Succeeded ? ErrorCodes.LeaderNotAvailable : ErrorCodes.UnknownTopicOrPartition);
    }

    private static MetadataResponse.MetadataResponseTopic Error(string name, short error) =>
        new() { ErrorCode = error, Name = name };

    private MetadataResponse.MetadataResponseTopic Describe(Topic topic, List<MetadataResponse.MetadataResponseBroker> live) => new()
    {
        Name = topic.Name,
        TopicId = topic.Id,
        IsInternal = InternalTopics.IsInternal(topic.Name),
        Partitions = topic.Partitions.Select(p => DescribePartition(topic.Name, p, live)).ToList(),
    };

    private MetadataResponse.MetadataResponsePartition DescribePartition(string topic, Partition partition, List<MetadataResponse.MetadataResponseBroker> live)
    {
        var state = cluster.GetPartition(topic, partition.Index);
        if (state is null)
        {
            return new MetadataResponse.MetadataResponsePartition
            {
                PartitionIndex = partition.Index, ErrorCode = ErrorCodes.LeaderNotAvailable, LeaderId = -1, LeaderEpoch = -1,
                ReplicaNodes = [], IsrNodes = [], OfflineReplicas = [],
            };
        }
        bool leaderLive = state.HasLeader && live.Exists(b => b.NodeId == state.Leader);
        return new MetadataResponse.MetadataResponsePartition
        {
            PartitionIndex = partition.Index,
            ErrorCode = leaderLive ? ErrorCodes.None : ErrorCodes.LeaderNotAvailable,
            LeaderId = leaderLive ? state.Leader : -1,
            LeaderEpoch = state.LeaderEpoch,
            ReplicaNodes = [.. state.Replicas],
            IsrNodes = [.. state.Isr],
            OfflineReplicas = state.Replicas.Where(r => !live.Exists(b => b.NodeId == r)).ToList(),
        };
    }
}
