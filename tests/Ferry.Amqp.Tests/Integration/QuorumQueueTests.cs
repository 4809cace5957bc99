using System.Text;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// A quorum queue on a single node: a real quorum queue of one member (its log a replicated partition with one
/// replica), so restart rebuilds it from that log, settlements included, and delivery counts are kept.
/// </summary>
public sealed class QuorumQueueTests
{
    private static Dictionary<string, object?> Quorum(long? deliveryLimit = null, string? deadLetterExchange = null)
    {
        var arguments = new Dictionary<string, object?> { ["x-queue-type"] = "quorum" };
        if (deliveryLimit is { } limit) arguments["x-delivery-limit"] = limit;
        if (deadLetterExchange is not null) arguments["x-dead-letter-exchange"] = deadLetterExchange;
        return arguments;
    }

    [Fact]
    public async Task Restart_RebuildsFromTheLog_AckedGone_UnackedRedelivered_TransientKept()
    {
        string data = FerryServer.NewDataDirectory();
        string q = Name("qq"), x = Name("qq-x");
        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await channel.ExchangeDeclareAsync(x, ExchangeType.Direct, durable: true);
            var ok = await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false, Quorum());
            Assert.Equal(q, ok.QueueName);
            await channel.QueueBindAsync(q, x, "k");
            for (int i = 0; i < 6; i++)
            {
                // Quorum queues keep every message, persistent or not (as RabbitMQ's do).
                await channel.BasicPublishAsync(x, "k", true, new BasicProperties { Persistent = i % 2 == 0 }, Encoding.UTF8.GetBytes("m" + i));
            }

            await WaitForCountAsync(channel, q, 6);
            for (int i = 0; i < 2; i++)
            {
                var got = await GetAsync(channel, q, autoAck: false);
                Assert.Equal("m" + i, Encoding.UTF8.GetString(got.Body.Span));
                Assert.False(got.Redelivered);
                await channel.BasicAckAsync(got.DeliveryTag, false);
            }

