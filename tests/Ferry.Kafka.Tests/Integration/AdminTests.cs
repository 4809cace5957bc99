using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

public sealed class AdminTests
{
    [Fact]
    public async Task CreateDescribeAlterGrowAndDeleteTopic()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);

        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "orders",
            NumPartitions = 3,
            ReplicationFactor = 1,
            Configs = new Dictionary<string, string> { ["retention.ms"] = "3600000" },
        }]);

        var duplicate = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "orders", NumPartitions = 1, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.TopicAlreadyExists, duplicate.Results.Single().Error.Code);

        var metadata = admin.GetMetadata("orders", TimeSpan.FromSeconds(10));
        var topic = metadata.Topics.Single();
        Assert.Equal(ErrorCode.NoError, topic.Error.Code);
        Assert.Equal([0, 1, 2], topic.Partitions.Select(p => p.PartitionId).Order());
        Assert.All(topic.Partitions, p => Assert.Equal(metadata.Brokers.Single().BrokerId, p.Leader));
        Assert.Equal("127.0.0.1", metadata.Brokers.Single().Host);
        Assert.Equal(server.KafkaPort, metadata.Brokers.Single().Port);

        var resource = new ConfigResource { Type = ResourceType.Topic, Name = "orders" };
        var described = (await admin.DescribeConfigsAsync([resource])).Single();
        Assert.Equal("3600000", described.Entries["retention.ms"].Value);
        Assert.Equal(ConfigSource.DynamicTopicConfig, described.Entries["retention.ms"].Source);
        Assert.Equal(ConfigSource.DefaultConfig, described.Entries["segment.bytes"].Source);

        await admin.IncrementalAlterConfigsAsync(new Dictionary<ConfigResource, List<ConfigEntry>>
        {
            [resource] =
            [
                new ConfigEntry { Name = "retention.bytes", Value = "1048576", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "segment.bytes", Value = "1048576", IncrementalOperation = AlterConfigOpType.Set },
                new ConfigEntry { Name = "retention.ms", IncrementalOperation = AlterConfigOpType.Delete },
            ],
        });
        described = (await admin.DescribeConfigsAsync([resource])).Single();
        Assert.Equal("1048576", described.Entries["retention.bytes"].Value);
        Assert.Equal("1048576", described.Entries["segment.bytes"].Value);
        Assert.Equal(ConfigSource.DefaultConfig, described.Entries["retention.ms"].Source);

        var badConfig = await Assert.ThrowsAsync<IncrementalAlterConfigsException>(() => admin.IncrementalAlterConfigsAsync(
            new Dictionary<ConfigResource, List<ConfigEntry>>
            {
                [resource] = [new ConfigEntry { Name = "retention.ms", Value = "soon", IncrementalOperation = AlterConfigOpType.Set }],
            }));
        Assert.Equal(ErrorCode.InvalidConfig, badConfig.Results.Single().Error.Code);

        await admin.CreatePartitionsAsync([new PartitionsSpecification { Topic = "orders", IncreaseTo = 5 }]);
        Assert.Equal(5, admin.GetMetadata("orders", TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count);

        await admin.DeleteTopicsAsync(["orders"]);
        var all = admin.GetMetadata(TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(all.Topics, t => t.Topic == "orders");
        Assert.False(Directory.Exists(Path.Combine(server.DataDirectory, "topics", "orders-0")));
    }

    [Fact]
    public async Task CreateTopic_InvalidNameOrReplication_IsRefused()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);

        var badName = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "no/slashes", NumPartitions = 1, ReplicationFactor = 1 }]));
        Assert.Equal(ErrorCode.TopicException, badName.Results.Single().Error.Code);

        var badReplication = await Assert.ThrowsAsync<CreateTopicsException>(() =>
            admin.CreateTopicsAsync([new TopicSpecification { Name = "replicated", NumPartitions = 1, ReplicationFactor = 3 }]));
        Assert.Equal(ErrorCode.InvalidReplicationFactor, badReplication.Results.Single().Error.Code);
    }

    [Fact]
    public async Task Topics_SurviveARestart()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "kept", NumPartitions = 4, ReplicationFactor = 1 }]);
        }
        await server.StopAsync();
        await server.StartAsync();

        using var again = Clients.Admin(server);
        Assert.Equal(4, again.GetMetadata("kept", TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count);
    }
}
