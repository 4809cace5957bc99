using Ferry.Broker.Resources;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Ferry.Amqp.Tests.Integration;

public sealed class ResourceAlarmTests
{
    [Fact]
    public async Task DiskAlarm_BlocksPublishers_UntilItClears()
    {
        // A disk-free limit no disk meets raises the alarm from the start.
        await using var server = await FerryServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Resources:DiskFreeLimitBytes"] = long.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var alarm = server.Services.GetRequiredService<ResourceAlarm>();
        Assert.True(alarm.IsRaised);

        await using var connection = await server.ConnectAsync();
        var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var unblocked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionBlockedAsync += (_, e) => { blocked.TrySetResult(e.Reason); return Task.CompletedTask; };
        connection.ConnectionUnblockedAsync += (_, _) => { unblocked.TrySetResult(); return Task.CompletedTask; };
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("alarmed", durable: true, exclusive: false, autoDelete: false);

        var first = channel.BasicPublishAsync("", "alarmed", true, new BasicProperties { Persistent = true }, "one"u8.ToArray()).AsTask();
        Assert.Contains("disk", await blocked.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        var second = channel.BasicPublishAsync("", "alarmed", true, new BasicProperties { Persistent = true }, "two"u8.ToArray()).AsTask();
        await Task.Delay(300);
        Assert.False(second.IsCompleted, "no confirm may arrive while the publisher is blocked");

        alarm.Options.DiskFreeLimitBytes = 0;
        alarm.Check();

        await unblocked.Task.WaitAsync(TimeSpan.FromSeconds(10));
        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2u, await channel.MessageCountAsync("alarmed"));
    }

    [Fact]
    public async Task DiskAlarm_RaisedWhilePublisherIdle_BlockedAtOnce()
    {
        await using var server = await FerryServer.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Resources:DiskFreeLimitBytes"] = "0",
        });
        var alarm = server.Services.GetRequiredService<ResourceAlarm>();
        var factory = server.Factory();
        factory.RequestedHeartbeat = TimeSpan.Zero; // no heartbeats: nothing from the client could wake a blocked read
        await using var connection = await factory.CreateConnectionAsync();
        var blocked = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.ConnectionBlockedAsync += (_, e) => { blocked.TrySetResult(e.Reason); return Task.CompletedTask; };
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("idle", durable: true, exclusive: false, autoDelete: false);
        await channel.BasicPublishAsync("", "idle", true, new BasicProperties { Persistent = true }, "one"u8.ToArray());

        // The client now sends nothing: the broker must speak first.
        alarm.Options.DiskFreeLimitBytes = long.MaxValue;
        alarm.Check();
        Assert.Contains("disk", await blocked.Task.WaitAsync(TimeSpan.FromSeconds(60)));
    }
}
