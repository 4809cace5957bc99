using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class ErrorTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    private static async Task<ushort> ChannelErrorAsync(IConnection connection, Func<IChannel, Task> action)
    {
        var channel = await connection.CreateChannelAsync();
        var ex = await Assert.ThrowsAsync<OperationInterruptedException>(() => action(channel));
        return ex.ShutdownReason!.ReplyCode;
    }

    [Fact]
    public async Task PassiveDeclareMissing_404()
    {
        await using var connection = await Server.ConnectAsync();
        Assert.Equal(404, await ChannelErrorAsync(connection, c => c.QueueDeclarePassiveAsync(Name("missing"))));
        Assert.Equal(404, await ChannelErrorAsync(connection, c => c.ExchangeDeclarePassiveAsync(Name("missing"))));
        Assert.Equal(404, await ChannelErrorAsync(connection, c => c.QueueBindAsync(Name("missing"), "amq.direct", "k")));
    }

    [Fact]
    public async Task InequivalentRedeclare_406()
    {
        await using var connection = await Server.ConnectAsync();
        string q = Name("equiv");
        var setup = await connection.CreateChannelAsync();
        await setup.QueueDeclareAsync(q, false, false, true);
        Assert.Equal(406, await ChannelErrorAsync(connection, c => c.QueueDeclareAsync(q, true, false, true)));
        string x = Name("equivx");
        await setup.ExchangeDeclareAsync(x, ExchangeType.Direct);
        Assert.Equal(406, await ChannelErrorAsync(connection, c => c.ExchangeDeclareAsync(x, ExchangeType.Fanout)));
        await setup.QueueDeleteAsync(q);
    }

    [Fact]
    public async Task UnknownDeliveryTag_406()
    {
        await using var connection = await Server.ConnectAsync();
        var channel = await connection.CreateChannelAsync();
        await channel.BasicAckAsync(999, false);
        // The error arrives asynchronously; the next synchronous call observes the closed channel.
        await Assert.ThrowsAnyAsync<Exception>(() => channel.QueueDeclareAsync("", false, true, true));
        Assert.Equal(406, channel.CloseReason!.ReplyCode);
    }

    [Fact]
    public async Task OtherConnectionsExclusiveQueue_405()
    {
        await using var owner = await Server.ConnectAsync();
        await using var ownerChannel = await owner.CreateChannelAsync();
        var q = await ownerChannel.QueueDeclareAsync("", false, true, true);
        await using var other = await Server.ConnectAsync();
        Assert.Equal(405, await ChannelErrorAsync(other, c => c.QueueDeclareAsync(q.QueueName, false, true, true)));
        Assert.Equal(405, await ChannelErrorAsync(other, c => c.BasicGetAsync(q.QueueName, true)));
    }

    [Fact]
    public async Task ReservedNamesAndDefaultExchange_403()
    {
        await using var connection = await Server.ConnectAsync();
        Assert.Equal(403, await ChannelErrorAsync(connection, c => c.ExchangeDeclareAsync("amq." + Name("x"), ExchangeType.Direct)));
        Assert.Equal(403, await ChannelErrorAsync(connection, c => c.QueueBindAsync(Name("q"), "", "k")));
    }

    [Fact]
    public async Task WrongCredentials_AuthenticationFailure()
    {
        var factory = Server.Factory();
        factory.Password = "wrong";
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => factory.CreateConnectionAsync());
        Assert.True(ex is AuthenticationFailureException || ex.InnerException is AuthenticationFailureException, ex.ToString());
    }

    [Fact]
    public async Task ReusedConsumerTag_530ClosesConnection()
    {
        await using var connection = await Server.ConnectAsync();
        var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, true);
        await channel.BasicConsumeAsync(q.QueueName, true, "tag", new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel));
        var ex = await Assert.ThrowsAnyAsync<Exception>(() =>
            channel.BasicConsumeAsync(q.QueueName, true, "tag", new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel)));
        var deadline = DateTime.UtcNow + WaitLimit;
        while (connection.IsOpen && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(530, connection.CloseReason!.ReplyCode);
    }

    [Fact]
    public async Task DeleteMissing_Succeeds_AndIfUnused406()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(Name("never"));
        await channel.ExchangeDeleteAsync(Name("never"));
        string q = Name("inuse");
        await channel.QueueDeclareAsync(q, false, false, false);
        await channel.BasicConsumeAsync(q, true, new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel));
        Assert.Equal(406, await ChannelErrorAsync(connection, c => c.QueueDeleteAsync(q, ifUnused: true, ifEmpty: false)));
        await channel.QueueDeleteAsync(q);
        var publisher = await connection.CreateChannelAsync();
        await publisher.BasicPublishAsync(Name("nox"), "k", Encoding.UTF8.GetBytes("x"));
        await Assert.ThrowsAnyAsync<Exception>(() => publisher.QueueDeclareAsync("", false, true, true));
        Assert.Equal(404, publisher.CloseReason!.ReplyCode);
    }
}
