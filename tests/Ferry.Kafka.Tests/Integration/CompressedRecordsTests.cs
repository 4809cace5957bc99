using System.Net.Http.Json;
using System.Text.Json;
using Confluent.Kafka;
using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>The admin records API and <c>ferry consume</c> read compressed batches as a Kafka consumer does; the admin API names the leader Kafka Metadata names.</summary>
public sealed class CompressedRecordsTests
{
    [Fact]
    public async Task AdminApiAndFerryConsume_DecompressEveryCodec_AndAgreeWithMetadataOnTheLeader()
    {
        Librdkafka.EnsureLoaded();
        var data = Path.Combine(Path.GetTempPath(), "ferry-compressed-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartAsync(data);
        var codecs = new[] { CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd };
        foreach (var codec in codecs)
        {
            using var producer = new ProducerBuilder<string, string>(new ProducerConfig
            {
                BootstrapServers = ferry.BootstrapServers,
                CompressionType = codec,
                LingerMs = 100,
            }).Build();
            for (int i = 0; i < 30; i++)
                producer.Produce(Topic(codec), new Message<string, string> { Key = $"k{i}", Value = $"value-{i}-" + new string('z', 200) });
            Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        }

        using var http = new HttpClient { BaseAddress = new Uri(ferry.Server) };
        var expected = Enumerable.Range(0, 30).Select(i => $"value-{i}-" + new string('z', 200)).ToList();
        foreach (var codec in codecs)
        {
            var page = JsonDocument.Parse(await http.GetStringAsync($"/api/topics/{Topic(codec)}/partitions/0/records?offset=0&max=100")).RootElement;
            Assert.Equal(expected, page.GetProperty("records").EnumerateArray().Select(r => r.GetProperty("value").GetString()));
            Assert.Equal(30, page.GetProperty("nextOffset").GetInt64());

            var (code, stdout, stderr) = await FerryProcess.RunAsync(null, "consume", Topic(codec), "--count", "30", "-f", "%o:%k\\n", "--server", ferry.Server);
            Assert.True(code == 0, stderr);
            Assert.Equal(Enumerable.Range(0, 30).Select(i => $"{i}:k{i}"), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        }

        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = ferry.BootstrapServers }).Build();
        int kafkaLeader = admin.GetMetadata(Topic(codecs[0]), TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Single().Leader;
        var topic = await http.GetFromJsonAsync<JsonElement>($"/api/topics/{Topic(codecs[0])}");
        Assert.Equal(kafkaLeader, topic.GetProperty("partitions")[0].GetProperty("leader").GetInt32());
    }

    private static string Topic(CompressionType codec) => "packed-" + codec.ToString().ToLowerInvariant();
}
