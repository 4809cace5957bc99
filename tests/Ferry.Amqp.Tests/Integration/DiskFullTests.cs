using System.Text;
using Ferry.Tests;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// The real ferry process on a small filesystem filled under AMQP publishers with confirms: with the disk alarm,
/// publishers are blocked (connection.blocked) before the disk is full and unblocked when space returns; without
/// it, a publish the disk cannot take is nacked, never acked. Every acknowledged message survives a restart.
/// </summary>
public sealed class DiskFullTests
{
    private const string Queue = "jobs";

    [Fact]
    public async Task Publish_DiskAlarmOnRealDisk_BlocksUntilSpaceReturns_NothingConfirmedLost()
    {
        // The publisher sends nothing between the fill and connection.blocked: the broker must tell it as the alarm
        // goes up, not at its next frame (a heartbeat up to 30 s later, which is what once made this test time out).
        using var fs = SmallFilesystem.Mount(24L << 20);
        string data = Path.Combine(fs.Path, "data");
        string config = WriteConfig(diskFreeLimitBytes: 4L << 20);
        var confirmed = new List<string>();

        await using (var ferry = await FerryProcess.StartAsync(data, "--config", config))
        {
            await using var connection = await Connect(ferry);
            var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            var unblocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.ConnectionBlockedAsync += (_, e) => { blocked.TrySetResult(e.Reason); return Task.CompletedTask; };
            connection.ConnectionUnblockedAsync += (_, _) => { unblocked.TrySetResult(); return Task.CompletedTask; };
            await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
            await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
            for (int i = 0; i < 20; i++) await Publish(channel, $"before-{i}", confirmed);

            fs.Fill(leaveFree: 2L << 20);
            Assert.Contains("disk", await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60)));
            var held = Publish(channel, "held", confirmed);
            await Task.Delay(500);
            Assert.False(held.IsCompleted, "no confirm may arrive while the publisher is blocked");

            fs.Release();
            await unblocked.Task.WaitAsync(TimeSpan.FromSeconds(60));
            await held.WaitAsync(TimeSpan.FromSeconds(60));
            for (int i = 0; i < 20; i++) await Publish(channel, $"after-{i}", confirmed);
            Assert.False(ferry.Process.HasExited, ferry.Output);
        }

        await AssertAllRecoveredAsync(data, config, confirmed);
    }

    [Fact]
    public async Task Publish_DiskFullWithoutAlarm_NackedNeverAcked_ResumesWhenSpaceReturns()
    {
        using var fs = SmallFilesystem.Mount(24L << 20);
        string data = Path.Combine(fs.Path, "data");
        string config = WriteConfig(diskFreeLimitBytes: 0);
        var confirmed = new List<string>();
        int nacked = 0;

        await using (var ferry = await FerryProcess.StartAsync(data, "--config", config))
        {
            await using (var connection = await Connect(ferry))
            {
                await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                await channel.QueueDeclareAsync(Queue, durable: true, exclusive: false, autoDelete: false);
                await Publish(channel, "first", confirmed);

                fs.Fill(leaveFree: 128 * 1024);
                // 2 MiB into 128 KiB: what the disk cannot take must not be confirmed.
                for (int i = 0; i < 2048 && channel.IsOpen; i++)
                {
                    try
                    {
                        await Publish(channel, $"full-{i:D4}-" + new string('x', 1000), confirmed).WaitAsync(TimeSpan.FromSeconds(30));
                    }
                    catch (PublishException)
                    {
                        nacked++;
                    }
                }
            }
            Assert.True(nacked > 0, $"{confirmed.Count} confirmed, none nacked, on a full disk");
            Assert.False(ferry.Process.HasExited, ferry.Output);

            fs.Release();
            await using (var connection = await Connect(ferry))
            {
                await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
                for (int i = 0; i < 20; i++) await Publish(channel, $"after-{i}", confirmed);
            }
        }

        await AssertAllRecoveredAsync(data, config, confirmed);
    }

    private static string WriteConfig(long diskFreeLimitBytes)
    {
        string path = Path.Combine(Path.GetTempPath(), "ferry-diskfull-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, $$"""{ "Resources": { "DiskFreeLimitBytes": {{diskFreeLimitBytes}} } }""");
        return path;
    }

    private static Task<IConnection> Connect(FerryProcess ferry) =>
        new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort }.CreateConnectionAsync();

    private static async Task Publish(IChannel channel, string body, List<string> confirmed)
    {
        await channel.BasicPublishAsync("", Queue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes(body));
        lock (confirmed) confirmed.Add(body);
    }

    /// <summary>Restarts on the same data and drains the queue: every confirmed message is there.</summary>
    private static async Task AssertAllRecoveredAsync(string data, string config, List<string> confirmed)
    {
        await using var ferry = await FerryProcess.StartAsync(data, "--config", config);
        await using var connection = await Connect(ferry);
        await using var channel = await connection.CreateChannelAsync();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        while (await channel.BasicGetAsync(Queue, autoAck: true) is { } message) seen.Add(Encoding.UTF8.GetString(message.Body.Span));
        var missing = confirmed.Where(body => !seen.Contains(body)).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} of {confirmed.Count} confirmed messages missing, first: {missing.FirstOrDefault()?[..Math.Min(10, missing[0].Length)]}");
    }
}
