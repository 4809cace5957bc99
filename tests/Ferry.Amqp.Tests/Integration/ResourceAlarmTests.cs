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
}
