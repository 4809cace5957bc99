using System.Diagnostics;
using System.Text;
using Ferry.Broker.Security.Permissions;
using Ferry.Broker.VirtualHosts;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// Vhosts (separate queues, exchanges and bindings, durable each) and RabbitMQ's per-vhost permissions with
/// Security:Authorization on, through RabbitMQ.Client and pika.
/// </summary>
public sealed class VhostTests : IAsyncLifetime
{
    private const string Python = "/usr/bin/python3";
    private const string Password = "pw-0123456789";
    private FerryServer _server = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await FerryServer.StartAsync(settings: Settings());
        var vhosts = _server.Services.GetRequiredService<VirtualHostRegistry>();
        vhosts.Add("prod");
        var permissions = _server.Services.GetRequiredService<IPermissionStore>();
        // bob: declares only bob-* queues, publishes nowhere, reads everything.
        await permissions.PutAsync(new VhostPermission("prod", "bob", "^bob-.*", "^$", ".*"));
        // carol: declares and publishes anything, reads nothing.
        await permissions.PutAsync(new VhostPermission("prod", "carol", ".*", ".*", "^$"));
        // dave has no permissions anywhere.
    }

    private static Dictionary<string, string?> Settings() => new()
    {
        ["Security:Authorization"] = "true",
        ["Users:0:Name"] = "bob",
        ["Users:0:Password"] = Password,
        ["Users:1:Name"] = "carol",
        ["Users:1:Password"] = Password,
        ["Users:2:Name"] = "dave",
        ["Users:2:Password"] = Password,
        ["Users:3:Name"] = "root",
        ["Users:3:Password"] = Password,
        ["Users:3:Tags:0"] = "administrator",
    };

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    private Task<IConnection> ConnectAsync(string vhost, string user = "root")
    {
        var factory = _server.Factory();
        factory.VirtualHost = vhost;
        factory.UserName = user;
        factory.Password = Password;
        return factory.CreateConnectionAsync();
    }

    private static async Task<uint> PublishAsync(IConnection connection, string queue, int count)
    {
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
        for (int i = 0; i < count; i++) await channel.BasicPublishAsync("", queue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("m" + i));
        return (await channel.QueueDeclarePassiveAsync(queue)).MessageCount;
    }

    [Fact]
    public async Task SameQueueName_InTwoVhosts_IsTwoQueues_AndSurvivesRestart()
    {
        await using (var root = await ConnectAsync("/"))
        await using (var prod = await ConnectAsync("prod"))
        {
            Assert.Equal(2u, await PublishAsync(root, "jobs", 2));
            Assert.Equal(5u, await PublishAsync(prod, "jobs", 5));
            await using var channel = await prod.CreateChannelAsync();
            await channel.ExchangeDeclareAsync("prod-only", ExchangeType.Fanout, durable: true);
        }

        string data = _server.DataDirectory;
        await _server.DisposeAsync();
        _server = await FerryServer.StartAsync(data, Settings());
        await using var rootAgain = await ConnectAsync("/");
        await using var prodAgain = await ConnectAsync("prod");
        await using var rootChannel = await rootAgain.CreateChannelAsync();
        await using var prodChannel = await prodAgain.CreateChannelAsync();
        Assert.Equal(2u, (await rootChannel.QueueDeclarePassiveAsync("jobs")).MessageCount);
        Assert.Equal(5u, (await prodChannel.QueueDeclarePassiveAsync("jobs")).MessageCount);
        await prodChannel.ExchangeDeclarePassiveAsync("prod-only");
        var missing = await Assert.ThrowsAsync<OperationInterruptedException>(() => rootChannel.ExchangeDeclarePassiveAsync("prod-only"));
        Assert.Equal(404, missing.ShutdownReason!.ReplyCode);
    }

    /// <summary>The server's connection.close for an open it refuses, however the client surfaces it.</summary>
    private async Task<ShutdownEventArgs> RefusedAsync(string vhost, string user = "root")
    {
        IConnection connection;
        try
        {
            connection = await ConnectAsync(vhost, user);
        }
        catch (BrokerUnreachableException ex) when (ex.InnerException is OperationInterruptedException { ShutdownReason: { } reason })
        {
            return reason;
        }
        catch (OperationInterruptedException ex) when (ex.ShutdownReason is { } reason)
        {
            return reason;
        }
        await using (connection)
        {
            var closed = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
            connection.ConnectionShutdownAsync += (_, e) =>
            {
                closed.TrySetResult(e);
                return Task.CompletedTask;
            };
            if (connection.CloseReason is { } already) return already;
            return await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task UnknownVhost_Is530NotAllowed()
    {
        var closed = await RefusedAsync("nowhere");
        Assert.Equal(530, closed.ReplyCode);
        Assert.Contains("vhost nowhere not found", closed.ReplyText);
    }

    [Fact]
    public async Task NoPermissionsInVhost_ConnectionRefused_GuestKeepsSlash()
    {
        var closed = await RefusedAsync("prod", "dave");
        Assert.Equal(530, closed.ReplyCode);
        Assert.Contains("access to vhost 'prod' refused for user 'dave'", closed.ReplyText);
        Assert.Equal(530, (await RefusedAsync("/", "dave")).ReplyCode);

        // The built-in guest has full rights on "/", as RabbitMQ's bootstrap user.
        var guest = _server.Factory();
        await using var connection = await guest.CreateConnectionAsync();
        Assert.Equal(1u, await PublishAsync(connection, "guest-q", 1));
    }

    [Fact]
    public async Task Permissions_DenyConfigurePublishAndConsume_With403()
    {
        await using var bob = await ConnectAsync("prod", "bob");
        await using (var channel = await bob.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync("bob-work", durable: true, exclusive: false, autoDelete: false);
            var configure = await Assert.ThrowsAsync<OperationInterruptedException>(() => channel.QueueDeclareAsync("other", durable: true, exclusive: false, autoDelete: false));
            Assert.Equal(403, configure.ShutdownReason!.ReplyCode);
            Assert.Contains("configure access to queue 'other' in vhost 'prod' refused for user 'bob'", configure.ShutdownReason.ReplyText);
        }
        await using (var channel = await bob.CreateChannelAsync())
        {
            // Publishing needs write on the exchange ("amq.default" for ""); the refusal closes the channel.
            await channel.BasicPublishAsync("", "bob-work", Encoding.UTF8.GetBytes("x"));
            var closed = await WaitClosedAsync(channel);
            Assert.Equal(403, closed.ReplyCode);
            Assert.Contains("write access to exchange 'amq.default'", closed.ReplyText);
        }

        await using var carol = await ConnectAsync("prod", "carol");
        await using (var channel = await carol.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.BasicPublishAsync("", "bob-work", Encoding.UTF8.GetBytes("from carol"));
            var get = await Assert.ThrowsAsync<OperationInterruptedException>(() => channel.BasicGetAsync("bob-work", autoAck: true));
            Assert.Equal(403, get.ShutdownReason!.ReplyCode);
        }
        await using (var channel = await carol.CreateChannelAsync())
        {
            var consume = await Assert.ThrowsAsync<OperationInterruptedException>(() =>
                channel.BasicConsumeAsync("bob-work", autoAck: true, new AsyncEventingBasicConsumer(channel)));
            Assert.Equal(403, consume.ShutdownReason!.ReplyCode);
        }
        // bob may read what carol published.
        await using (var channel = await bob.CreateChannelAsync())
        {
            var got = await channel.BasicGetAsync("bob-work", autoAck: true);
            Assert.Equal("from carol", Encoding.UTF8.GetString(got!.Body.Span));
        }
    }

    private static async Task<ShutdownEventArgs> WaitClosedAsync(IChannel channel)
    {
        var closed = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        channel.ChannelShutdownAsync += (_, e) =>
        {
            closed.TrySetResult(e);
            return Task.CompletedTask;
        };
        if (channel.CloseReason is { } already) return already;
        return await closed.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private const string PikaScript = """
        import sys, pika
        params = pika.ConnectionParameters(host="127.0.0.1", port=int(sys.argv[1]), virtual_host="prod",
                                           credentials=pika.PlainCredentials("bob", sys.argv[2]))
        connection = pika.BlockingConnection(params)
        channel = connection.channel()
        channel.confirm_delivery()
        try:
            channel.basic_publish(exchange="", routing_key="bob-work", body=b"x")
            print("published")
        except pika.exceptions.ChannelClosedByBroker as e:
            print("closed %d %s" % (e.reply_code, e.reply_text))
        try:
            pika.BlockingConnection(pika.ConnectionParameters(host="127.0.0.1", port=int(sys.argv[1]), virtual_host="nowhere",
                                    credentials=pika.PlainCredentials("bob", sys.argv[2])))
            print("opened")
        except pika.exceptions.AMQPConnectionError as e:
            print("refused %r" % (e,))
        """;

    [Fact]
    public async Task Pika_PublishWithoutWritePermission_IsClosed403_UnknownVhost530()
    {
        using (var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import pika"]) { RedirectStandardError = true })!)
        {
            await check.WaitForExitAsync();
            if (check.ExitCode != 0) Assert.Skip("python3-pika is not installed (.ci/apt-packages lists it).");
        }
        await using (var root = await ConnectAsync("prod"))
        await using (var channel = await root.CreateChannelAsync())
            await channel.QueueDeclareAsync("bob-work", durable: true, exclusive: false, autoDelete: false);

        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(PikaScript);
        info.ArgumentList.Add(_server.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(Password);
        using var pika = Process.Start(info)!;
        var output = pika.StandardOutput.ReadToEndAsync();
        var error = pika.StandardError.ReadToEndAsync();
        await pika.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(pika.ExitCode == 0, await error);
        string text = await output;
        Assert.Contains("closed 403 ACCESS_REFUSED - write access to exchange 'amq.default' in vhost 'prod' refused for user 'bob'", text);
        Assert.Contains("refused", text);
        Assert.Contains("(530) 'NOT_ALLOWED - vhost nowhere not found'", text);
    }
}
