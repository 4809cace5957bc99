using System.Buffers.Binary;
using System.Net.Sockets;
using Confluent.Kafka;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;
using Ferry.Storage.Records;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// Bad input over a raw socket: each gets the protocol's error or a clean close, and the broker keeps
/// serving real clients afterwards.
/// </summary>
public sealed class MalformedInputTests
{
    private static async Task<NetworkStream> ConnectAsync(FerryServer server)
    {
        var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", server.KafkaPort);
        return client.GetStream();
    }

    /// <summary>Reads until the server closes the connection; returns the bytes it sent first.</summary>
    private static async Task<int> ReadUntilClosedAsync(NetworkStream stream)
    {
        var buffer = new byte[4096];
        int total = 0;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            int read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0) return total;
            total += read;
        }
    }

    private static byte[] Request(short apiKey, short apiVersion, int correlationId, Action<KafkaWriter> body, short headerVersion = 1)
    {
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(output);
        new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = apiVersion, CorrelationId = correlationId, ClientId = "raw" }
            .Write(writer, headerVersion);
        body(writer);
        var frame = new byte[4 + output.WrittenCount];
        BinaryPrimitives.WriteInt32BigEndian(frame, output.WrittenCount);
        output.WrittenSpan.CopyTo(frame.AsSpan(4));
        return frame;
    }

    private static async Task<byte[]> ReadResponseAsync(NetworkStream stream)
    {
        var size = new byte[4];
        await stream.ReadExactlyAsync(size);
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(size)];
        await stream.ReadExactlyAsync(body);
        return body;
    }

    private static async Task AssertStillServesAsync(FerryServer server)
    {
        using var producer = Clients.Producer(server);
        var result = await producer.ProduceAsync("after-bad-input", new Message<string, string> { Key = "k", Value = "v" });
        Assert.Equal(PersistenceStatus.Persisted, result.Status);
    }

    [Fact]
    public async Task AbsurdLengthPrefix_ClosesWithoutAllocatingIt()
    {
        await using var server = await FerryServer.StartAsync();
        long before = GC.GetTotalAllocatedBytes(precise: true);
        await using (var stream = await ConnectAsync(server))
        {
            var frame = new byte[4];
            BinaryPrimitives.WriteInt32BigEndian(frame, int.MaxValue);
            await stream.WriteAsync(frame);
            Assert.Equal(0, await ReadUntilClosedAsync(stream));
        }
        Assert.True(GC.GetTotalAllocatedBytes(precise: true) - before < 64L << 20, "a 2 GiB frame must not be allocated");
        await AssertStillServesAsync(server);
    }

    [Fact]
    public async Task NegativeLengthPrefix_Closes()
    {
        await using var server = await FerryServer.StartAsync();
        await using var stream = await ConnectAsync(server);
        await stream.WriteAsync(new byte[] { 0xFF, 0xFF, 0xFF, 0xF0, 1, 2, 3 });
        Assert.Equal(0, await ReadUntilClosedAsync(stream));
    }

    [Fact]
    public async Task Garbage_Closes_AndOthersAreServed()
    {
        await using var server = await FerryServer.StartAsync();
        await using (var stream = await ConnectAsync(server))
        {
            var garbage = new byte[64];
            new Random(7).NextBytes(garbage);
            BinaryPrimitives.WriteInt32BigEndian(garbage, 60);
            await stream.WriteAsync(garbage);
            Assert.Equal(0, await ReadUntilClosedAsync(stream));
        }
        await AssertStillServesAsync(server);
    }

    [Fact]
    public async Task UnknownApiKey_Closes()
    {
        await using var server = await FerryServer.StartAsync();
        await using var stream = await ConnectAsync(server);
        await stream.WriteAsync(Request(apiKey: 999, apiVersion: 0, correlationId: 1, _ => { }));
        Assert.Equal(0, await ReadUntilClosedAsync(stream));
    }

    [Fact]
    public async Task Fetch_AtAVersionFerryDoesNotServe_IsAnsweredUnsupportedVersion_AndTheConnectionStays()
    {
        await using var server = await FerryServer.StartAsync();
        using var raw = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        // Fetch v3: the schema knows it, Ferry serves v4+ (as Kafka 4 does, KIP-896).
        var request = new FetchRequest { ReplicaId = -1, MaxWaitMs = 0, MinBytes = 1, MaxBytes = 1 << 20 };
        request.Topics.Add(new FetchRequest.FetchTopic { Topic = "old-client", Partitions = { new FetchRequest.FetchPartition { Partition = 0, FetchOffset = 0, PartitionMaxBytes = 1 << 20 } } });
        var response = await raw.SendAsync<FetchResponse>(ApiKeys.Fetch, 3, request);

        var partition = Assert.Single(Assert.Single(response.Responses).Partitions);
        Assert.Equal(ErrorCodes.UnsupportedVersion, partition.ErrorCode);
        // The connection still serves what the client may send next.
        var versions = await raw.SendAsync<ApiVersionsResponse>(ApiKeys.ApiVersions, 0, new ApiVersionsRequest());
        Assert.Equal(0, versions.ErrorCode);
    }

    [Fact]
    public async Task FindCoordinator_V6_IsAnsweredUnsupportedVersionPerKey_AndTheConnectionStays()
    {
        await using var server = await FerryServer.StartAsync();
        using var raw = await RawKafkaClient.ConnectAsync(server.KafkaPort);
        // v6 adds KIP-932's share-group key type; Ferry serves v0-5.
        var request = new FindCoordinatorRequest { KeyType = 0, CoordinatorKeys = { "g1", "g2" } };
        var response = await raw.SendAsync<FindCoordinatorResponse>(ApiKeys.FindCoordinator, 6, request);

        Assert.Equal(["g1", "g2"], response.Coordinators.Select(c => c.Key));
        Assert.All(response.Coordinators, c => Assert.Equal(ErrorCodes.UnsupportedVersion, c.ErrorCode));
        var versions = await raw.SendAsync<ApiVersionsResponse>(ApiKeys.ApiVersions, 0, new ApiVersionsRequest());
        Assert.Equal(0, versions.ErrorCode);
    }

    /// <summary>
    /// Every API Ferry serves, at every version its schema knows outside the range Ferry advertises, has an answer
    /// carrying UNSUPPORTED_VERSION rather than a closed connection; the guard for the day a schema grows a version.
    /// </summary>
    [Fact]
    public async Task EveryVersionTheSchemaKnowsButFerryDoesNotServe_HasAnUnsupportedVersionAnswer()
    {
        await using var server = await FerryServer.StartAsync();
        var registry = (Ferry.Kafka.Handlers.KafkaHandlerRegistry)server.Services.GetService(typeof(Ferry.Kafka.Handlers.KafkaHandlerRegistry))!;
        var missing = new List<string>();
        int checkedVersions = 0;
        foreach (var handler in registry.All)
        {
            Assert.True(ApiKeys.TryGet(handler.ApiKey, out var schema));
            var requestType = handler.GetType().BaseType!.GetGenericArguments().Single();
            for (short version = schema.MinVersion; version <= schema.MaxVersion; version++)
            {
                if (version >= handler.MinVersion && version <= handler.MaxVersion) continue;
                checkedVersions++;
                var request = (IKafkaMessage)Activator.CreateInstance(requestType)!;
                var output = new System.Buffers.ArrayBufferWriter<byte>();
                request.Write(new KafkaWriter(output), version);
                if (handler.ErrorResponse(output.WrittenMemory, version, ErrorCodes.UnsupportedVersion) is null)
                    missing.Add($"{schema.Name} v{version}");
            }
        }
        Assert.Empty(missing);
        Assert.True(checkedVersions > 0);
    }

    [Fact]
    public async Task Heartbeat_BeyondEveryVersionTheSchemaKnows_Closes()
    {
        await using var server = await FerryServer.StartAsync();
        await using var stream = await ConnectAsync(server);
        await stream.WriteAsync(Request(ApiKeys.Heartbeat, 99, correlationId: 1, w => { w.WriteCompactString("g"); w.WriteInt32(1); w.WriteCompactString("m"); w.WriteEmptyTaggedFields(); }, headerVersion: 2));
        Assert.Equal(0, await ReadUntilClosedAsync(stream));
        await AssertStillServesAsync(server);
    }

    [Fact]
    public async Task ApiVersions_UnknownVersion_GetsErrorAndTheRangesInV0Format()
    {
        await using var server = await FerryServer.StartAsync();
        await using var stream = await ConnectAsync(server);
        // A future ApiVersions v9 with a flexible (v2) header; Ferry must answer in v0.
        await stream.WriteAsync(Request(ApiKeys.ApiVersions, 9, correlationId: 42, w => { w.WriteCompactString("x"); w.WriteCompactString("1"); w.WriteEmptyTaggedFields(); }, headerVersion: 2));
        var response = await ReadResponseAsync(stream);

        Assert.Equal(42, BinaryPrimitives.ReadInt32BigEndian(response));
        var reader = new KafkaReader(response.AsMemory(4));
        var body = new ApiVersionsResponse();
        body.Read(ref reader, 0);
        Assert.Equal(35, body.ErrorCode);
        Assert.Contains(body.ApiKeys, k => k.ApiKey == ApiKeys.Produce && k.MinVersion == 0);
        Assert.Contains(body.ApiKeys, k => k.ApiKey == ApiKeys.Fetch && k.MinVersion == 4);
    }

    [Fact]
    public async Task Produce_BatchWithBadCrc_IsCorruptMessage_AndNothingIsStored()
    {
        await using var server = await FerryServer.StartAsync();
        var batch = new RecordBatchBuilder().Add("k"u8, "v"u8, 1000).ToArray();
        batch[^1] ^= 0xFF;
        var request = new ProduceRequest
        {
            Acks = 1,
            TimeoutMs = 5000,
            TopicData = [new ProduceRequest.TopicProduceData
            {
                Name = "crc",
                PartitionData = [new ProduceRequest.PartitionProduceData { Index = 0, Records = batch }],
            }],
        };
        await using var stream = await ConnectAsync(server);
        await stream.WriteAsync(Request(ApiKeys.Produce, 7, correlationId: 5, w => request.Write(w, 7)));
        var response = await ReadResponseAsync(stream);

        var reader = new KafkaReader(response.AsMemory(4));
        var body = new ProduceResponse();
        body.Read(ref reader, 7);
        Assert.Equal(ErrorCodes.CorruptMessage, body.Responses.Single().PartitionResponses.Single().ErrorCode);

        using var consumer = Clients.Consumer(server);
        var watermarks = consumer.QueryWatermarkOffsets(new TopicPartition("crc", 0), TimeSpan.FromSeconds(10));
        Assert.Equal(0, watermarks.High.Value);
    }
}
