using Confluent.Kafka;
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

    /// <summary>Four partitions, one 60 KB batch each: more than one batch per response would break a 100 KB fetch.max.bytes.</summary>
    private static async Task<FerryServer> FourBigBatchesAsync(string topic)
    {
        var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = topic, NumPartitions = 4, ReplicationFactor = 1 }]);
        using var producer = Clients.Producer(server);
        for (int p = 0; p < 4; p++)
            await producer.ProduceAsync(new TopicPartition(topic, p), new Message<string, string> { Key = "k", Value = new string((char)('a' + p), 60_000) });
        return server;
    }

    [Fact]
    public async Task Consumer_WithASmallFetchMaxBytes_GetsResponsesWithinIt()
    {
        await using var server = await FourBigBatchesAsync("budget");
        // librdkafka drops a response larger than receive.message.max.bytes (at least fetch.max.bytes + 512) and
        // retries the same fetch forever: every record arriving shows that each response kept to the budget.
        using var consumer = Clients.Consumer(server, c =>
        {
            c.FetchMaxBytes = 100_000;
            c.MessageMaxBytes = 100_000;
            c.ReceiveMessageMaxBytes = 100_512;
        });
        consumer.Assign(Enumerable.Range(0, 4).Select(p => new TopicPartitionOffset("budget", p, Offset.Beginning)));
        var received = Clients.ConsumeExactly(consumer, 4, TimeSpan.FromSeconds(30));
        Assert.Equal(["a", "b", "c", "d"], received.Select(r => r.Message.Value[..1]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Fetch_OnlyTheFirstPartitionsFirstBatch_MayExceedTheLimits()
    {
        await using var server = await FourBigBatchesAsync("kip74");
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        FetchRequest Request(int maxBytes, int partitionMaxBytes) => new()
        {
            MaxBytes = maxBytes,
            Topics = [new FetchRequest.FetchTopic
            {
                Topic = "kip74",
                Partitions = [.. Enumerable.Range(0, 4).Select(p => new FetchRequest.FetchPartition { Partition = p, PartitionMaxBytes = partitionMaxBytes })],
            }],
        };
        static int[] Sizes(FetchResponse response) =>
            [.. response.Responses.Single().Partitions.Select(p => p.Records?.Length ?? 0)];

        // Response limit: the first batch fits 100 KB, the second would not fit in the 40 KB left.
        var sizes = Sizes(await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, Request(100_000, 1 << 20)));
        Assert.True(sizes[0] > 60_000 && sizes[1..].All(s => s == 0), string.Join(",", sizes));
        // Response limit under the first batch: it still comes, alone.
        sizes = Sizes(await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, Request(10_000, 1 << 20)));
        Assert.True(sizes[0] > 60_000 && sizes[1..].All(s => s == 0), string.Join(",", sizes));
        // Partition limit: the same, the response limit being no bound.
        sizes = Sizes(await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, Request(10 << 20, 10_000)));
        Assert.True(sizes[0] > 60_000 && sizes[1..].All(s => s == 0), string.Join(",", sizes));
        // Room for all: all come.
        sizes = Sizes(await client.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, Request(10 << 20, 1 << 20)));
        Assert.True(sizes.All(s => s > 60_000), string.Join(",", sizes));
    }

    [Fact]
    public async Task Fetch_V13AndLater_NamesTopicsById()
    {
        await using var server = await FerryServer.StartAsync();
        using (var producer = Clients.Producer(server))
        {
            await producer.ProduceAsync("by-id-a", new Message<string, string> { Key = "k", Value = "alpha-value" });
            await producer.ProduceAsync("by-id-b", new Message<string, string> { Key = "k", Value = "beta-value" });
        }
        using var client = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var metadata = await client.SendAsync<MetadataResponse>(ApiKeys.Metadata, 12, new MetadataRequest
        {
            Topics = [new MetadataRequest.MetadataRequestTopic { Name = "by-id-a" }, new MetadataRequest.MetadataRequestTopic { Name = "by-id-b" }],
        });
        var ids = metadata.Topics.ToDictionary(t => t.Name!, t => t.TopicId);
        var unknown = Guid.NewGuid();

        for (short version = 13; version <= 17; version++)
        {
            var response = await client.SendAsync<FetchResponse>(ApiKeys.Fetch, version, new FetchRequest
            {
                Topics = [.. new[] { ids["by-id-a"], ids["by-id-b"], unknown }.Select(id => new FetchRequest.FetchTopic
                {
                    TopicId = id,
                    Partitions = [new FetchRequest.FetchPartition { Partition = 0, PartitionMaxBytes = 1 << 20 }],
                })],
            });
            Assert.Equal([ids["by-id-a"], ids["by-id-b"], unknown], response.Responses.Select(r => r.TopicId));
            var a = response.Responses[0].Partitions.Single();
            var b = response.Responses[1].Partitions.Single();
            Assert.Equal((ErrorCodes.None, 1L), (a.ErrorCode, a.HighWatermark));
            Assert.Contains("alpha-value", System.Text.Encoding.UTF8.GetString(a.Records!.Value.Span));
            Assert.Contains("beta-value", System.Text.Encoding.UTF8.GetString(b.Records!.Value.Span));
            Assert.Equal(ErrorCodes.UnknownTopicId, response.Responses[2].Partitions.Single().ErrorCode);
        }
    }
}
