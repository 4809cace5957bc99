using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary>The admin HTTP API: status codes, error shape, JSON shapes, connections of both protocols.</summary>
public sealed class AdminApiTests(LiveFerry ferry) : IClassFixture<LiveFerry>
{
    private HttpClient Http => ferry.Http;

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string contains)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await JsonAsync(response);
        Assert.Equal((int)status, body.GetProperty("status").GetInt32());
        Assert.Contains(contains, body.GetProperty("error").GetString());
    }

    [Fact]
    public async Task Topics_StatusCodes()
    {
        var created = await Http.PostAsJsonAsync("/api/topics", new { name = "api-topic", partitions = 2 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var topic = await JsonAsync(created);
        Assert.Equal("api-topic", topic.GetProperty("name").GetString());
        Assert.Equal(2, topic.GetProperty("partitions").GetArrayLength());
        var partition = topic.GetProperty("partitions")[0];
        foreach (var field in new[] { "partition", "leader", "leaderEpoch", "logStartOffset", "highWatermark", "messages", "sizeBytes", "segments" })
            Assert.True(partition.TryGetProperty(field, out _), field);

        await AssertErrorAsync(await Http.PostAsJsonAsync("/api/topics", new { name = "api-topic" }), HttpStatusCode.Conflict, "already exists");
        await AssertErrorAsync(await Http.PostAsJsonAsync("/api/topics", new { name = "bad/name" }), HttpStatusCode.BadRequest, "");
        await AssertErrorAsync(await Http.PostAsJsonAsync("/api/topics", new { name = "api-zero", partitions = 0 }), HttpStatusCode.BadRequest, "partitions");
        await AssertErrorAsync(await Http.PostAsync("/api/topics", new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "Invalid JSON");
        await AssertErrorAsync(await Http.GetAsync("/api/topics/missing"), HttpStatusCode.NotFound, "'missing' does not exist");
        await AssertErrorAsync(await Http.DeleteAsync("/api/topics/missing"), HttpStatusCode.NotFound, "does not exist");
        await AssertErrorAsync(await Http.PatchAsJsonAsync("/api/topics/api-topic", new { set = new Dictionary<string, string> { ["retention.ms"] = "soon" } }),
            HttpStatusCode.BadRequest, "retention.ms");
        await AssertErrorAsync(await Http.PatchAsJsonAsync("/api/topics/api-topic", new { set = new Dictionary<string, string> { ["no.such"] = "1" } }),
            HttpStatusCode.BadRequest, "no.such");
        await AssertErrorAsync(await Http.GetAsync("/api/topics/api-topic/partitions/7/records"), HttpStatusCode.NotFound, "no partition 7");
        await AssertErrorAsync(await Http.GetAsync("/api/topics/api-topic/partitions/0/records?offset=99"), HttpStatusCode.RequestedRangeNotSatisfiable, "out of range");
        await AssertErrorAsync(await Http.PostAsJsonAsync("/api/topics/api-topic/records", new { records = Array.Empty<object>() }), HttpStatusCode.BadRequest, "No records");
        await AssertErrorAsync(await Http.GetAsync("/api/nothing-here"), HttpStatusCode.NotFound, "No such admin API endpoint");

        var altered = await Http.PatchAsJsonAsync("/api/topics/api-topic", new { set = new Dictionary<string, string> { ["retention.ms"] = "5000" } });
        Assert.Equal(HttpStatusCode.OK, altered.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Http.DeleteAsync("/api/topics/api-topic")).StatusCode);
    }

    [Fact]
    public async Task Records_ProduceAndRead_WithKafkaPartitioning()
    {
        Assert.Equal(HttpStatusCode.Created, (await Http.PostAsJsonAsync("/api/topics", new { name = "api-records", partitions = 4 })).StatusCode);
        var produced = await Http.PostAsJsonAsync("/api/topics/api-records/records", new
        {
            records = new object[]
            {
                new { key = "user-1", value = "a", headers = new Dictionary<string, string> { ["h"] = "v" } },
                new { key = "user-1", value = "b" },
                new { key = (string?)null, value = "c", partition = 3 },
            },
        });
        Assert.Equal(HttpStatusCode.OK, produced.StatusCode);
        var body = await JsonAsync(produced);
        Assert.Equal(3, body.GetProperty("count").GetInt32());
        var batches = body.GetProperty("batches").EnumerateArray().ToList();
        var keyed = batches.Single(b => b.GetProperty("lastOffset").GetInt64() - b.GetProperty("baseOffset").GetInt64() == 1);
        // murmur2("user-1") as Kafka's default partitioner computes it.
        Assert.Equal(KafkaPartitionOf("user-1", 4), keyed.GetProperty("partition").GetInt32());

        var read = await JsonAsync(await Http.GetAsync($"/api/topics/api-records/partitions/{keyed.GetProperty("partition").GetInt32()}/records?offset=0&max=10"));
        var records = read.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(["a", "b"], records.Select(r => r.GetProperty("value").GetString()));
        Assert.Equal("user-1", records[0].GetProperty("key").GetString());
        Assert.Equal("v", records[0].GetProperty("headers")[0].GetProperty("value").GetString());
        Assert.Equal(2, read.GetProperty("nextOffset").GetInt64());
        Assert.Equal(2, read.GetProperty("highWatermark").GetInt64());

        var last = await JsonAsync(await Http.GetAsync("/api/topics/api-records/partitions/3/records?offset=-2"));
        Assert.Contains(last.GetProperty("records").EnumerateArray(), r => r.GetProperty("value").GetString() == "c" && r.GetProperty("key").ValueKind == JsonValueKind.Null);
    }

    /// <summary>Kafka's Utils.murmur2 as published, for an independent check of the partitioner.</summary>
    private static int KafkaPartitionOf(string key, int partitions)
    {
        var data = Encoding.UTF8.GetBytes(key);
        const int seed = unchecked((int)0x9747b28c), m = 0x5bd1e995, r = 24;
        int length = data.Length, h = seed ^ length;
        for (int i = 0; i < length / 4; i++)
        {
            int k = BinaryPrimitives.ReadInt32LittleEndian(data.AsSpan(i * 4));
            k *= m; k ^= (int)((uint)k >> r); k *= m; h *= m; h ^= k;
        }
        int tail = length / 4 * 4;
        switch (length % 4)
        {
            case 3: h ^= (data[tail + 2] & 0xff) << 16; goto case 2;
            case 2: h ^= (data[tail + 1] & 0xff) << 8; goto case 1;
            case 1: h ^= data[tail] & 0xff; h *= m; break;
        }
        h ^= (int)((uint)h >> 13); h *= m; h ^= (int)((uint)h >> 15);
        return (h & 0x7fffffff) % partitions;
    }

    [Fact]
    public async Task Queues_DeclarePurgeDelete_AndMissingQueue()
    {
        var declared = await Http.PutAsJsonAsync("/api/queues/api-q", new { durable = false });
        Assert.Equal(HttpStatusCode.Created, declared.StatusCode);
        var queue = await JsonAsync(declared);
        foreach (var field in new[] { "name", "durable", "messages", "ready", "unacked", "consumers", "publishedTotal", "deliveredTotal", "rates" })
            Assert.True(queue.TryGetProperty(field, out _), field);
        Assert.Equal(HttpStatusCode.OK, (await Http.PutAsJsonAsync("/api/queues/api-q", new { durable = false })).StatusCode);
        await AssertErrorAsync(await Http.PutAsJsonAsync("/api/queues/api-q", new { durable = true }), HttpStatusCode.Conflict, "inequivalent");
        await AssertErrorAsync(await Http.PutAsJsonAsync("/api/queues/amq.reserved", new { }), HttpStatusCode.Forbidden, "amq.");
        await AssertErrorAsync(await Http.GetAsync("/api/queues/nope"), HttpStatusCode.NotFound, "'nope' does not exist");
        await AssertErrorAsync(await Http.PostAsync("/api/queues/nope/purge", null), HttpStatusCode.NotFound, "no queue 'nope'");
        await AssertErrorAsync(await Http.DeleteAsync("/api/queues/nope"), HttpStatusCode.NotFound, "does not exist");
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync("/api/queues/api-q/purge", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await Http.DeleteAsync("/api/queues/api-q")).StatusCode);
    }

    [Fact]
    public async Task Groups_UnknownGroup_Is404_AndTheListIsServed()
    {
        Assert.Equal(JsonValueKind.Array, (await JsonAsync(await Http.GetAsync("/api/groups"))).ValueKind);
        await AssertErrorAsync(await Http.GetAsync("/api/groups/no-such-group"), HttpStatusCode.NotFound, "no-such-group");
        await AssertErrorAsync(await Http.DeleteAsync("/api/groups/no-such-group"), HttpStatusCode.NotFound, "no-such-group");
    }

    [Fact]
    public async Task Health_LiveReadyAndLegacy()
    {
        foreach (var path in new[] { "/health", "/health/live", "/health/ready" })
        {
            var response = await Http.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("ok", (await JsonAsync(response)).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Overview_HasTheDocumentedShape()
    {
        var overview = await JsonAsync(await Http.GetAsync("/api/overview"));
        foreach (var field in new[] { "version", "startedAt", "uptimeSeconds", "dataDirectory", "listeners", "counts", "topics", "queues" })
            Assert.True(overview.TryGetProperty(field, out _), field);
        Assert.Equal($"127.0.0.1:{ferry.Process.AmqpPort}", overview.GetProperty("listeners").GetProperty("amqp").GetString());
        Assert.Equal(JsonValueKind.Number, overview.GetProperty("counts").GetProperty("groups").ValueKind);
        Assert.True(overview.GetProperty("topics").TryGetProperty("messagesInPerSecond", out _));
    }

    [Fact]
    public async Task Connections_ShowKafkaClientIdAndAmqpClientSoftware()
    {
        using var kafka = new TcpClient();
        await kafka.ConnectAsync(IPAddress.Loopback, ferry.Process.KafkaPort);
        await SendApiVersionsAsync(kafka.GetStream(), "ops-test-client");

        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.Process.AmqpPort, ClientProvidedName = "ops-amqp" };
        await using var amqp = await factory.CreateConnectionAsync();

        var connections = (await JsonAsync(await Http.GetAsync("/api/connections"))).EnumerateArray().ToList();
        var k = Assert.Single(connections, c => c.GetProperty("protocol").GetString() == "kafka");
        Assert.Equal("ops-test-client", k.GetProperty("clientId").GetString());
        Assert.Equal("ops-sdk 1.2.3", k.GetProperty("clientSoftware").GetString());
        Assert.StartsWith("127.0.0.1:", k.GetProperty("peer").GetString());
        var a = Assert.Single(connections, c => c.GetProperty("protocol").GetString() == "amqp");
        Assert.Equal("ops-amqp", a.GetProperty("clientId").GetString());
        Assert.StartsWith("RabbitMQ", a.GetProperty("clientSoftware").GetString());
        Assert.Equal("guest", a.GetProperty("user").GetString());

        kafka.Close();
        await amqp.CloseAsync();
        // Both go away once closed (the broker notices asynchronously).
        for (int i = 0; i < 100; i++)
        {
            var left = await JsonAsync(await Http.GetAsync("/api/connections"));
            if (left.GetArrayLength() == 0) return;
            await Task.Delay(20);
        }
        Assert.Fail("connections were not removed");
    }

    /// <summary>
    /// ApiVersions v3 (KIP-511): Size | ApiKey 18 | Version 3 | CorrelationId | ClientId (int16 length + bytes) |
    /// no tagged fields | ClientSoftwareName, ClientSoftwareVersion (compact strings) | no tagged fields.
    /// </summary>
    internal static async Task SendApiVersionsAsync(NetworkStream stream, string clientId, string software = "ops-sdk", string version = "1.2.3")
    {
        var id = Encoding.UTF8.GetBytes(clientId);
        var name = Encoding.UTF8.GetBytes(software);
        var ver = Encoding.UTF8.GetBytes(version);
        var frame = new List<byte>();
        void Int16(int v) { frame.Add((byte)(v >> 8)); frame.Add((byte)v); }
        Int16(18);
        Int16(3);
        frame.AddRange([0, 0, 0, 1]);
        Int16(id.Length);
        frame.AddRange(id);
        frame.Add(0);
        frame.Add((byte)(name.Length + 1)); // short strings: one varint byte
        frame.AddRange(name);
        frame.Add((byte)(ver.Length + 1));
        frame.AddRange(ver);
        frame.Add(0);
        var size = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(size, frame.Count);
        await stream.WriteAsync(size);
        await stream.WriteAsync(frame.ToArray());
        await stream.ReadExactlyAsync(size);
        await stream.ReadExactlyAsync(new byte[BinaryPrimitives.ReadInt32BigEndian(size)]);
    }
}
