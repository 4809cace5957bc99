using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>Metadata: this node as the only broker and the leader of every partition, and the topics asked for.</summary>
public sealed class MetadataHandler(TopicRegistry topics, IOptions<KafkaOptions> options) : KafkaHandler<MetadataRequest>
{
    private readonly KafkaOptions _options = options.Value;

    public override short ApiKey => ApiKeys.Metadata;
    public override short MinVersion => 0;
    public override short MaxVersion => 12;

    protected override ValueTask<IKafkaMessage?> HandleAsync(KafkaRequestContext context, MetadataRequest request)
    {
        var (host, port) = AdvertisedAddress.For(context, _options);
        var response = new MetadataResponse
        {
            Brokers = [new MetadataResponse.MetadataResponseBroker { NodeId = _options.NodeId, Host = host, Port = port, Rack = null }],
            ClusterId = _options.ClusterId,
            ControllerId = _options.NodeId,
        };

        // v0 asks for all topics with an empty list; v1+ with a null one.
        bool all = request.Topics is null || (context.ApiVersion == 0 && request.Topics.Count == 0);
        if (all)
        {
            foreach (var topic in topics.Topics.OrderBy(t => t.Name, StringComparer.Ordinal)) response.Topics.Add(Describe(topic));
        }
        else
        {
            bool autoCreate = _options.AutoCreateTopics && (context.ApiVersion < 4 || request.AllowAutoTopicCreation);
            foreach (var requested in request.Topics!)
            {
                response.Topics.Add(Lookup(requested, autoCreate));
            }
        }
        return new(response);
    }

    private MetadataResponse.MetadataResponseTopic Lookup(MetadataRequest.MetadataRequestTopic requested, bool autoCreate)
    {
        if (requested.Name is null or "")
        {
            return topics.Find(requested.TopicId) is { } byId
                ? Describe(byId)
                : new MetadataResponse.MetadataResponseTopic { ErrorCode = ErrorCodes.UnknownTopicId, Name = null, TopicId = requested.TopicId };
        }
        string name = requested.Name;
        if (topics.TryGet(name, out var topic)) return Describe(topic);
        if (!TopicNames.IsValid(name, out _)) return Error(name, ErrorCodes.InvalidTopicException);
        if (autoCreate && topics.GetOrCreate(name, _options.DefaultPartitions) is { } created) return Describe(created);
        return Error(name, ErrorCodes.UnknownTopicOrPartition);
    }

    private static MetadataResponse.MetadataResponseTopic Error(string name, short error) =>
        new() { ErrorCode = error, Name = name };

    private MetadataResponse.MetadataResponseTopic Describe(Topic topic) => new()
    {
        Name = topic.Name,
        TopicId = topic.Id,
        IsInternal = false,
        Partitions = topic.Partitions.Select(p => new MetadataResponse.MetadataResponsePartition
        {
            PartitionIndex = p.Index,
            LeaderId = _options.NodeId,
            LeaderEpoch = p.LeaderEpoch,
            ReplicaNodes = [_options.NodeId],
            IsrNodes = [_options.NodeId],
            OfflineReplicas = [],
        }).ToList(),
    };
}
