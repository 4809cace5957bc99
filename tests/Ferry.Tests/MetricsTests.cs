using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary><c>GET /metrics</c>: Prometheus text whose counters move with traffic.</summary>
public sealed class MetricsTests(LiveFerry ferry) : IClassFixture<LiveFerry>
{
    private async Task<string> ScrapeAsync()
    {
        var response = await ferry.Http.GetAsync("/metrics");
        response.EnsureSuccessStatusCode();
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The value of the sample <c>name{...label="value"...}</c>, or 0 when absent.</summary>
    private static double Sample(string scrape, string name, string label)
    {
        var match = Regex.Match(scrape, "^" + Regex.Escape(name) + @"\{[^}]*" + Regex.Escape(label) + @"[^}]*\} (\S+)", RegexOptions.Multiline);
        return match.Success ? double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : 0;
    }

    [Fact]
    public async Task TopicCounters_MoveAfterProduceAndConsume()
    {
        Assert.Equal(0, (await ferry.RunAsync("topics", "create", "metered")).ExitCode);
        var before = await ScrapeAsync();
        Assert.Equal(0, Sample(before, "ferry_topic_messages_in_total", "topic=\"metered\""));

        Assert.Equal(0, (await ferry.RunWithInputAsync("one\ntwo\nthree\n", "produce", "metered")).ExitCode);
        var produced = await ScrapeAsync();
        Assert.Equal(3, Sample(produced, "ferry_topic_messages_in_total", "topic=\"metered\""));
        Assert.True(Sample(produced, "ferry_topic_bytes_in_bytes_total", "topic=\"metered\"") > 0);
        Assert.True(Sample(produced, "ferry_topic_log_size_bytes", "topic=\"metered\"") > 0);
        Assert.Equal(0, Sample(produced, "ferry_topic_messages_out_total", "topic=\"metered\""));

        var consumed = await ferry.RunAsync("consume", "metered");
        Assert.Equal(0, consumed.ExitCode);
        Assert.Equal("one\ntwo\nthree\n", consumed.Stdout);
        var after = await ScrapeAsync();
        Assert.Equal(3, Sample(after, "ferry_topic_messages_out_total", "topic=\"metered\""));
        Assert.True(Sample(after, "ferry_topic_bytes_out_bytes_total", "topic=\"metered\"") > 0);
        // acks=all through group commit: the fsync histogram has observations.
        Assert.True(Sample(after, "ferry_storage_fsync_duration_seconds_count", "otel_scope_name") > 0);
    }

    [Fact]
    public async Task ProtocolMetrics_RequestLatencyQueueTrafficAndConnections()
    {
        using (var kafka = new TcpClient())
        {
            await kafka.ConnectAsync(System.Net.IPAddress.Loopback, ferry.Process.KafkaPort);
            await AdminApiTests.SendApiVersionsAsync(kafka.GetStream(), "metrics-test");
            var scrape = await ScrapeAsync();
            Assert.True(Sample(scrape, "ferry_kafka_request_duration_seconds_count", "api=\"ApiVersions\"") >= 1);
            Assert.True(Sample(scrape, "ferry_connections", "protocol=\"kafka\"") >= 1);
        }

        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.Process.AmqpPort };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync("metered-q", durable: true, exclusive: false, autoDelete: false);
        for (int i = 0; i < 3; i++) await channel.BasicPublishAsync("", "metered-q", Encoding.UTF8.GetBytes("m" + i));
        // basic.get is synchronous on the channel, so the publishes before it have been routed.
        var got = await channel.BasicGetAsync("metered-q", autoAck: true);
        Assert.NotNull(got);

        var after = await ScrapeAsync();
        Assert.Equal(3, Sample(after, "ferry_queue_messages_in_total", "queue=\"metered-q\""));
        Assert.Equal(1, Sample(after, "ferry_queue_messages_out_total", "queue=\"metered-q\""));
        Assert.Equal(2, Sample(after, "ferry_queue_depth", "queue=\"metered-q\""));
        Assert.True(Sample(after, "ferry_amqp_method_duration_seconds_count", "method=\"queue.declare\"") >= 1);
        Assert.True(Sample(after, "ferry_connections", "protocol=\"amqp\"") >= 1);
        Assert.Contains("ferry_amqp_method_duration_seconds_bucket{", after);
    }
}
