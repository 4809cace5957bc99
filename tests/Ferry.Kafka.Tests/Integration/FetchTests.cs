using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Fetch as Kafka answers it: errors per partition, byte limits across partitions.</summary>
public sealed class FetchTests
{
    [Fact]
    public async Task Fetch_ForADeletedTopic_AnswersUnknownTopicOrPartition_AndKeepsTheConnection()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
        {
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "gone", NumPartitions = 1, ReplicationFactor = 1 }]);
            await admin.DeleteTopicsAsync(["gone"]);
        }

        // A consumer still subscribed to the deleted topic long-polls it as librdkafka does (max wait, min bytes 1).
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var request = new FetchRequest
        {
            MaxWaitMs = 500,
            MinBytes = 1,
            Topics = [new FetchRequest.FetchTopic { Topic = "gone", Partitions = [new FetchRequest.FetchPartition { Partition = 0, PartitionMaxBytes = 1 << 20 }] }],
        };
        var response = await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, request);
        Assert.Equal(ErrorCodes.UnknownTopicOrPartition, response.Responses.Single().Partitions.Single().ErrorCode);

        // The same connection still answers.
        var again = await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, request);
        Assert.Equal(ErrorCodes.UnknownTopicOrPartition, again.Responses.Single().Partitions.Single().ErrorCode);
    }
}
