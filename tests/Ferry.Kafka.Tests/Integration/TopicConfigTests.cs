using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Kafka's topic configs as admin tools send them: accepted, validated as Kafka does, described with their source.</summary>
public sealed class TopicConfigTests
{
    /// <summary>What Kafka Connect (internal topics), Kafka Streams (changelog, windowed changelog, repartition) and UIs send.</summary>
    public static TheoryData<string, Dictionary<string, string>> ToolConfigSets => new()
    {
        { "connect-configs", new() { ["cleanup.policy"] = "compact" } },
        { "connect-offsets", new() { ["cleanup.policy"] = "compact", ["min.insync.replicas"] = "1" } },
        { "app-store-changelog", new() { ["cleanup.policy"] = "compact", ["message.timestamp.type"] = "CreateTime" } },
        { "app-window-changelog", new() { ["cleanup.policy"] = "compact,delete", ["retention.ms"] = "172800000", ["message.timestamp.type"] = "CreateTime" } },
        { "app-repartition", new()
        {
            ["cleanup.policy"] = "delete", ["segment.bytes"] = "52428800", ["retention.ms"] = "-1", ["message.timestamp.type"] = "CreateTime",
            ["segment.index.bytes"] = "52428800", ["segment.ms"] = "600000",
        } },
        { "ui-topic", new()
        {
            ["compression.type"] = "zstd", ["delete.retention.ms"] = "86400000", ["file.delete.delay.ms"] = "60000", ["flush.messages"] = "9223372036854775807",
            ["flush.ms"] = "9223372036854775807", ["index.interval.bytes"] = "4096", ["max.compaction.lag.ms"] = "9223372036854775807",
            ["max.message.bytes"] = "2097152", ["message.timestamp.after.max.ms"] = "3600000", ["message.timestamp.before.max.ms"] = "9223372036854775807",
            ["min.cleanable.dirty.ratio"] = "0.5", ["min.compaction.lag.ms"] = "0", ["preallocate"] = "false", ["retention.bytes"] = "-1",
            ["segment.jitter.ms"] = "0", ["unclean.leader.election.enable"] = "false", ["local.retention.ms"] = "-2", ["local.retention.bytes"] = "-2",
            ["compression.gzip.level"] = "-1", ["compression.lz4.level"] = "9", ["compression.zstd.level"] = "3",
            ["follower.replication.throttled.replicas"] = "", ["leader.replication.throttled.replicas"] = "*",
        } },
    };

