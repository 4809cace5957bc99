using System.Diagnostics;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>kcat from Debian (librdkafka 2.0.2): an older client, negotiating older API versions.</summary>
public sealed class KcatTests
{
    [Fact]
    public async Task Kcat_ProducesAndConsumes_KeysAndValues()
    {
        if (!File.Exists("/usr/bin/kcat")) Assert.Skip("kcat is not installed (.ci/apt-packages lists it).");
        await using var server = await FerryServer.StartAsync();
        var lines = string.Join('\n', Enumerable.Range(0, 20).Select(i => $"key{i}:value{i}")) + "\n";

        var produced = await Kcat.RunAsync(lines, "-b", server.BootstrapServers, "-t", "kcat-topic", "-P", "-K:", "-X", "acks=all");
        Assert.True(produced.Code == 0, produced.Error);

        var consumed = await Kcat.RunAsync("", "-b", server.BootstrapServers, "-t", "kcat-topic", "-C", "-o", "beginning", "-e", "-f", "%k=%s@%o\n");
        Assert.True(consumed.Code == 0, consumed.Error);
        var expected = Enumerable.Range(0, 20).Select(i => $"key{i}=value{i}@{i}");
        Assert.Equal(expected, consumed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        var metadata = await Kcat.RunAsync("", "-b", server.BootstrapServers, "-L", "-t", "kcat-topic");
        Assert.Contains("1 partitions", metadata.Output);
        Assert.Contains($"127.0.0.1:{server.KafkaPort}", metadata.Output);
    }
}

/// <summary>Runs kcat with <c>stdin</c>, at most 30 s.</summary>
internal static class Kcat
{
    public static async Task<(int Code, string Output, string Error)> RunAsync(string stdin, params string[] args)
    {
        var info = new ProcessStartInfo("kcat")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in args) info.ArgumentList.Add(arg);
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
