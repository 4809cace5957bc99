using System.Net.Sockets;
using RabbitMQ.Client;

namespace Ferry.Tests;

/// <summary>
/// A client opening connections until refused, against the real ferry process under <c>ulimit -n 512</c>: the
/// process must not reach the open-file limit (there the runtime itself failed, and the process aborted with
/// "Out of memory." after ~800 connections), must log the refusals, and must keep serving the client already
/// connected; once the flood is gone, new clients are served again.
/// </summary>
public sealed class ConnectionFloodTests
{
    private const int Flood = 1500;

    [Fact]
    public async Task ConnectionFlood_UnderLowOpenFileLimit_RefusedAndLogged_OthersServed()
    {
        string data = Path.Combine(Path.GetTempPath(), "ferry-flood-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartWithOpenFileLimitAsync(data, 512);
        var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort, AutomaticRecoveryEnabled = false };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("steady", durable: true, exclusive: false, autoDelete: false);
        await channel.BasicPublishAsync("", "steady", true, new BasicProperties { Persistent = true }, "before"u8.ToArray());

        var sockets = new List<Socket>();
        try
        {
            // Both protocol ports, alternately; a connect that the full accept queue leaves unanswered is skipped.
            for (int i = 0; i < Flood; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                    await socket.ConnectAsync("127.0.0.1", i % 2 == 0 ? ferry.KafkaPort : ferry.AmqpPort, timeout.Token);
                    sockets.Add(socket);
                }
                catch (Exception ex) when (ex is SocketException or OperationCanceledException)
                {
                    socket.Dispose();
                }
                Assert.False(ferry.Process.HasExited, $"ferry exited under the flood after {i} connections:\n{ferry.Output}");
            }

            await WaitForAsync(() => ferry.Output.Contains("[1202]", StringComparison.Ordinal), "a log line for the refused connections", ferry);
            Assert.False(ferry.Process.HasExited, ferry.Output);
            // The client connected before the flood is served through it.
            try
            {
                await channel.BasicPublishAsync("", "steady", true, new BasicProperties { Persistent = true }, "during"u8.ToArray())
                    .AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                throw new InvalidOperationException($"the connection made before the flood was not served through it:\n{ferry.Output}", ex);
            }
            Assert.True(ferry.ResidentBytes < 1L << 30, $"{ferry.ResidentBytes >> 20} MiB resident under the flood");
        }
        finally
        {
            foreach (var socket in sockets) socket.Dispose();
        }

        // The flood gone, a new client gets in (the broker notices the closed sockets as it reads them).
        IConnection? fresh = null;
        await WaitForAsync(async () =>
        {
            try
            {
                fresh = await factory.CreateConnectionAsync();
                return true;
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException)
            {
                return false;
            }
        }, "a new AMQP connection after the flood", ferry);
        await using (fresh!)
        await using (var check = await fresh!.CreateChannelAsync())
        {
            Assert.Equal(2u, await check.MessageCountAsync("steady"));
        }
        Assert.False(ferry.Process.HasExited, ferry.Output);
    }

    private static Task WaitForAsync(Func<bool> condition, string what, FerryProcess ferry) =>
        WaitForAsync(() => Task.FromResult(condition()), what, ferry);

    private static async Task WaitForAsync(Func<Task<bool>> condition, string what, FerryProcess ferry)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no {what} within 90 s:\n{ferry.Output}");
            if (ferry.Process.HasExited) throw new InvalidOperationException($"ferry exited waiting for {what}:\n{ferry.Output}");
            await Task.Delay(100);
        }
    }
}
