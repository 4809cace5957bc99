using System.Text;
using Confluent.Kafka;
using Confluent.Kafka.Admin;

namespace Ferry.Kafka.Tests.Integration;

public sealed class ProduceConsumeTests
{
    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task IdempotentAcksAll_ReadsBackExactly(CompressionType compression)
    {
        await using var server = await FerryServer.StartAsync();
        const int count = 500;
        var topic = "t-" + compression.ToString().ToLowerInvariant();
        var sent = new List<DeliveryResult<string, string>>();
        using (var producer = Clients.Producer(server, c => c.CompressionType = compression))
        {
            var deliveries = Enumerable.Range(0, count).Select(i => producer.ProduceAsync(topic, new Message<string, string>
            {
                Key = $"key-{i}",
                Value = $"value-{i}-" + new string('x', i % 50),
                Timestamp = new Timestamp(1_700_000_000_000 + i, TimestampType.CreateTime),
                Headers = new Headers { { "h", Encoding.UTF8.GetBytes($"header-{i}") }, { "empty", [] } },
            })).ToList();
            sent.AddRange(await Task.WhenAll(deliveries));
        }
        Assert.All(sent, d => Assert.Equal(PersistenceStatus.Persisted, d.Status));
        Assert.Equal(Enumerable.Range(0, count).Select(i => (long)i), sent.Select(d => d.Offset.Value).Order());

        using var consumer = Clients.Consumer(server);
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var received = Clients.ConsumeExactly(consumer, count);

        for (int i = 0; i < count; i++)
        {
            var message = received[i].Message;
            Assert.Equal(i, received[i].Offset.Value);
            Assert.Equal($"key-{i}", message.Key);
            Assert.Equal($"value-{i}-" + new string('x', i % 50), message.Value);
            Assert.Equal(1_700_000_000_000 + i, message.Timestamp.UnixTimestampMs);
            Assert.Equal($"header-{i}", Encoding.UTF8.GetString(message.Headers.GetLastBytes("h")));
            Assert.Empty(message.Headers.GetLastBytes("empty"));
        }
    }

