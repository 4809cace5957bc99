using Ferry.Tests;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>amqplib, the Node.js AMQP 0-9-1 client (installed by .ci/run with npm ci in tests/amqplib).</summary>
public sealed class AmqplibTests
{
    /// <summary>
    /// Confirms, a prefetch-limited acknowledging consumer, a nack that requeues (and comes back marked
    /// redelivered), and a close sent while 25 MiB of publishes are still being written: what amqplib users do.
    /// </summary>
    [Fact]
    public async Task Amqplib_ConfirmsConsumesRequeuesAndClosesDuringABurst()
    {
        var directory = NodeScript.InstalledDirectory("amqplib", "roundtrip.js", "amqplib");
        if (directory is null) Assert.Skip("amqplib is not installed (.ci/run runs npm ci in tests/amqplib).");
        await using var server = await FerryServer.StartAsync();

        var (exitCode, output, error) = await NodeScript.RunAsync(directory, "roundtrip.js", TimeSpan.FromSeconds(90),
            $"amqp://guest:guest@127.0.0.1:{server.AmqpPort}", "amqplib-jobs", "200");

        Assert.True(exitCode == 0, error + output);
        Assert.Equal(["confirmed 200", "consumed 200 in order", "redelivered", "closed", "done"],
            output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }
}
