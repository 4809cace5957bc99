using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Ferry.Amqp.Tests.Integration;

public sealed class RoundTripTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private FerryServer Server => fixture.Server;

    [Fact]
    public async Task Connect_ServerPropertiesAdvertiseFerryAndCapabilities()
    {
        await using var connection = await Server.ConnectAsync();
        var properties = connection.ServerProperties!;
        Assert.Equal("Ferry", Encoding.UTF8.GetString((byte[])properties["product"]!));
        var capabilities = (IDictionary<string, object?>)properties["capabilities"]!;
        foreach (var name in new[] { "publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
            "connection.blocked", "consumer_priorities", "authentication_failure_close", "per_consumer_qos", "direct_reply_to" })
        {
            Assert.Equal(true, capabilities[name]);
        }

        Assert.Equal(131072u, connection.FrameMax);
        Assert.Equal((ushort)2047, connection.ChannelMax);
    }

    [Fact]
    public async Task DeclarePublishConsume_RoundTrip()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var ok = await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true);
        Assert.StartsWith("amq.gen-", ok.QueueName);
        var received = new TaskCompletionSource<BasicDeliverEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, e) =>
        {
            received.TrySetResult(new BasicDeliverEventArgs(e.ConsumerTag, e.DeliveryTag, e.Redelivered, e.Exchange, e.RoutingKey, e.BasicProperties, e.Body.ToArray()));
            return Task.CompletedTask;
        };
        await channel.BasicConsumeAsync(ok.QueueName, autoAck: true, consumer);
        var props = new BasicProperties { ContentType = "text/plain", Headers = new Dictionary<string, object?> { ["h"] = "v" } };
        await channel.BasicPublishAsync("", ok.QueueName, mandatory: false, props, Encoding.UTF8.GetBytes("hello"));
        var delivery = await received.Task.WaitAsync(Timeout);
        Assert.Equal("hello", Encoding.UTF8.GetString(delivery.Body.Span));
        Assert.Equal("text/plain", delivery.BasicProperties.ContentType);
        Assert.Equal("v", Encoding.UTF8.GetString((byte[])delivery.BasicProperties.Headers!["h"]!));
        Assert.False(delivery.Redelivered);
    }

    [Fact]
    public async Task LargeMessage_SpansManyFrames()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var q = await channel.QueueDeclareAsync("", false, true, true);
        var body = new byte[1_000_000];
        Random.Shared.NextBytes(body);
        await channel.BasicPublishAsync("", q.QueueName, body);
        BasicGetResult? got = null;
        for (int i = 0; i < 100 && got is null; i++) got = await channel.BasicGetAsync(q.QueueName, autoAck: true);
        Assert.NotNull(got);
        Assert.Equal(body, got.Body.ToArray());
    }
}
