using System.Text;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class QueueArgumentTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    [Fact]
    public async Task MessageTtl_ExpiresIntoDeadLetterExchange_WithXDeath()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string dlx = Name("dlx"), dead = Name("dead"), source = Name("ttl");
        await channel.ExchangeDeclareAsync(dlx, ExchangeType.Fanout);
        await channel.QueueDeclareAsync(dead, false, false, true);
        await channel.QueueBindAsync(dead, dlx, "");
        await channel.QueueDeclareAsync(source, false, false, true, new Dictionary<string, object?>
        {
            ["x-message-ttl"] = 50,
            ["x-dead-letter-exchange"] = dlx,
        });
        await channel.BasicPublishAsync("", source, Encoding.UTF8.GetBytes("expiring"));
        var got = await GetAsync(channel, dead);
        Assert.Equal("expiring", Encoding.UTF8.GetString(got.Body.Span));
        var deaths = (IList<object?>)got.BasicProperties.Headers!["x-death"]!;
        var death = (IDictionary<string, object?>)deaths[0]!;
        Assert.Equal("expired", Encoding.UTF8.GetString((byte[])death["reason"]!));
        Assert.Equal(source, Encoding.UTF8.GetString((byte[])death["queue"]!));
        Assert.Equal(1L, death["count"]);
        Assert.Equal(0u, (await channel.QueueDeclarePassiveAsync(source)).MessageCount);
    }

    [Fact]
    public async Task PerMessageExpiration_Expires()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string dead = Name("dead-rk"), source = Name("exp");
        await channel.QueueDeclareAsync(dead, false, false, true);
        await channel.QueueDeclareAsync(source, false, false, true, new Dictionary<string, object?>
        {
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = dead,
        });
        await channel.BasicPublishAsync("", source, false, new BasicProperties { Expiration = "30" }, Encoding.UTF8.GetBytes("short"));
        var got = await GetAsync(channel, dead);
        Assert.Equal("short", Encoding.UTF8.GetString(got.Body.Span));
        Assert.Null(got.BasicProperties.Expiration);
    }

    [Fact]
    public async Task RejectedMessage_DeadLetteredWithReasonRejected()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string dead = Name("dead-rej"), source = Name("rej");
        await channel.QueueDeclareAsync(dead, false, false, true);
        await channel.QueueDeclareAsync(source, false, false, true, new Dictionary<string, object?>
        {
            ["x-dead-letter-exchange"] = "",
            ["x-dead-letter-routing-key"] = dead,
        });
        await channel.BasicPublishAsync("", source, Encoding.UTF8.GetBytes("no"));
        var got = await GetAsync(channel, source, false);
        await channel.BasicNackAsync(got.DeliveryTag, false, requeue: false);
        var deadLetter = await GetAsync(channel, dead);
        var death = (IDictionary<string, object?>)((IList<object?>)deadLetter.BasicProperties.Headers!["x-death"]!)[0]!;
        Assert.Equal("rejected", Encoding.UTF8.GetString((byte[])death["reason"]!));
    }

    [Fact]
    public async Task MaxLength_DropHead_KeepsNewest()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string q = Name("maxlen");
        await channel.QueueDeclareAsync(q, false, false, true, new Dictionary<string, object?> { ["x-max-length"] = 2 });
        foreach (var body in new[] { "1", "2", "3" }) await channel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes(body));
        await WaitForCountAsync(channel, q, 2);
        Assert.Equal("2", Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span));
        Assert.Equal("3", Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span));
    }

    [Fact]
    public async Task MaxLength_RejectPublish_NacksWithConfirms()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(Confirms);
        string q = Name("reject-publish");
        await channel.QueueDeclareAsync(q, false, false, true, new Dictionary<string, object?>
        {
            ["x-max-length"] = 1,
            ["x-overflow"] = "reject-publish",
        });
        await channel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("fits"));
        await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.PublishException>(async () =>
            await channel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("overflows")));
        Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
    }

    [Fact]
    public async Task MaxPriority_DeliversHighestFirst()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string q = Name("prio");
        await channel.QueueDeclareAsync(q, false, false, true, new Dictionary<string, object?> { ["x-max-priority"] = 5 });
        await channel.BasicPublishAsync("", q, false, new BasicProperties { Priority = 1 }, Encoding.UTF8.GetBytes("low"));
        await channel.BasicPublishAsync("", q, false, new BasicProperties { Priority = 5 }, Encoding.UTF8.GetBytes("high"));
        await WaitForCountAsync(channel, q, 2);
        Assert.Equal("high", Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span));
    }

    [Fact]
    public async Task SingleActiveConsumer_OnlyFirstConsumerReceives()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string q = Name("sac");
        await channel.QueueDeclareAsync(q, false, false, true, new Dictionary<string, object?> { ["x-single-active-consumer"] = true });
        var first = new Recorder(channel);
        var second = new Recorder(channel);
        string firstTag = await channel.BasicConsumeAsync(q, true, first.Consumer);
        await channel.BasicConsumeAsync(q, true, second.Consumer);
        for (int i = 0; i < 3; i++) await channel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("m"));
        for (int i = 0; i < 3; i++) await first.NextAsync();
        Assert.False(second.TryNext(out _));
        await channel.BasicCancelAsync(firstTag);
        await channel.BasicPublishAsync("", q, Encoding.UTF8.GetBytes("after"));
        await second.NextAsync();
    }
}
