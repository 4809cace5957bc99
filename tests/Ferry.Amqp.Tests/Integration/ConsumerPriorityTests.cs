using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>RabbitMQ consumer priorities: <c>x-priority</c> on basic.consume.</summary>
public sealed class ConsumerPriorityTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    [Fact]
    public async Task HigherPriorityConsumer_GetsMessagesWhileItHasCredit_LowerOnlyWhenItIsBlocked()
    {
        string queue = Name("consumer-priority");
        await using var connection = await Server.ConnectAsync();
        await using var publisher = await connection.CreateChannelAsync();
        await publisher.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false);

        // The low-priority consumer subscribes first: priority, not arrival, decides.
        await using var lowChannel = await connection.CreateChannelAsync();
        var low = new Recorder(lowChannel);
        await lowChannel.BasicConsumeAsync(queue, autoAck: false, "low", false, false, null, low.Consumer);
        await using var highChannel = await connection.CreateChannelAsync();
        await highChannel.BasicQosAsync(0, 3, false);
        var high = new Recorder(highChannel);
        await highChannel.BasicConsumeAsync(queue, autoAck: false, "high", false, false, new Dictionary<string, object?> { ["x-priority"] = 10 }, high.Consumer);

        for (int i = 0; i < 10; i++) await publisher.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("m" + i));

        // high takes the first three (its prefetch), then is blocked: the other seven go to low.
        var toHigh = new List<string>();
        for (int i = 0; i < 3; i++) toHigh.Add(Encoding.UTF8.GetString((await high.NextAsync()).Body.Span));
        var toLow = new List<string>();
        for (int i = 0; i < 7; i++) toLow.Add(Encoding.UTF8.GetString((await low.NextAsync()).Body.Span));
        Assert.Equal(["m0", "m1", "m2"], toHigh);
        Assert.Equal(Enumerable.Range(3, 7).Select(i => "m" + i), toLow);

        // Once high has credit again it is first in line.
        await highChannel.BasicAckAsync(0, multiple: true);
        for (int i = 10; i < 12; i++) await publisher.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("m" + i));
        Assert.Equal("m10", Encoding.UTF8.GetString((await high.NextAsync()).Body.Span));
        Assert.Equal("m11", Encoding.UTF8.GetString((await high.NextAsync()).Body.Span));
        Assert.False(low.TryNext(out _));
    }

    [Fact]
    public async Task NonIntegerPriority_406()
    {
        string queue = Name("consumer-priority-bad");
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: false);
        var ex = await Assert.ThrowsAsync<OperationInterruptedException>(() => channel.BasicConsumeAsync(queue, true, "", false, false,
            new Dictionary<string, object?> { ["x-priority"] = "high" }, new Recorder(channel).Consumer));
        Assert.Equal(406, ex.ShutdownReason!.ReplyCode);
    }
}
