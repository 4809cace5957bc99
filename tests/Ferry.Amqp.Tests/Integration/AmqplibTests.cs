using System.Diagnostics;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>amqplib, the Node.js AMQP 0-9-1 client (installed by .ci/run with npm in tests/amqplib).</summary>
public sealed class AmqplibTests
{
    private static string? ScriptDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "amqplib");
            if (File.Exists(Path.Combine(candidate, "roundtrip.js"))) return candidate;
        }
        return null;
    }

    /// <summary>
    /// Confirms, a prefetch-limited acknowledging consumer, a nack that requeues (and comes back marked
    /// redelivered), and a close sent while 25 MiB of publishes are still being written: what amqplib users do.
    /// </summary>
    [Fact]
    public async Task Amqplib_ConfirmsConsumesRequeuesAndClosesDuringABurst()
    {
        var directory = ScriptDirectory();
        if (directory is null || !Directory.Exists(Path.Combine(directory, "node_modules", "amqplib")))
            Assert.Skip("amqplib is not installed (.ci/run runs npm ci in tests/amqplib).");
        await using var server = await FerryServer.StartAsync();

        var info = new ProcessStartInfo("node") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "roundtrip.js", $"amqp://guest:guest@127.0.0.1:{server.AmqpPort}", "amqplib-jobs", "200" })
            info.ArgumentList.Add(arg);
        using var node = Process.Start(info)!;
        var output = node.StandardOutput.ReadToEndAsync();
        var error = node.StandardError.ReadToEndAsync();
        await node.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);

        Assert.True(node.ExitCode == 0, await error + await output);
        Assert.Equal(["confirmed 200", "consumed 200 in order", "redelivered", "closed", "done"],
            (await output).Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
