using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>What goes with a deleted topic.</summary>
public sealed class TopicDeletionTests
{
    [Fact]
    public async Task DeletingATopic_DeletesItsCommittedOffsets_SoARecreatedTopicIsReadFromTheStart()
    {
        await using var server = await FerryServer.StartAsync();
        const string topic = "reborn", group = "reborn-group";
        var partition = new TopicPartition(topic, 0);
        using (var producer = Clients.Producer(server))
        {
            for (int i = 0; i < 5; i++) await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"old{i}" });
        }
        using (var consumer = Clients.Consumer(server, c => c.GroupId = group))
        {
            consumer.Commit([new TopicPartitionOffset(partition, 5)]);
            Assert.Equal(5, consumer.Committed([partition], TimeSpan.FromSeconds(10)).Single().Offset.Value);
        }

        using (var admin = Clients.Admin(server))
        {
            await admin.DeleteTopicsAsync([topic]);
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 1, ReplicationFactor = 1 }]);
        }
        using (var producer = Clients.Producer(server))
        {
            for (int i = 0; i < 10; i++) await producer.ProduceAsync(topic, new Message<string, string> { Key = "k", Value = $"new{i}" });
        }
        // The deletion is durable: a restart does not bring the old commit back.
        await server.StopAsync();
        await server.StartAsync();

        using var after = Clients.Consumer(server, c => c.GroupId = group);
        Assert.Equal(Offset.Unset, after.Committed([partition], TimeSpan.FromSeconds(10)).Single().Offset);
        after.Subscribe(topic);
        var received = Clients.ConsumeExactly(after, 10);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"new{i}"), received.Select(r => r.Message.Value));
    }
}
