using System.Diagnostics;
using Confluent.Kafka;
using Confluent.Kafka.Admin;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Storage.Records;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>Compacted topics with real clients: the cleaner keeps the last record per key, offsets unchanged.</summary>
public sealed class CompactionTests
{
    /// <summary>Quick cleaning for tests: segments roll after 100 ms of age, the cleaner looks every 100 ms.</summary>
    private static readonly Dictionary<string, string?> FastCleaner = new() { ["Storage:CleanerBackoffMs"] = "100" };

    private static Dictionary<string, string> CompactedConfigs(long deleteRetentionMs = 86_400_000) => new()
    {
        ["cleanup.policy"] = "compact",
        ["segment.ms"] = "100",
        ["min.cleanable.dirty.ratio"] = "0.01",
        ["delete.retention.ms"] = deleteRetentionMs.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    [Theory]
    [InlineData(CompressionType.None)]
    [InlineData(CompressionType.Gzip)]
    [InlineData(CompressionType.Snappy)]
    [InlineData(CompressionType.Lz4)]
    [InlineData(CompressionType.Zstd)]
    public async Task CompactedTopic_ManyVersionsPerKey_FullReadGivesTheLastValueOfEachKey(CompressionType codec)
    {
        await using var server = await FerryServer.StartAsync(FastCleaner);
        using var admin = Clients.Admin(server);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "table", NumPartitions = 1, ReplicationFactor = 1, Configs = CompactedConfigs(6_000) }]);
        using var producer = Clients.Producer(server, c => { c.CompressionType = codec; c.LingerMs = 20; });

        var lastOffset = new Dictionary<string, long>();
        for (int version = 0; version < 10; version++)
        {
            // Ten keys a round, sent together (one batch, compressed as the producer chooses); a new segment each round.
            var sends = Enumerable.Range(0, 10).Select(k => producer.ProduceAsync("table", new Message<string, string> { Key = $"key{k}", Value = $"v{version}" })).ToList();
            foreach (var sent in await Task.WhenAll(sends)) lastOffset[sent.Message.Key] = sent.Offset.Value;
            await Task.Delay(150);
        }
        var tombstone = await producer.ProduceAsync("table", new Message<string, string> { Key = "key0", Value = null! });
        await Task.Delay(150);
        await producer.ProduceAsync("table", new Message<string, string> { Key = "trigger", Value = "1" }); // rolls the segment before it

        var compacted = await WaitForAsync(server, "table", records => records.Count == 11);
        var expected = Enumerable.Range(1, 9).Select(k => (lastOffset[$"key{k}"], $"key{k}", (string?)"v9"))
            .Append((tombstone.Offset.Value, "key0", null)).OrderBy(r => r.Item1).ToList();
        Assert.Equal(expected, compacted.Take(10).ToList());
        Assert.Equal("trigger", compacted[^1].Key);

        // Tombstones go once delete.retention.ms has passed and the cleaner runs again.
        await Task.Delay(6_200);
        await producer.ProduceAsync("table", new Message<string, string> { Key = "trigger", Value = "2" });
        var final = await WaitForAsync(server, "table", records => records.All(r => r.Key != "key0"));
        Assert.Equal(expected.Where(e => e.Item2 != "key0").ToList(), final.Take(9).ToList());
        Assert.Equal("2", final[^1].Value);
    }

    [Fact]
    public async Task Kcat_CompactedTopic_ReadsTheLastValueOfEachKeyWithItsOffset()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (.ci/apt-packages lists it).");
        await using var server = await FerryServer.StartAsync(FastCleaner);
        using var admin = Clients.Admin(server);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "prices", NumPartitions = 1, ReplicationFactor = 1, Configs = CompactedConfigs() }]);

        foreach (var lines in new[] { "apple:1\npear:2\n", "apple:3\nfig:5\n", "fig:6\n", "plum:4\n" })
        {
            var produced = await Kcat.RunAsync(lines, "-b", server.BootstrapServers, "-t", "prices", "-P", "-K:", "-X", "acks=all");
            Assert.True(produced.Code == 0, produced.Error);
            await Task.Delay(150); // each send after the first rolls the segment before it
        }

        var clock = Stopwatch.StartNew();
        string[] read;
        do
        {
            await Task.Delay(200);
            var consumed = await Kcat.RunAsync("", "-b", server.BootstrapServers, "-t", "prices", "-C", "-o", "beginning", "-e", "-f", "%k=%s@%o\n");
            Assert.True(consumed.Code == 0, consumed.Error);
            read = consumed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }
        while (read.Length > 4 && clock.Elapsed < TimeSpan.FromSeconds(60));
        Assert.Equal(["pear=2@1", "apple=3@2", "fig=6@4", "plum=4@5"], read);
    }

    [Fact]
    public async Task CompactedTopic_KeylessRecord_IsRefusedWithPerRecordErrors()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);
        await admin.CreateTopicsAsync([new TopicSpecification { Name = "keyed", NumPartitions = 1, ReplicationFactor = 1, Configs = CompactedConfigs() }]);
        using var producer = Clients.Producer(server, c => c.EnableIdempotence = false);

        var refused = await Assert.ThrowsAsync<ProduceException<string, string>>(() =>
            producer.ProduceAsync("keyed", new Message<string, string> { Key = null!, Value = "no key" }));
        Assert.Equal(ErrorCode.InvalidRecord, refused.Error.Code);
        await producer.ProduceAsync("keyed", new Message<string, string> { Key = "k", Value = "with key" });

        // KIP-467 on the wire: the refused record's index in the batch and the reason.
        using var raw = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        var batch = new RecordBatchBuilder().Add("a"u8, "1"u8, 1).Add(default, "2"u8, 1, nullKey: true).ToArray();
        var request = new ProduceRequest { Acks = 1, TimeoutMs = 5000 };
        request.TopicData.Add(new ProduceRequest.TopicProduceData
        {
            Name = "keyed",
            PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
        });
        var response = await raw.SendAsync<ProduceResponse>(0, 9, request);
        var partition = response.Responses.Single().PartitionResponses.Single();
        Assert.Equal(ErrorCodes.InvalidRecord, partition.ErrorCode);
        var error = Assert.Single(partition.RecordErrors);
        Assert.Equal(1, error.BatchIndex);
        Assert.Contains("without key", error.BatchIndexErrorMessage);
    }

    [Fact]
    public async Task TopicCompressionType_RecompressesOnAppend_AndTimestampLimitsRefuse()
    {
        await using var server = await FerryServer.StartAsync();
        using var admin = Clients.Admin(server);
        await admin.CreateTopicsAsync([new TopicSpecification
        {
            Name = "zstd-topic", NumPartitions = 1, ReplicationFactor = 1,
            Configs = new() { ["compression.type"] = "zstd", ["message.timestamp.after.max.ms"] = "60000", ["message.timestamp.before.max.ms"] = "3600000" },
        }]);
        using var producer = Clients.Producer(server, c => { c.CompressionType = CompressionType.None; c.EnableIdempotence = false; });

        await producer.ProduceAsync("zstd-topic", new Message<string, string> { Key = "k", Value = new string('x', 1000) });
        var segment = Directory.EnumerateFiles(Path.Combine(server.DataDirectory, "topics", "zstd-topic-0"), "*.log").Single();
        byte[] stored = ReadShared(segment);
        Assert.Equal(RecordBatchCompression.Zstd, RecordBatch.CompressionCodec(stored));
        using (var consumer = Clients.Consumer(server))
        {
            consumer.Assign(new TopicPartitionOffset("zstd-topic", 0, Offset.Beginning));
            Assert.Equal(new string('x', 1000), Clients.ConsumeExactly(consumer, 1).Single().Message.Value);
        }

        foreach (var when in new[] { DateTime.UtcNow.AddHours(1), DateTime.UtcNow.AddDays(-1) })
        {
            var refused = await Assert.ThrowsAsync<ProduceException<string, string>>(() => producer.ProduceAsync("zstd-topic",
                new Message<string, string> { Key = "k", Value = "late", Timestamp = new Timestamp(when) }));
            Assert.Equal(ErrorCode.InvalidTimestamp, refused.Error.Code);
        }
    }

    [Fact]
    public async Task Sigkill_DuringCleaning_LeavesEveryLatestValueReadable()
    {
        Librdkafka.EnsureLoaded();
        var root = Path.Combine(Path.GetTempPath(), "ferry-clean-kill-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var config = Path.Combine(root, "ferry.json");
        // Throttled to 1 MiB/s, a pass over a few MiB takes seconds: long enough to be killed in the middle.
        File.WriteAllText(config, """{ "Storage": { "CleanerBackoffMs": 100, "CleanerIoMaxBytesPerSecond": 1048576 } }""");
        string data = Path.Combine(root, "data");
        var latest = new Dictionary<string, string>();
        await using (var ferry = await FerryProcess.StartAsync(data, "--config", config))
        {
            using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = ferry.BootstrapServers }).Build();
            await admin.CreateTopicsAsync([new TopicSpecification { Name = "big", NumPartitions = 1, ReplicationFactor = 1, Configs = CompactedConfigs() }]);
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig { BootstrapServers = ferry.BootstrapServers, Acks = Acks.All, LingerMs = 5 }).Build();
            var value = new string('v', 1000);
            for (int round = 0; round < 8; round++)
            {
                var sends = new List<Task<DeliveryResult<string, string>>>();
                for (int k = 0; k < 500; k++) sends.Add(producer.ProduceAsync("big", new Message<string, string> { Key = $"key{k}", Value = $"{round}:{value}" }));
                foreach (var sent in await Task.WhenAll(sends)) latest[sent.Message.Key] = sent.Message.Value;
                await Task.Delay(150);
            }
            await producer.ProduceAsync("big", new Message<string, string> { Key = "trigger", Value = "1" });
            latest["trigger"] = "1";

            // Killed once the cleaner is writing its files.
            string partition = Path.Combine(data, "topics", "big-0");
            var clock = Stopwatch.StartNew();
            while (!Directory.EnumerateFiles(partition, "*.cleaned").Any())
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the cleaner never started");
                await Task.Delay(20);
            }
            await Task.Delay(500);
            ferry.Signal("KILL");
            await ferry.Process.WaitForExitAsync();
        }

        await using var restarted = await FerryProcess.StartAsync(data, "--config", config);
        Assert.Equal(latest, LatestByKey(await ReadAllAsync(restarted.BootstrapServers, "big")));
        // And once the cleaner has finished after the restart, still every latest value and nothing else.
        var clean = Stopwatch.StartNew();
        List<(long Offset, string Key, string? Value)> records;
        do
        {
            await Task.Delay(500);
            records = await ReadAllAsync(restarted.BootstrapServers, "big");
        }
        while (records.Count > latest.Count && clean.Elapsed < TimeSpan.FromSeconds(90));
        Assert.Equal(latest.Count, records.Count);
        Assert.Equal(latest, LatestByKey(records));
    }

    private static Dictionary<string, string> LatestByKey(List<(long Offset, string Key, string? Value)> records)
    {
        var latest = new Dictionary<string, string>();
        foreach (var (_, key, value) in records) latest[key] = value!;
        return latest;
    }

    private static byte[] ReadShared(string path)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return bytes;
    }

    private static async Task<List<(long Offset, string Key, string? Value)>> WaitForAsync(FerryServer server, string topic,
        Func<List<(long Offset, string Key, string? Value)>, bool> done)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var records = await ReadAllAsync(server.BootstrapServers, topic);
            if (done(records)) return records;
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
                throw new TimeoutException($"Not compacted: {string.Join(", ", records.Select(r => $"{r.Offset}:{r.Key}={r.Value}"))}");
            await Task.Delay(200);
        }
    }

    /// <summary>A full read of partition 0, as a consumer from the beginning sees it.</summary>
    private static Task<List<(long Offset, string Key, string? Value)>> ReadAllAsync(string bootstrap, string topic) => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = "read-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            EnablePartitionEof = true,
        }).Build();
        consumer.Assign(new TopicPartitionOffset(topic, 0, Offset.Beginning));
        var records = new List<(long, string, string?)>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (result is null) continue;
            if (result.IsPartitionEOF) return records;
            records.Add((result.Offset.Value, result.Message.Key, result.Message.Value));
        }
        throw new TimeoutException("The read did not reach the end of the partition.");
    });
}
