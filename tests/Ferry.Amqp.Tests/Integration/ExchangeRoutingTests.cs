using System.Text;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class ExchangeRoutingTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    private static async Task<string> QueueAsync(IChannel channel, string exchange, string key, IDictionary<string, object?>? args = null)
    {
        var q = await channel.QueueDeclareAsync("", false, true, true);
        await channel.QueueBindAsync(q.QueueName, exchange, key, args);
        return q.QueueName;
    }

    private static async Task<HashSet<string>> RoutedAsync(IChannel channel, string[] queues, int expectedTotal)
    {
        // Publishing is asynchronous; wait until the expected total arrived, then read which queues got one.
        var deadline = DateTime.UtcNow + WaitLimit;
        while (DateTime.UtcNow < deadline)
        {
            uint total = 0;
            foreach (var q in queues) total += (await channel.QueueDeclarePassiveAsync(q)).MessageCount;
            if (total >= expectedTotal) break;
            await Task.Delay(10);
        }

        var hit = new HashSet<string>();
        foreach (var q in queues)
        {
            if ((await channel.QueueDeclarePassiveAsync(q)).MessageCount > 0) hit.Add(q);
        }

        return hit;
    }

    [Fact]
    public async Task Direct_RoutesByExactKey()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string x = Name("direct");
        await channel.ExchangeDeclareAsync(x, ExchangeType.Direct);
        string a = await QueueAsync(channel, x, "a"), b = await QueueAsync(channel, x, "b");
        await channel.BasicPublishAsync(x, "a", Encoding.UTF8.GetBytes("1"));
        Assert.Equal([a], await RoutedAsync(channel, [a, b], 1));
    }

    [Fact]
    public async Task Fanout_RoutesToEveryQueue()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string x = Name("fanout");
        await channel.ExchangeDeclareAsync(x, ExchangeType.Fanout);
        string a = await QueueAsync(channel, x, ""), b = await QueueAsync(channel, x, "ignored");
        await channel.BasicPublishAsync(x, "whatever", Encoding.UTF8.GetBytes("1"));
        Assert.Equal([a, b], await RoutedAsync(channel, [a, b], 2));
    }

    [Theory]
    [InlineData("a.b.c", new[] { "a.*.c", "#", "a.#", "a.b.c.#", "*.b.*" })]
    [InlineData("a", new[] { "#", "a.#", "*" })]
    [InlineData("x.b.y", new[] { "#", "*.b.*", "#.y" })]
    public async Task Topic_MatchesStarAndHash(string routingKey, string[] matching)
    {
        string[] all = ["a.*.c", "#", "a.#", "a.b.c.#", "*", "*.b.*", "#.y", "a.b", "b.#", "*.*"];
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string x = Name("topic");
        await channel.ExchangeDeclareAsync(x, ExchangeType.Topic);
        var byKey = new Dictionary<string, string>();
        foreach (var key in all) byKey[key] = await QueueAsync(channel, x, key);
        await channel.BasicPublishAsync(x, routingKey, Encoding.UTF8.GetBytes("1"));
        var expected = matching.Select(k => byKey[k]).ToHashSet();
        Assert.Equal(expected, await RoutedAsync(channel, [.. byKey.Values], expected.Count));
    }

    [Fact]
    public async Task Headers_AllAndAny()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string x = Name("headers");
        await channel.ExchangeDeclareAsync(x, ExchangeType.Headers);
        string all = await QueueAsync(channel, x, "", new Dictionary<string, object?> { ["x-match"] = "all", ["format"] = "pdf", ["type"] = "report" });
        string any = await QueueAsync(channel, x, "", new Dictionary<string, object?> { ["x-match"] = "any", ["format"] = "pdf", ["type"] = "log" });
        string none = await QueueAsync(channel, x, "", new Dictionary<string, object?> { ["format"] = "zip" });
        var props = new BasicProperties { Headers = new Dictionary<string, object?> { ["format"] = "pdf", ["type"] = "report" } };
        await channel.BasicPublishAsync(x, "", false, props, Encoding.UTF8.GetBytes("1"));
        Assert.Equal([all, any], await RoutedAsync(channel, [all, any, none], 2));
    }

    [Fact]
    public async Task ExchangeToExchange_AndAlternateExchange()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        string source = Name("src"), destination = Name("dst"), alternate = Name("ae");
        await channel.ExchangeDeclareAsync(alternate, ExchangeType.Fanout);
        await channel.ExchangeDeclareAsync(source, ExchangeType.Direct, arguments: new Dictionary<string, object?> { ["alternate-exchange"] = alternate });
        await channel.ExchangeDeclareAsync(destination, ExchangeType.Fanout);
        await channel.ExchangeBindAsync(destination, source, "k");
        string viaBinding = await QueueAsync(channel, destination, "");
        string viaAlternate = await QueueAsync(channel, alternate, "");
        await channel.BasicPublishAsync(source, "k", Encoding.UTF8.GetBytes("1"));
        Assert.Equal([viaBinding], await RoutedAsync(channel, [viaBinding, viaAlternate], 1));
        await channel.BasicPublishAsync(source, "unbound", Encoding.UTF8.GetBytes("2"));
        Assert.Equal([viaBinding, viaAlternate], await RoutedAsync(channel, [viaBinding, viaAlternate], 2));
    }

    [Fact]
    public async Task PredeclaredExchanges_Exist()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var name in new[] { "amq.direct", "amq.fanout", "amq.topic", "amq.headers", "amq.match" })
        {
            await channel.ExchangeDeclarePassiveAsync(name);
        }
    }
}
