using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>x-queue-type is checked as RabbitMQ checks it: unknown and stream refused, a type never changes, and what quorum queues cannot be is refused.</summary>
public sealed class QueueTypeTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    private static Dictionary<string, object?> Type(string type) => new() { ["x-queue-type"] = type };

    private static async Task<ShutdownEventArgs> ChannelErrorAsync(IConnection connection, Func<IChannel, Task> action)
    {
        var channel = await connection.CreateChannelAsync();
        var ex = await Assert.ThrowsAsync<OperationInterruptedException>(() => action(channel));
        return ex.ShutdownReason!;
    }

    [Fact]
    public async Task UnknownType_PreconditionFailed()
    {
        await using var connection = await Server.ConnectAsync();
        var error = await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(Name("unknown"), true, false, false, Type("lazy-ish")));
        Assert.Equal(406, error.ReplyCode);
        Assert.Contains("unknown queue type 'lazy-ish'", error.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StreamType_RefusedAsNotSupported()
    {
        await using var connection = await Server.ConnectAsync();
        string q = Name("stream");
        var error = await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(q, true, false, false, Type("stream")));
        Assert.Equal(406, error.ReplyCode);
        Assert.Contains("not supported", error.ReplyText, StringComparison.Ordinal);
        // Nothing was created.
        Assert.Equal(404, (await ChannelErrorAsync(connection, c => c.QueueDeclarePassiveAsync(q))).ReplyCode);
    }

    [Fact]
    public async Task RedeclareWithAnotherType_PreconditionFailed_BothWays()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string classic = Name("classic"), quorum = Name("quorum");
        await channel.QueueDeclareAsync(classic, true, false, false, Type("classic"));
        await channel.QueueDeclareAsync(quorum, true, false, false, Type("quorum"));

        var toQuorum = await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(classic, true, false, false, Type("quorum")));
        Assert.Equal(406, toQuorum.ReplyCode);
        Assert.Contains("inequivalent arg 'x-queue-type'", toQuorum.ReplyText, StringComparison.Ordinal);
        Assert.Contains("received 'quorum' but current is 'classic'", toQuorum.ReplyText, StringComparison.Ordinal);
        Assert.Equal(406, (await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(quorum, true, false, false, Type("classic")))).ReplyCode);

        // Leaving the type out of a redeclare matches what exists (a client's topology recovery does that).
        await channel.QueueDeclareAsync(quorum, true, false, false);
        await channel.QueueDeclareAsync(classic, true, false, false);
        await channel.QueueDeleteAsync(classic);
        await channel.QueueDeleteAsync(quorum);
    }

    [Theory]
    [InlineData(false, false, false, "invalid property 'non-durable'")]
    [InlineData(true, true, false, "invalid property 'exclusive-owner'")]
    [InlineData(true, false, true, "invalid property 'auto-delete'")]
    public async Task Quorum_RefusesWhatRabbitMqRefuses(bool durable, bool exclusive, bool autoDelete, string expected)
    {
        await using var connection = await Server.ConnectAsync();
        string q = Name("qq-bad");
        var error = await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(q, durable, exclusive, autoDelete, Type("quorum")));
        Assert.Equal(406, error.ReplyCode);
        Assert.Contains(expected, error.ReplyText, StringComparison.Ordinal);
        Assert.Equal(404, (await ChannelErrorAsync(connection, c => c.QueueDeclarePassiveAsync(q))).ReplyCode);
    }

    [Fact]
    public async Task Quorum_RefusesMaxPriority()
    {
        await using var connection = await Server.ConnectAsync();
        var arguments = Type("quorum");
        arguments["x-max-priority"] = 5;
        var error = await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(Name("qq-prio"), true, false, false, arguments));
        Assert.Equal(406, error.ReplyCode);
        Assert.Contains("x-max-priority", error.ReplyText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Quorum_ConsumeWithGlobalQos_ChannelError_PerConsumerQosWorks()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string q = Name("qq-qos");
        await channel.QueueDeclareAsync(q, true, false, false, Type("quorum"));

        var error = await ChannelErrorAsync(connection, async c =>
        {
            await c.BasicQosAsync(0, 10, global: true);
            await c.BasicConsumeAsync(q, autoAck: false, new AsyncEventingBasicConsumer(c));
        });
        Assert.Equal(406, error.ReplyCode);
        Assert.Contains("global qos", error.ReplyText, StringComparison.Ordinal);

        await channel.BasicQosAsync(0, 10, global: false);
        string tag = await channel.BasicConsumeAsync(q, autoAck: false, new AsyncEventingBasicConsumer(channel));
        await channel.BasicCancelAsync(tag);
        await channel.QueueDeleteAsync(q);
    }

    [Fact]
    public async Task DeliveryLimit_Invalid_PreconditionFailed()
    {
        await using var connection = await Server.ConnectAsync();
        var arguments = Type("quorum");
        arguments["x-delivery-limit"] = "many";
        Assert.Equal(406, (await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(Name("qq-limit"), true, false, false, arguments))).ReplyCode);
    }
}
