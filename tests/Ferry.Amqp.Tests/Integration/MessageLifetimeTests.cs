using System.Text;
using Ferry.Broker.Queues;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// Pooled messages go back to the pool exactly once, whichever way they leave: the pool's outstanding
/// count must come back to zero (a missed release keeps it up, a second one takes it below or throws in
/// the broker), and must not drop while a holder remains. One broker per test, so that counts are its own.
/// </summary>
public sealed class MessageLifetimeTests
{
    private static MessagePool Pool(FerryServer server) => server.Services.GetRequiredService<QueueBroker>().Messages;

    /// <summary>Releases happen on other threads (the connection's writer, the acking read loop): wait for
    /// the count, then check that it stays.</summary>
    private static async Task AssertOutstandingAsync(MessagePool pool, long expected)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (pool.Outstanding != expected && DateTime.UtcNow < deadline) await Task.Delay(10);
        await Task.Delay(50);
        Assert.Equal(expected, pool.Outstanding);
    }

    private static async Task PublishAsync(IChannel channel, string exchange, string routingKey, int count, bool persistent = false)
    {
        var props = new BasicProperties { Persistent = persistent };
        for (int i = 0; i < count; i++) await channel.BasicPublishAsync(exchange, routingKey, false, props, Encoding.UTF8.GetBytes("m" + i));
    }

    [Fact]
    public async Task ManualAck_ReturnsEachMessageOnce()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var publisher = await connection.CreateChannelAsync(Confirms);
        await using var consumer = await connection.CreateChannelAsync();
        string q = Name("acked");
        await publisher.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
        await PublishAsync(publisher, "", q, 50, persistent: true);
        await AssertOutstandingAsync(pool, 50);

        var recorder = new Recorder(consumer);
        await consumer.BasicQosAsync(0, 20, false);
        await consumer.BasicConsumeAsync(q, autoAck: false, recorder.Consumer);
        for (int i = 0; i < 50; i++) await consumer.BasicAckAsync((await recorder.NextAsync()).DeliveryTag, false);

        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task ChannelClosedWithUnacked_RedeliveredMessagesReturnOnce()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var publisher = await connection.CreateChannelAsync(Confirms);
        string q = Name("redelivered");
        await publisher.QueueDeclareAsync(q, durable: false, exclusive: false, autoDelete: false);
        await PublishAsync(publisher, "", q, 20);

        var first = await connection.CreateChannelAsync();
        var dying = new Recorder(first);
        await first.BasicConsumeAsync(q, autoAck: false, dying.Consumer);
        for (int i = 0; i < 20; i++) await dying.NextAsync();
        await first.CloseAsync();
        await first.DisposeAsync();
        await AssertOutstandingAsync(pool, 20);

        await using var second = await connection.CreateChannelAsync();
        var recorder = new Recorder(second);
        await second.BasicConsumeAsync(q, autoAck: false, recorder.Consumer);
        for (int i = 0; i < 20; i++)
        {
            var delivery = await recorder.NextAsync();
            Assert.True(delivery.Redelivered);
            await second.BasicAckAsync(delivery.DeliveryTag, false);
        }

        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task ConsumerConnectionGone_WithDeliveriesUnwritten_EveryMessageBackInItsQueueOnce()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var publisher = await connection.CreateChannelAsync(Confirms);
        string q = Name("abandoned");
        await publisher.QueueDeclareAsync(q, durable: false, exclusive: false, autoDelete: false);
        // Large, so that some deliveries may still be in the broker's output when the consumer leaves (timing decides).
        byte[] body = new byte[256 * 1024];
        for (int i = 0; i < 200; i++) await publisher.BasicPublishAsync("", q, body);

        // No prefetch limit: the broker queues every delivery for a consumer that reads one and leaves.
        var consumerConnection = await server.ConnectAsync();
        var channel = await consumerConnection.CreateChannelAsync();
        var recorder = new Recorder(channel);
        await channel.BasicConsumeAsync(q, autoAck: false, recorder.Consumer);
        await recorder.NextAsync();
        await consumerConnection.AbortAsync();
        await consumerConnection.DisposeAsync();

        await WaitForCountAsync(publisher, q, 200);
        await AssertOutstandingAsync(pool, 200);
        Assert.Equal(200u, await publisher.QueuePurgeAsync(q));
        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task FanoutToThreeQueues_ReturnsAfterTheLastQueueSettles()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string exchange = Name("fan");
        await channel.ExchangeDeclareAsync(exchange, ExchangeType.Fanout);
        string[] queues = [Name("f1"), Name("f2"), Name("f3")];
        foreach (string q in queues)
        {
            await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(q, exchange, "");
        }

        await PublishAsync(channel, exchange, "", 10, persistent: true);
        await AssertOutstandingAsync(pool, 10);

        for (int n = 0; n < queues.Length; n++)
        {
            for (int i = 0; i < 10; i++)
            {
                var got = await GetAsync(channel, queues[n], autoAck: false);
                Assert.Equal("m" + i, Encoding.UTF8.GetString(got.Body.Span));
                await channel.BasicAckAsync(got.DeliveryTag, false);
            }

            // One message object serves all three queues: it stays until the last one lets go.
            await AssertOutstandingAsync(pool, n < queues.Length - 1 ? 10 : 0);
        }
    }

    [Fact]
    public async Task TtlExpiry_DropsOrDeadLetters_ReturningEachOriginalOnce()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string dlx = Name("dlx"), dead = Name("dead"), dropping = Name("ttl-drop"), dying = Name("ttl-dlx");
        await channel.ExchangeDeclareAsync(dlx, ExchangeType.Fanout);
        await channel.QueueDeclareAsync(dead, false, false, false);
        await channel.QueueBindAsync(dead, dlx, "");
        await channel.QueueDeclareAsync(dropping, false, false, false, new Dictionary<string, object?> { ["x-message-ttl"] = 20 });
        await channel.QueueDeclareAsync(dying, false, false, false, new Dictionary<string, object?>
        {
            ["x-message-ttl"] = 20,
            ["x-dead-letter-exchange"] = dlx,
        });

        await PublishAsync(channel, "", dropping, 10);
        await PublishAsync(channel, "", dying, 10);
        await WaitForCountAsync(channel, dead, 10);
        await WaitForCountAsync(channel, dropping, 0);
        await AssertOutstandingAsync(pool, 10); // the dead-lettered copies only

        for (int i = 0; i < 10; i++) await GetAsync(channel, dead, autoAck: true);
        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task RejectWithoutRequeue_DeadLetters_AndTheCopyReturnsOnAck()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string dead = Name("dead"), source = Name("rejecting");
        await channel.QueueDeclareAsync(dead, false, false, false);
        await channel.QueueDeclareAsync(source, false, false, false, new Dictionary<string, object?>
        {
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = dead,
        });
        await PublishAsync(channel, "", source, 5);
        for (int i = 0; i < 5; i++) await channel.BasicRejectAsync((await GetAsync(channel, source, autoAck: false)).DeliveryTag, requeue: false);
        await WaitForCountAsync(channel, dead, 5);
        await AssertOutstandingAsync(pool, 5);

        for (int i = 0; i < 5; i++) await channel.BasicAckAsync((await GetAsync(channel, dead, autoAck: false)).DeliveryTag, false);
        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task LengthLimits_DroppedAndRefusedMessagesReturn()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: false));
        string dropping = Name("drop-head"), refusing = Name("reject-publish");
        await channel.QueueDeclareAsync(dropping, true, false, false, new Dictionary<string, object?> { ["x-max-length"] = 2 });
        await channel.QueueDeclareAsync(refusing, true, false, false, new Dictionary<string, object?>
        {
            ["x-max-length"] = 3,
            ["x-overflow"] = "reject-publish",
        });

        await PublishAsync(channel, "", dropping, 10, persistent: true);
        await PublishAsync(channel, "", refusing, 10, persistent: true);
        await WaitForCountAsync(channel, dropping, 2);
        await WaitForCountAsync(channel, refusing, 3);
        await AssertOutstandingAsync(pool, 5);

        Assert.Equal("m8", Encoding.UTF8.GetString((await GetAsync(channel, dropping)).Body.Span));
        Assert.Equal("m0", Encoding.UTF8.GetString((await GetAsync(channel, refusing)).Body.Span));
        await AssertOutstandingAsync(pool, 3);
    }

    [Fact]
    public async Task RecoveredAfterRestart_ReturnOnAck()
    {
        string data = FerryServer.NewDataDirectory();
        string q = Name("recovered");
        await using (var first = await FerryServer.StartAsync(data))
        {
            await using var connection = await first.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
            await PublishAsync(channel, "", q, 10, persistent: true);
        }

        await using var server = await FerryServer.StartAsync(data);
        var pool = Pool(server);
        Assert.Equal(10, pool.Outstanding);
        await using var again = await server.ConnectAsync();
        await using var consumer = await again.CreateChannelAsync();
        for (int i = 0; i < 10; i++)
        {
            var got = await GetAsync(consumer, q, autoAck: false);
            Assert.Equal("m" + i, Encoding.UTF8.GetString(got.Body.Span));
            await consumer.BasicAckAsync(got.DeliveryTag, false);
        }

        await AssertOutstandingAsync(pool, 0);
    }

    [Fact]
    public async Task AutoAck_Purge_DeleteWithUnacked_AndTxRollback_ReturnEverything()
    {
        await using var server = await FerryServer.StartAsync();
        var pool = Pool(server);
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string consumed = Name("auto"), purged = Name("purged"), deleted = Name("deleted");
        foreach (string q in new[] { consumed, purged, deleted }) await channel.QueueDeclareAsync(q, false, false, false);

        await using var consumerChannel = await connection.CreateChannelAsync();
        var recorder = new Recorder(consumerChannel);
        await consumerChannel.BasicConsumeAsync(consumed, autoAck: true, recorder.Consumer);
        await PublishAsync(channel, "", consumed, 10);
        for (int i = 0; i < 10; i++) await recorder.NextAsync();
        await AssertOutstandingAsync(pool, 0);

        await PublishAsync(channel, "", purged, 10);
        await AssertOutstandingAsync(pool, 10);
        Assert.Equal(10u, await channel.QueuePurgeAsync(purged));
        await AssertOutstandingAsync(pool, 0);

        // Unacknowledged when their queue goes: released once acked, not twice.
        await PublishAsync(channel, "", deleted, 4);
        var held = new List<ulong>();
        for (int i = 0; i < 4; i++) held.Add((await GetAsync(consumerChannel, deleted, autoAck: false)).DeliveryTag);
        await channel.QueueDeleteAsync(deleted);
        await AssertOutstandingAsync(pool, 4);
        foreach (ulong tag in held) await consumerChannel.BasicAckAsync(tag, false);
        await AssertOutstandingAsync(pool, 0);

        await using var tx = await connection.CreateChannelAsync();
        await tx.TxSelectAsync();
        await PublishAsync(tx, "", purged, 3);
        await tx.TxRollbackAsync();
        await AssertOutstandingAsync(pool, 0);
        await PublishAsync(tx, "", purged, 3);
        await tx.TxCommitAsync();
        await WaitForCountAsync(channel, purged, 3);
        await AssertOutstandingAsync(pool, 3);
    }
}