    [Theory]
    [InlineData(Acks.None)]
    [InlineData(Acks.Leader)]
    public async Task AcksZeroAndOne_AreStored(Acks acks)
    {
        await using var server = await FerryServer.StartAsync();
        using (var producer = Clients.Producer(server, c => { c.EnableIdempotence = false; c.Acks = acks; }))
        {
            for (int i = 0; i < 100; i++) producer.Produce("acks", new Message<string, string> { Key = "k", Value = i.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        }
        using var consumer = Clients.Consumer(server);
        consumer.Assign(new TopicPartitionOffset("acks", 0, Offset.Beginning));
        var received = Clients.ConsumeExactly(consumer, 100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received.Select(r => r.Message.Value));
    }

    [Fact]
    public async Task Consumer_WaitingAtTheEnd_IsWokenByAProduce()
    {
        await using var server = await FerryServer.StartAsync();
        using var producer = Clients.Producer(server);
        await producer.ProduceAsync("wake", new Message<string, string> { Key = "a", Value = "first" });
        using var consumer = Clients.Consumer(server, c => c.FetchWaitMaxMs = 10000);
        consumer.Assign(new TopicPartitionOffset("wake", 0, Offset.Beginning));
        Assert.Equal("first", Clients.ConsumeExactly(consumer, 1).Single().Message.Value);

        var started = DateTime.UtcNow;
        var later = Task.Run(async () =>
        {
            await Task.Delay(300);
            await producer.ProduceAsync("wake", new Message<string, string> { Key = "a", Value = "second" });
        });
        var second = Clients.ConsumeExactly(consumer, 1, TimeSpan.FromSeconds(20)).Single();
        await later;
        Assert.Equal("second", second.Message.Value);
        // Woken by the append, not by the 10 s max wait running out (the margin absorbs a loaded CI machine).
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(8), $"took {DateTime.UtcNow - started}");
    }

    [Fact]
    public async Task ManyPartitions_KeysSpreadAndEveryMessageArrives()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "spread", NumPartitions = 4, ReplicationFactor = 1 }]);
        using (var producer = Clients.Producer(server))
        {
            await Task.WhenAll(Enumerable.Range(0, 400).Select(i =>
                producer.ProduceAsync("spread", new Message<string, string> { Key = $"k{i}", Value = $"v{i}" })));
        }
        using var consumer = Clients.Consumer(server);
        consumer.Assign(Enumerable.Range(0, 4).Select(p => new TopicPartitionOffset("spread", p, Offset.Beginning)));
        var received = Clients.ConsumeExactly(consumer, 400);
        Assert.Equal(400, received.Select(r => r.Message.Value).Distinct().Count());
        Assert.Equal(4, received.Select(r => r.Partition.Value).Distinct().Count());
    }

    [Fact]
    public async Task Watermarks_AndOffsetsForTimes()
    {
        await using var server = await FerryServer.StartAsync();
        using (var producer = Clients.Producer(server))
        {
            for (int i = 0; i < 10; i++)
            {
                await producer.ProduceAsync("times", new Message<string, string>
                {
                    Key = "k",
                    Value = $"v{i}",
                    Timestamp = new Timestamp(1_000_000 + i * 1000, TimestampType.CreateTime),
                });
            }
        }
        using var consumer = Clients.Consumer(server);
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("times", 0), TimeSpan.FromSeconds(10));
        Assert.Equal((0, 10), (watermarks.Low.Value, watermarks.High.Value));

        var found = consumer.OffsetsForTimes([new TopicPartitionTimestamp("times", 0, new Timestamp(1_004_500, TimestampType.CreateTime))], TimeSpan.FromSeconds(10));
        Assert.Equal(5, found.Single().Offset.Value);
        var none = consumer.OffsetsForTimes([new TopicPartitionTimestamp("times", 0, new Timestamp(9_000_000, TimestampType.CreateTime))], TimeSpan.FromSeconds(10));
        Assert.Equal(Offset.End, none.Single().Offset);
    }

    [Fact]
    public async Task AutoCreateOff_ProduceToMissingTopic_Fails()
    {
        await using var server = await FerryServer.StartAsync(new() { ["Kafka:AutoCreateTopics"] = "false" });
        using var producer = Clients.Producer(server, c => c.MessageTimeoutMs = 3000);
        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync("missing", new Message<string, string> { Key = "k", Value = "v" }));
        Assert.Contains(error.Error.Code, new[] { ErrorCode.UnknownTopicOrPart, ErrorCode.Local_UnknownTopic, ErrorCode.Local_MsgTimedOut });
        using var admin = Clients.Admin(server);
        Assert.DoesNotContain(admin.GetMetadata(TimeSpan.FromSeconds(5)).Topics, t => t.Topic == "missing" && t.Error.Code == ErrorCode.NoError);
    }

    [Fact]
    public async Task BatchLargerThanTheTopicLimit_IsMessageTooLarge()
    {
        await using var server = await FerryServer.StartAsync();
        using (var admin = Clients.Admin(server))
        {
            await admin.CreateTopicsAsync([new TopicSpecification
            {
                Name = "small", NumPartitions = 1, ReplicationFactor = 1,
                Configs = new Dictionary<string, string> { ["max.message.bytes"] = "2000" },
            }]);
        }
        using var producer = Clients.Producer(server, c => c.CompressionType = CompressionType.None);
        var error = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync("small", new Message<string, string> { Key = "k", Value = new string('z', 5000) }));
        Assert.Equal(ErrorCode.MsgSizeTooLarge, error.Error.Code);
    }

    [Fact]
    public async Task Messages_SurviveACleanRestart()
    {
        await using var server = await FerryServer.StartAsync();
        using (var producer = Clients.Producer(server))
        {
            await Task.WhenAll(Enumerable.Range(0, 50).Select(i =>
                producer.ProduceAsync("durable", new Message<string, string> { Key = "k", Value = $"v{i}" })));
        }
        await server.StopAsync();
        await server.StartAsync();

        using var consumer = Clients.Consumer(server);
        consumer.Assign(new TopicPartitionOffset("durable", 0, Offset.Beginning));
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"v{i}"), Clients.ConsumeExactly(consumer, 50).Select(r => r.Message.Value));
    }
}

public sealed class SeekTests
{
    [Fact]
    public async Task Seek_ReplaysFromAnyOffset_AndOffsetsAreDense()
    {
        await using var server = await FerryServer.StartAsync();
        using (var producer = Clients.Producer(server))
        {
            for (int i = 0; i < 100; i++) producer.Produce("seek", new Message<string, string> { Key = "k", Value = $"v{i}" });
            producer.Flush(TimeSpan.FromSeconds(10));
        }
        using var consumer = Clients.Consumer(server);
        consumer.Assign(new TopicPartitionOffset("seek", 0, Offset.Beginning));
        var all = Clients.ConsumeExactly(consumer, 100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), all.Select(r => r.Offset.Value));

        consumer.Seek(new TopicPartitionOffset("seek", 0, 37));
        var replay = Clients.ConsumeExactly(consumer, 5);
        Assert.Equal(["v37", "v38", "v39", "v40", "v41"], replay.Select(r => r.Message.Value));

        consumer.Seek(new TopicPartitionOffset("seek", 0, 3));
        Assert.Equal("v3", Clients.ConsumeExactly(consumer, 1).Single().Message.Value);
    }
}
