using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class DeliveryTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    [Fact]
    public async Task Confirms_AckAfterDurablePublish()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string q = Name("durable");
        await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
        var props = new BasicProperties { Persistent = true };
        for (int i = 0; i < 20; i++) await channel.BasicPublishAsync("", q, true, props, Encoding.UTF8.GetBytes("m" + i));
        await WaitForCountAsync(channel, q, 20);
        await channel.QueueDeleteAsync(q);
    }

    [Fact]
    public async Task MandatoryUnroutable_ReturnComesBeforeAck_HeadersUnchanged()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        var returned = new TaskCompletionSource<IReadOnlyBasicProperties>(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.BasicReturnAsync += (_, e) =>
        {
            Assert.Equal(312, e.ReplyCode);
            returned.TrySetResult(e.BasicProperties);
            return Task.CompletedTask;
        };
        var props = new BasicProperties { Headers = new Dictionary<string, object?> { ["mine"] = "kept" } };
        // With confirm tracking the client fails the publish when the return precedes the ack.
        await Assert.ThrowsAsync<PublishReturnException>(async () =>
            await channel.BasicPublishAsync("amq.direct", Name("nowhere"), true, props, Encoding.UTF8.GetBytes("x")));
        var returnedProps = await returned.Task.WaitAsync(WaitLimit);
        Assert.Equal("kept", Encoding.UTF8.GetString((byte[])returnedProps.Headers!["mine"]!));
    }

    [Fact]
    public async Task NackRequeue_RedeliversWithRedeliveredFlag()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, true);
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("again"));
        var first = await GetAsync(channel, q.QueueName, autoAck: false);
        Assert.False(first.Redelivered);
        await channel.BasicNackAsync(first.DeliveryTag, multiple: false, requeue: true);
        var second = await GetAsync(channel, q.QueueName, autoAck: false);
        Assert.True(second.Redelivered);
        await channel.BasicAckAsync(second.DeliveryTag, false);
        Assert.Null(await channel.BasicGetAsync(q.QueueName, true));
    }

    [Fact]
    public async Task Prefetch_LimitsUnackedDeliveries()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, true);
        for (int i = 0; i < 10; i++) await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await WaitForCountAsync(channel, q.QueueName, 10);
        await channel.BasicQosAsync(0, 3, false);
        var recorder = new Recorder(channel);
        await channel.BasicConsumeAsync(q.QueueName, autoAck: false, recorder.Consumer);
        var deliveries = new List<RabbitMQ.Client.Events.BasicDeliverEventArgs>();
        for (int i = 0; i < 3; i++) deliveries.Add(await recorder.NextAsync());
        // Three unacked: the queue keeps the other seven.
        await WaitForCountAsync(channel, q.QueueName, 7);
        Assert.False(recorder.TryNext(out _));
        await channel.BasicAckAsync(deliveries[2].DeliveryTag, multiple: true);
        for (int i = 0; i < 3; i++) deliveries.Add(await recorder.NextAsync());
        await WaitForCountAsync(channel, q.QueueName, 4);
    }

    [Fact]
    public async Task ChannelClosedWithoutAck_MessageRedeliveredToAnotherConsumer()
    {
        await using var connection = await Server.ConnectAsync();
        var owner = await connection.CreateChannelAsync();
        string q = Name("redeliver");
        await owner.QueueDeclareAsync(q, false, false, false);
        var first = new Recorder(owner);
        await owner.BasicConsumeAsync(q, false, first.Consumer);
        await owner.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("once"));
        var delivery = await first.NextAsync();
        Assert.False(delivery.Redelivered);

        await using var other = await connection.CreateChannelAsync();
        var second = new Recorder(other);
        await other.BasicConsumeAsync(q, false, second.Consumer);
        await owner.CloseAsync();
        var again = await second.NextAsync();
        Assert.True(again.Redelivered);
        Assert.Equal("once", Encoding.UTF8.GetString(again.Body.Span));
        await other.QueueDeleteAsync(q);
    }

    [Fact]
    public async Task ConnectionDropped_UnackedReturnToQueue()
    {
        string q = Name("drop");
        await using var keeper = await Server.ConnectAsync();
        await using var keeperChannel = await keeper.CreateChannelAsync();
        await keeperChannel.QueueDeclareAsync(q, false, false, false);
        await keeperChannel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("m"));
        var consumerConnection = await Server.ConnectAsync();
        var channel = await consumerConnection.CreateChannelAsync();
        var got = await GetAsync(channel, q, autoAck: false);
        Assert.False(got.Redelivered);
        await consumerConnection.AbortAsync();
        await WaitForCountAsync(keeperChannel, q, 1);
        var again = await GetAsync(keeperChannel, q);
        Assert.True(again.Redelivered);
        await keeperChannel.QueueDeleteAsync(q);
    }

    [Fact]
    public async Task QueueDeleted_ConsumerGetsCancel()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string q = Name("cancel");
        await channel.QueueDeclareAsync(q, false, false, false);
        var recorder = new Recorder(channel);
        await channel.BasicConsumeAsync(q, false, recorder.Consumer);
        await using var other = await connection.CreateChannelAsync();
        await other.QueueDeleteAsync(q);
        await recorder.Cancelled.Task.WaitAsync(WaitLimit);
        Assert.True(channel.IsOpen);
    }

    [Fact]
    public async Task RejectWithoutRequeue_AndPurge_AndDeleteIfEmpty()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, false);
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("a"));
        var got = await GetAsync(channel, q.QueueName, false);
        await channel.BasicRejectAsync(got.DeliveryTag, requeue: false);
        Assert.Null(await channel.BasicGetAsync(q.QueueName, true));
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("b"));
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("c"));
        await WaitForCountAsync(channel, q.QueueName, 2);
        Assert.Equal(2u, await channel.QueuePurgeAsync(q.QueueName));
        await channel.QueueDeleteAsync(q.QueueName, ifUnused: false, ifEmpty: true);
    }

    [Fact]
    public async Task Transactions_CommitPublishesRollbackDiscards()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, true);
        await channel.TxSelectAsync();
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("rolled back"));
        await channel.TxRollbackAsync();
        await channel.BasicPublishAsync("", q.QueueName, Encoding.UTF8.GetBytes("committed"));
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(q.QueueName)).MessageCount);
        await channel.TxCommitAsync();
        var got = await GetAsync(channel, q.QueueName);
        Assert.Equal("committed", Encoding.UTF8.GetString(got.Body.Span));
    }
}
