using System.Diagnostics;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>kafkajs, a pure-JavaScript client with its own protocol code (no librdkafka), installed by .ci/run with npm.</summary>
public sealed class KafkajsTests
{
    private static string? ScriptDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "kafkajs");
            if (File.Exists(Path.Combine(candidate, "roundtrip.js"))) return candidate;
        }
        return null;
    }

    [Fact]
    public async Task Kafkajs_AdminProduceAndGroupConsume()
    {
        var directory = ScriptDirectory();
        if (directory is null || !Directory.Exists(Path.Combine(directory, "node_modules", "kafkajs")))
            Assert.Skip("kafkajs is not installed (.ci/run runs npm ci in tests/kafkajs).");
        await using var server = await FerryServer.StartAsync();

        var info = new ProcessStartInfo("node") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "roundtrip.js", server.BootstrapServers, "kafkajs-topic", "300" }) info.ArgumentList.Add(arg);
        using var node = Process.Start(info)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);

        Assert.True(node.ExitCode == 0, await error);
        var lines = (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("done", lines[^1]);
        Assert.Equal("committed 300", lines[^2]);
        Assert.Equal(Enumerable.Range(0, 300).Select(i => $"v{i}").Order(StringComparer.Ordinal), lines[..^2]);
    }
}
