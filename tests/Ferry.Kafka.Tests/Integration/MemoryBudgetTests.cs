using System.Diagnostics;
using Confluent.Kafka.Admin;
using Ferry.Broker.Resources;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Storage.Records;
using Microsoft.Extensions.DependencyInjection;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// The memory budget on the wire: over the limit, Produce is throttled (KIP-219 throttle_time_ms, then the connection
/// is muted) while Fetch never is, and the AMQP alarm is raised by the same limit.
/// </summary>
public sealed class MemoryBudgetTests
{
    [Fact]
    public async Task OverTheMemoryLimit_ProduceIsThrottledAndMuted_FetchIsNot()
    {
        // A limit every process is over: the full throttle from the first sample on.
        await using var server = await FerryServer.StartAsync(new Dictionary<string, string?> { ["Resources:MemoryHighWatermarkBytes"] = "1" });
        using (var admin = Clients.Admin(server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "budget", NumPartitions = 1, ReplicationFactor = 1 }]);

        using var producer = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var started = Stopwatch.StartNew();
        var first = await producer.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, ProduceOne("one"));
        var answeredFirst = started.Elapsed;
        Assert.Equal(MemoryBudget.MaxThrottleTimeMs, first.ThrottleTimeMs);
        Assert.Equal(ErrorCodes.None, first.Responses.Single().PartitionResponses.Single().ErrorCode);
        // Respond first, then mute: the answer is not held back by the throttle...
        Assert.True(answeredFirst < TimeSpan.FromMilliseconds(MemoryBudget.MaxThrottleTimeMs), $"answered after {answeredFirst}");
        // ...but the next request on the connection is read only once the throttle time is over.
        var second = await producer.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, ProduceOne("two"));
        Assert.True(started.Elapsed >= TimeSpan.FromMilliseconds(MemoryBudget.MaxThrottleTimeMs - 50), $"second answered after {started.Elapsed}");
        Assert.Equal(ErrorCodes.None, second.Responses.Single().PartitionResponses.Single().ErrorCode);

        // Consumers drain memory: Fetch carries no throttle and its connection is never muted.
        using var consumer = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var fetching = Stopwatch.StartNew();
        for (int i = 0; i < 3; i++)
        {
            var fetched = await consumer.SendAsync<FetchResponse>(ApiKeys.Fetch, 12, new FetchRequest
            {
                MaxWaitMs = 5000,
                MinBytes = 1,
                Topics = [new FetchRequest.FetchTopic { Topic = "budget", Partitions = [new FetchRequest.FetchPartition { Partition = 0, PartitionMaxBytes = 1 << 20 }] }],
            });
            Assert.Equal(0, fetched.ThrottleTimeMs);
            var partition = fetched.Responses.Single().Partitions.Single();
            Assert.Equal(ErrorCodes.None, partition.ErrorCode);
            Assert.True(partition.Records is { Length: > 0 });
        }
        // Three throttled round trips would take three seconds.
        Assert.True(fetching.Elapsed < TimeSpan.FromMilliseconds(2 * MemoryBudget.MaxThrottleTimeMs), $"three fetches took {fetching.Elapsed}");

        // One budget for both protocols: the same limit holds AMQP publishers back.
        var alarm = server.Services.GetRequiredService<ResourceAlarm>();
        Assert.True(alarm.IsRaised);
        Assert.Contains("memory", alarm.Reason);
    }

    [Fact]
    public async Task UnderTheMemoryLimit_ProduceIsNotThrottled()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "roomy", NumPartitions = 1, ReplicationFactor = 1 }]);
        using var producer = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var response = await producer.SendAsync<ProduceResponse>(ApiKeys.Produce, 9, ProduceOne("one", "roomy"));
        Assert.Equal(0, response.ThrottleTimeMs);
    }

    private static ProduceRequest ProduceOne(string value, string topic = "budget")
    {
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 5000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = topic,
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = new RecordBatchBuilder().Add("k"u8, System.Text.Encoding.UTF8.GetBytes(value), 1).ToArray() }],
        });
        return request;
    }
}
