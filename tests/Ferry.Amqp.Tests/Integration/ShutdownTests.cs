using System.Diagnostics;
using Ferry.Tests;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Ferry.Amqp.Tests.Integration;

public sealed class ShutdownTests
{
    [Fact]
    public async Task Sigterm_ClosesClientConnectionsWith320_AndExitsPromptly()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-amqp-term-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartAsync(data);
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort, AutomaticRecoveryEnabled = false };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync("term", durable: true, exclusive: false, autoDelete: false);
        await channel.BasicConsumeAsync("term", autoAck: false, new AsyncEventingBasicConsumer(channel));
        var shutdown = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionShutdownAsync += (_, e) =>
        {
            shutdown.TrySetResult(e);
            return Task.CompletedTask;
        };

        var stopwatch = Stopwatch.StartNew();
        ferry.Signal("TERM");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await ferry.Process.WaitForExitAsync(timeout.Token);

        Assert.Equal(0, ferry.Process.ExitCode);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"took {stopwatch.Elapsed}");
        var reason = await shutdown.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(320, reason.ReplyCode);
    }
}