    [Theory]
    [MemberData(nameof(ToolConfigSets))]
    public async Task CreateTopics_WithToolConfigs_SucceedsAndDescribesThem(string name, Dictionary<string, string> configs)
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);

        await admin.CreateTopicsAsync([new TopicSpecification { Name = name, NumPartitions = 1, ReplicationFactor = 1, Configs = configs }]);

        var described = (await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Topic, Name = name }])).Single();
        foreach (var (key, value) in configs)
        {
            Assert.True(described.Entries.ContainsKey(key), key);
            Assert.Equal(value, described.Entries[key].Value);
            Assert.Equal(ConfigSource.DynamicTopicConfig, described.Entries[key].Source);
        }
        // Every config Kafka defines is reported, the rest with their defaults and the broker setting behind them.
        Assert.True(described.Entries.Count >= 34, $"{described.Entries.Count} configs");
        var untouched = described.Entries["remote.log.copy.disable"];
        Assert.Equal(ConfigSource.DefaultConfig, untouched.Source);
        Assert.True(untouched.IsDefault);
        var retention = described.Entries["retention.ms"];
        Assert.Contains(retention.Synonyms, s => s.Name == "log.retention.ms");
    }

    [Fact]
    public async Task CreateTopics_InvalidValuesAndUnknownNames_GetInvalidConfig()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);

        foreach (var (key, value) in new[]
        {
            ("cleanup.policy", "shred"), ("min.cleanable.dirty.ratio", "1.5"), ("segment.bytes", "1000"), ("compression.type", "brotli"),
            ("delete.retention.ms", "-5"), ("message.timestamp.type", "Now"), ("preallocate", "yes"), ("no.such.config", "1"),
            ("leader.replication.throttled.replicas", "0-1"), ("compression.zstd.level", "23"),
        })
        {
            var refused = await Assert.ThrowsAsync<CreateTopicsException>(() => admin.CreateTopicsAsync([new TopicSpecification
            {
                Name = "bad-" + Guid.NewGuid().ToString("N")[..8], NumPartitions = 1, ReplicationFactor = 1,
                Configs = new Dictionary<string, string> { [key] = value },
            }]));
            Assert.Equal(ErrorCode.InvalidConfig, refused.Results.Single().Error.Code);
        }
    }

    [Fact]
    public async Task IncrementalAlterConfigs_AppendAndSubtract_EditCleanupPolicy()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "lists", NumPartitions = 1, ReplicationFactor = 1 }]);
        var resource = new ConfigResource { Type = ResourceType.Topic, Name = "lists" };

        async Task<string> PolicyAfterAsync(AlterConfigOpType op, string value)
        {
            await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [resource] = [new ConfigEntry { Name = "cleanup.policy", Value = value, IncrementalOperation = op }],
            });
            return (await admin.DescribeConfigsAsync([resource])).Single().Entries["cleanup.policy"].Value;
        }

        Assert.Equal("delete,compact", await PolicyAfterAsync(AlterConfigOpType.Append, "compact"));
        Assert.Equal("delete,compact", await PolicyAfterAsync(AlterConfigOpType.Append, "delete"));
        Assert.Equal("compact", await PolicyAfterAsync(AlterConfigOpType.Subtract, "delete"));

        // APPEND on a config that is not a list is refused, as Kafka refuses it.
        var refused = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [resource] = [new ConfigEntry { Name = "retention.ms", Value = "5", IncrementalOperation = AlterConfigOpType.Append }],
            }));
        Assert.Equal(ErrorCode.InvalidConfig, refused.Results.Single().Error.Code);
    }

    [Fact]
    public async Task DescribeConfigs_BrokerAndGroup_ReportKafkaNamesWithRealValues()
    {
        await using var server = await FerryServer.StartAsync(new() { ["Kafka:DefaultPartitions"] = "3", ["Storage:RetentionMs"] = "7200000" });
        using var admin = Clients.Admin(server);
        int brokerId = admin.GetMetadata(TimeSpan.FromSeconds(10)).Brokers.Single().BrokerId;

        var broker = (await admin.DescribeConfigsAsync([new ConfigResource { Type = ResourceType.Broker, Name = brokerId.ToString() }])).Single();
        Assert.Equal("3", broker.Entries["num.partitions"].Value);
        Assert.Equal("2", broker.Entries["log.retention.hours"].Value);
        Assert.Equal("7200000", broker.Entries["log.retention.ms"].Value);
        Assert.Equal("1", broker.Entries["default.replication.factor"].Value);
        Assert.Equal("1", broker.Entries["min.insync.replicas"].Value);
        Assert.Equal("true", broker.Entries["auto.create.topics.enable"].Value);
        Assert.True(broker.Entries["num.partitions"].IsReadOnly);

        // librdkafka has no group resource type (32, KIP-848): asked over the raw wire as the Java admin client asks.
        using var raw = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var request = new DescribeConfigsRequest();
        request.Resources.Add(new DescribeConfigsRequest.DescribeConfigsResource { ResourceType = 32, ResourceName = "some-group", ConfigurationKeys = null });
        var group = (await raw.SendAsync<DescribeConfigsResponse>(ApiKeys.DescribeConfigs, 4, request)).Results.Single();
        Assert.Equal(0, group.ErrorCode);
        Assert.Equal("45000", group.Configs.Single(c => c.Name == "consumer.session.timeout.ms").Value);
        Assert.Equal("5000", group.Configs.Single(c => c.Name == "consumer.heartbeat.interval.ms").Value);
    }
}
