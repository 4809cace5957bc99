using Ferry.Tests;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>kafkajs, a pure-JavaScript client with its own protocol code (no librdkafka), installed by .ci/run with npm.</summary>
public sealed class KafkajsTests
{
    [Fact]
    public async Task Kafkajs_AdminProduceAndGroupConsume()
    {
        var directory = NodeScript.InstalledDirectory("kafkajs", "roundtrip.js", "kafkajs");
        if (directory is null) Assert.Skip("kafkajs is not installed (.ci/run runs npm ci in tests/kafkajs).");
        await using var server = await FerryServer.StartAsync();

        var (exitCode, output, error) = await NodeScript.RunAsync(directory, "roundtrip.js", TimeSpan.FromSeconds(60),
            server.BootstrapServers, "kafkajs-topic", "300");

        Assert.True(exitCode == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("done", lines[^1]);
        Assert.Equal("committed 300", lines[^2]);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"v{i}").Order(StringComparer.Ordinal), lines[..^2]);
    }
}