            // Taken, not acknowledged: it comes back after the restart, marked redelivered.
            var held = await GetAsync(channel, q, autoAck: false);
            Assert.Equal("m2", Encoding.UTF8.GetString(held.Body.Span));
        }

        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await WaitForCountAsync(channel, q, 4);
            for (int i = 2; i < 6; i++)
            {
                var got = await GetAsync(channel, q, autoAck: false);
                Assert.Equal("m" + i, Encoding.UTF8.GetString(got.Body.Span));
                Assert.True(got.Redelivered);
                await channel.BasicAckAsync(got.DeliveryTag, false);
            }

            // The binding and the type survived; a classic redeclare is still refused.
            await channel.BasicPublishAsync(x, "k", true, new BasicProperties(), Encoding.UTF8.GetBytes("after"));
            Assert.Equal("after", Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span));
            var ex = await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(
                () => channel.QueueDeclareAsync(q, true, false, false, new Dictionary<string, object?> { ["x-queue-type"] = "classic" }));
            Assert.Equal(406, ex.ShutdownReason!.ReplyCode);
        }

        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            // Everything acknowledged before the second restart stays gone.
            await Task.Delay(200);
            Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
            await channel.QueueDeleteAsync(q);
        }
    }

    [Fact]
    public async Task DeliveryLimit_RequeuedPastTheLimit_DeadLetteredWithReason_CountsInHeader()
    {
        await using var server = await FerryServer.StartAsync();
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string dlx = Name("qq-dlx"), dead = Name("qq-dead"), q = Name("qq-limit");
        await channel.ExchangeDeclareAsync(dlx, ExchangeType.Fanout);
        await channel.QueueDeclareAsync(dead, false, false, true);
        await channel.QueueBindAsync(dead, dlx, "");
        await channel.QueueDeclareAsync(q, true, false, false, Quorum(deliveryLimit: 2, deadLetterExchange: dlx));
        await channel.BasicPublishAsync("", q, true, new BasicProperties(), Encoding.UTF8.GetBytes("poison"));

        // Delivered three times: the first plainly, then with x-delivery-count 1 and 2; the third return is past the limit.
        for (long attempt = 0; attempt < 3; attempt++)
        {
            var got = await GetAsync(channel, q, autoAck: false);
            Assert.Equal("poison", Encoding.UTF8.GetString(got.Body.Span));
            Assert.Equal(attempt > 0, got.Redelivered);
            object? count = null;
            got.BasicProperties.Headers?.TryGetValue("x-delivery-count", out count);
            long? seen = count is null ? null : Convert.ToInt64(count, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(attempt > 0 ? attempt : (long?)null, seen);
            await channel.BasicRejectAsync(got.DeliveryTag, requeue: true);
        }

        var deadLetter = await GetAsync(channel, dead);
        Assert.Equal("poison", Encoding.UTF8.GetString(deadLetter.Body.Span));
        var death = (IDictionary<string, object?>)((IList<object?>)deadLetter.BasicProperties.Headers!["x-death"]!)[0]!;
        Assert.Equal("delivery_limit", Encoding.UTF8.GetString((byte[])death["reason"]!));
        Assert.Equal(q, Encoding.UTF8.GetString((byte[])death["queue"]!));
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
    }

    [Fact]
    public async Task ConfirmedConsumer_ReceivesInOrder_AndDeleteRemovesTheQueue()
    {
        await using var server = await FerryServer.StartAsync();
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string q = Name("qq-consume");
        await channel.QueueDeclareAsync(q, true, false, false, Quorum());
        var received = new List<string>();
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await channel.BasicQosAsync(0, 50, false);
        var consumer = new RabbitMQ.Client.Events.AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, e) =>
        {
            lock (received)
            {
                received.Add(Encoding.UTF8.GetString(e.Body.Span));
                if (received.Count == 200) all.TrySetResult();
            }
            await channel.BasicAckAsync(e.DeliveryTag, false);
        };
        await channel.BasicConsumeAsync(q, autoAck: false, consumer);
        for (int i = 0; i < 200; i++) await channel.BasicPublishAsync("", q, true, new BasicProperties(), Encoding.UTF8.GetBytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        await all.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), received);

        await using var other = await connection.CreateChannelAsync();
        await other.QueueDeleteAsync(q);
        var ex = await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(() => other.QueueDeclarePassiveAsync(q));
        Assert.Equal(404, ex.ShutdownReason!.ReplyCode);
    }

    [Fact]
    public async Task SettledSegments_AreReclaimed_AndTheQueueSurvivesARestart()
    {
        string data = FerryServer.NewDataDirectory();
        string q = Name("qq-reclaim");
        var body = new byte[10_000];
        const int count = 2500; // 25 MB: more than one 16 MiB segment
        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await channel.QueueDeclareAsync(q, true, false, false, Quorum());
            for (int sent = 0; sent < count; sent += 50)
            {
                var batch = Enumerable.Range(0, 50).Select(_ => channel.BasicPublishAsync("", q, true, new BasicProperties(), body).AsTask());
                await Task.WhenAll(batch);
            }

            for (int i = 0; i < count; i++)
            {
                var got = await GetAsync(channel, q, autoAck: false);
                await channel.BasicAckAsync(got.DeliveryTag, false);
            }

            string log = Directory.GetDirectories(Path.Combine(data, "topics"), "__quorum.*").Single();
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (File.Exists(Path.Combine(log, "00000000000000000000.log")) && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.False(File.Exists(Path.Combine(log, "00000000000000000000.log")), "the first segment, all settled, was not reclaimed");
        }

        await using (var server = await FerryServer.StartAsync(data))
        {
            // The declaration was carried forward: the queue is still a quorum queue, empty, and works.
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await channel.QueueDeclareAsync(q, true, false, false, Quorum());
            Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
            await channel.BasicPublishAsync("", q, true, new BasicProperties(), "again"u8.ToArray());
            Assert.Equal("again", Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span));
        }
    }
}
