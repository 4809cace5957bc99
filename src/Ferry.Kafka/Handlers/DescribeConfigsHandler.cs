using System.Globalization;
using Ferry.Broker.Cluster;
using Ferry.Broker.Groups;
using Ferry.Broker.Security.Acls;
using Ferry.Broker.Topics;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Kafka.Security;
using Ferry.Kafka.Server;
using Microsoft.Extensions.Options;

namespace Ferry.Kafka.Handlers;

/// <summary>
/// DescribeConfigs: a topic's configs (every one Kafka defines: overrides as dynamic, the rest as defaults, with
/// synonyms, types and documentation where the version carries them), the broker's as Kafka names them, and a
/// group's (KIP-848).
/// </summary>
public sealed class DescribeConfigsHandler(TopicRegistry topics, GroupCoordinator groups, IClusterView cluster, IOptions<KafkaOptions> options, Authorizer authorizer)
    : KafkaHandler<DescribeConfigsRequest>
{
    public const sbyte TopicResource = 2;
    public const sbyte BrokerResource = 4;
    public const sbyte GroupResource = 32;
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
            IEnumerable<DescribedConfig> configs;
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
                configs = TopicErrors.DescribeConfigs(topic, topics.Defaults);
            }
            else if (resource.ResourceType == BrokerResource)
            {
                configs = BrokerConfigs();
            }
            else if (resource.ResourceType == GroupResource)
            {
                configs = GroupConfigs();
            }
            else
            {
                result.ErrorCode = ErrorCodes.InvalidRequest;
                result.ErrorMessage = $"Resource type {resource.ResourceType} is not supported.";
                continue;
            }
            var keys = resource.ConfigurationKeys is { Count: > 0 } wanted ? new HashSet<string>(wanted) : null;
            foreach (var config in configs)
            {
                if (keys is not null && !keys.Contains(config.Name)) continue;
                var entry = new DescribeConfigsResponse.DescribeConfigsResourceResult
                {
                    Name = config.Name,
                    Value = config.Value,
                    ReadOnly = config.ReadOnly,
                    IsDefault = config.Source == TopicErrors.DefaultConfig,
                    ConfigSource = config.Source,
                    IsSensitive = false,
                    ConfigType = (sbyte)config.Type,
                    Documentation = request.IncludeDocumentation ? config.Documentation : null,
                };
                if (request.IncludeSynonyms)
                {
                    foreach (var (name, value, source) in config.Synonyms)
                        entry.Synonyms.Add(new DescribeConfigsResponse.DescribeConfigsSynonym { Name = name, Value = value, Source = source });
                }
                result.Configs.Add(entry);
            }
        }
        return new(response);
    }

    /// <summary>The broker's settings under Kafka's names, with the values this node runs with (read-only: set at start).</summary>
    private IEnumerable<DescribedConfig> BrokerConfigs()
    {
        var log = topics.Defaults;
        var group = groups.Options;
        int replication = Math.Min(3, Math.Max(1, cluster.Nodes.Count));
        return new (string Name, string Value, ConfigType Type, string Doc)[]
        {
            ("auto.create.topics.enable", _options.AutoCreateTopics ? "true" : "false", ConfigType.Boolean, "Produce or metadata for an unknown topic creates it (Kafka:AutoCreateTopics)."),
            ("broker.id", Invariant(_options.NodeId), ConfigType.Int, "This node's id."),
            ("node.id", Invariant(_options.NodeId), ConfigType.Int, "This node's id."),
            ("num.partitions", Invariant(_options.DefaultPartitions), ConfigType.Int, "Partitions of an auto-created topic (Kafka:DefaultPartitions)."),
            ("default.replication.factor", Invariant(replication), ConfigType.Int, "Replicas of a topic created without a factor: min(3, live nodes)."),
            ("min.insync.replicas", replication >= 3 ? "2" : "1", ConfigType.Int, "In-sync replicas an acks=all produce needs, for topics without their own."),
            ("socket.request.max.bytes", Invariant(_options.MaxRequestBytes), ConfigType.Int, "The largest request accepted (Kafka:MaxRequestBytes)."),
            ("message.max.bytes", Invariant(log.MaxBatchBytes), ConfigType.Int, "The largest record batch (Storage:MaxBatchBytes)."),
            ("log.segment.bytes", Invariant(log.SegmentBytes), ConfigType.Int, "Segment size (Storage:SegmentBytes)."),
            ("log.roll.ms", Invariant(log.SegmentMs), ConfigType.Long, "Segment age (Storage:SegmentMs)."),
            ("log.roll.hours", Invariant(log.SegmentMs / 3_600_000), ConfigType.Int, "Segment age in hours (Storage:SegmentMs)."),
            ("log.retention.ms", Invariant(log.RetentionMs), ConfigType.Long, "Retention by time (Storage:RetentionMs)."),
            ("log.retention.minutes", Invariant(log.RetentionMs < 0 ? -1 : log.RetentionMs / 60_000), ConfigType.Int, "Retention by time in minutes (Storage:RetentionMs)."),
            ("log.retention.hours", Invariant(log.RetentionMs < 0 ? -1 : log.RetentionMs / 3_600_000), ConfigType.Int, "Retention by time in hours (Storage:RetentionMs)."),
            ("log.retention.bytes", Invariant(log.RetentionBytes), ConfigType.Long, "Retention by size (Storage:RetentionBytes)."),
            ("log.cleanup.policy", "delete", ConfigType.List, "The cleanup policy of topics without their own."),
            ("log.cleaner.enable", "true", ConfigType.Boolean, "The log cleaner runs for compacted topics."),
            ("log.cleaner.delete.retention.ms", Invariant(log.DeleteRetentionMs), ConfigType.Long, "How long tombstones stay on compacted topics."),
            ("log.cleaner.min.cleanable.ratio", Invariant(log.MinCleanableDirtyRatio), ConfigType.Double, "Dirty share at which a log is cleaned."),
            ("log.cleaner.min.compaction.lag.ms", Invariant(log.MinCompactionLagMs), ConfigType.Long, "The least time a record stays uncompacted."),
            ("log.cleaner.max.compaction.lag.ms", Invariant(log.MaxCompactionLagMs), ConfigType.Long, "The longest time a record stays uncompacted."),
            ("log.index.interval.bytes", Invariant(log.IndexIntervalBytes), ConfigType.Int, "Bytes between sparse index entries."),
            ("log.message.timestamp.type", log.UseLogAppendTime ? "LogAppendTime" : "CreateTime", ConfigType.String, "Timestamps of topics without their own."),
            ("log.message.timestamp.before.max.ms", Invariant(log.TimestampBeforeMaxMs), ConfigType.Long, "How old a CreateTime timestamp may be."),
            ("log.message.timestamp.after.max.ms", Invariant(log.TimestampAfterMaxMs), ConfigType.Long, "How far ahead a CreateTime timestamp may be."),
            ("compression.type", "producer", ConfigType.String, "Codec of topics without their own."),
            ("group.initial.rebalance.delay.ms", Invariant(group.InitialRebalanceDelayMs), ConfigType.Int, "Groups:InitialRebalanceDelayMs."),
            ("group.min.session.timeout.ms", Invariant(group.MinSessionTimeoutMs), ConfigType.Int, "Groups:MinSessionTimeoutMs."),
            ("group.max.session.timeout.ms", Invariant(group.MaxSessionTimeoutMs), ConfigType.Int, "Groups:MaxSessionTimeoutMs."),
            ("offsets.retention.minutes", Invariant(group.OffsetsRetentionMinutes), ConfigType.Int, "Groups:OffsetsRetentionMinutes."),
            ("offsets.retention.check.interval.ms", Invariant(group.OffsetsRetentionCheckIntervalMs), ConfigType.Long, "Groups:OffsetsRetentionCheckIntervalMs."),
            ("offset.metadata.max.bytes", Invariant(group.OffsetMetadataMaxBytes), ConfigType.Int, "Groups:OffsetMetadataMaxBytes."),
            ("group.coordinator.rebalance.protocols", "classic", ConfigType.List, "Group protocols served: the classic one."),
        }.Select(c => new DescribedConfig(c.Name, c.Value, StaticBrokerConfig, true, c.Type, c.Doc, [(c.Name, c.Value, StaticBrokerConfig)]));
    }

    /// <summary>KIP-848's group configs with the broker defaults a group without its own gets.</summary>
    private static IEnumerable<DescribedConfig> GroupConfigs() =>
        new (string Name, string Value, string Synonym, string Doc)[]
        {
            ("consumer.session.timeout.ms", "45000", "group.consumer.session.timeout.ms", "Session timeout of consumer-protocol members."),
            ("consumer.heartbeat.interval.ms", "5000", "group.consumer.heartbeat.interval.ms", "Heartbeat interval of consumer-protocol members."),
            ("share.session.timeout.ms", "45000", "group.share.session.timeout.ms", "Session timeout of share-group members."),
            ("share.heartbeat.interval.ms", "5000", "group.share.heartbeat.interval.ms", "Heartbeat interval of share-group members."),
            ("share.record.lock.duration.ms", "30000", "group.share.record.lock.duration.ms", "How long a share-group record stays locked."),
        }.Select(c => new DescribedConfig(c.Name, c.Value, TopicErrors.DefaultConfig, false, ConfigType.Int, c.Doc,
            [(c.Synonym, c.Value, TopicErrors.DefaultConfig)]));

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Invariant(double value) => value.ToString(CultureInfo.InvariantCulture);
}
