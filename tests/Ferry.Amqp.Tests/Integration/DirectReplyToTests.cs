using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>RabbitMQ's direct reply-to: RPC replies without a reply queue.</summary>
public sealed class DirectReplyToTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private const string ReplyTo = "amq.rabbitmq.reply-to";

    private FerryServer Server => fixture.Server;

    /// <summary>A responder on its own connection: answers each request on the default exchange, routing key = reply_to.</summary>
    private async Task<(IConnection Connection, IChannel Channel, Task<List<string>> ReplyNames)> StartResponderAsync(string requests, int count)
    {
        var connection = await Server.ConnectAsync();
        var channel = await connection.CreateChannelAsync(Confirms);
        await channel.QueueDeclareAsync(requests, durable: false, exclusive: false, autoDelete: false);
        var names = new List<string>();
        var done = new TaskCompletionSource<List<string>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += async (_, e) =>
        {
            string replyTo = e.BasicProperties.ReplyTo!;
            names.Add(replyTo);
            // The requester is there: declaring its reply name passively answers 0 messages, 1 consumer.
            await using (var check = await connection.CreateChannelAsync())
            {
                var ok = await check.QueueDeclarePassiveAsync(replyTo);
                Assert.Equal(1u, ok.ConsumerCount);
            }

            var reply = new BasicProperties { CorrelationId = e.BasicProperties.CorrelationId };
            await channel.BasicPublishAsync("", replyTo, true, reply, Encoding.UTF8.GetBytes("re:" + Encoding.UTF8.GetString(e.Body.Span)));
            if (names.Count == count) done.TrySetResult(names);
        };
        await channel.BasicConsumeAsync(requests, autoAck: true, consumer);
        return (connection, channel, done.Task);
    }

    [Fact]
    public async Task Rpc_RoundTrip_ReplyGoesStraightToRequesterChannel_NoQueueCreated()
    {
        string requests = Name("rpc-requests");
        var (responderConnection, _, replyNames) = await StartResponderAsync(requests, 3);
        await using var _1 = responderConnection;

        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        var replies = new Recorder(channel);
        await channel.BasicConsumeAsync(ReplyTo, autoAck: true, replies.Consumer);
        for (int i = 0; i < 3; i++)
        {
            var request = new BasicProperties { ReplyTo = ReplyTo, CorrelationId = "c" + i };
            await channel.BasicPublishAsync("", requests, true, request, Encoding.UTF8.GetBytes("q" + i));
            var reply = await replies.NextAsync();
            Assert.Equal("re:q" + i, Encoding.UTF8.GetString(reply.Body.Span));
            Assert.Equal("c" + i, reply.BasicProperties.CorrelationId);
            Assert.Equal("", reply.Exchange);
            Assert.StartsWith(ReplyTo + ".", reply.RoutingKey, StringComparison.Ordinal);
            Assert.False(reply.Redelivered);
        }

        // Every request from the channel carried the same rewritten name, and that name is not a queue.
        var names = await replyNames.WaitAsync(WaitLimit);
        string name = Assert.Single(names.Distinct());
        Assert.StartsWith(ReplyTo + ".", name, StringComparison.Ordinal);
        var broker = (Ferry.Broker.Queues.QueueBroker)Server.Services.GetService(typeof(Ferry.Broker.Queues.QueueBroker))!;
        Assert.DoesNotContain(broker.Queues, q => q.Name.StartsWith(ReplyTo, StringComparison.Ordinal));

        // The requester gone, its name answers 404 and a reply to it is dropped (the responder carries on).
        await channel.CloseAsync();
        await using var check = await connection.CreateChannelAsync();
        var gone = await Assert.ThrowsAsync<OperationInterruptedException>(() => check.QueueDeclarePassiveAsync(name));
        Assert.Equal(404, gone.ShutdownReason!.ReplyCode);
        await using var late = await responderConnection.CreateChannelAsync(Confirms);
        await late.BasicPublishAsync("", name, true, new BasicProperties(), "late"u8.ToArray()); // confirmed, not returned
        Assert.True(late.IsOpen);
    }

    [Fact]
    public async Task ReplyConsumer_MustBeNoAck_OnePerChannel_AndRequestsNeedIt()
    {
        await using var connection = await Server.ConnectAsync();
        await using (var acking = await connection.CreateChannelAsync())
        {
            var ex = await Assert.ThrowsAsync<OperationInterruptedException>(() => acking.BasicConsumeAsync(ReplyTo, autoAck: false, new Recorder(acking).Consumer));
            Assert.Equal(406, ex.ShutdownReason!.ReplyCode);
        }

        await using (var twice = await connection.CreateChannelAsync())
        {
            await twice.BasicConsumeAsync(ReplyTo, autoAck: true, new Recorder(twice).Consumer);
            var ex = await Assert.ThrowsAsync<OperationInterruptedException>(() => twice.BasicConsumeAsync(ReplyTo, autoAck: true, new Recorder(twice).Consumer));
            Assert.Equal(406, ex.ShutdownReason!.ReplyCode);
        }

        await using (var noConsumer = await connection.CreateChannelAsync())
        {
            var closed = new TaskCompletionSource<ShutdownEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
            noConsumer.ChannelShutdownAsync += (_, e) =>
            {
                closed.TrySetResult(e);
                return Task.CompletedTask;
            };
            await noConsumer.BasicPublishAsync("", Name("anywhere"), false, new BasicProperties { ReplyTo = ReplyTo }, "q"u8.ToArray());
            Assert.Equal(406, (await closed.Task.WaitAsync(WaitLimit)).ReplyCode);
        }

        // Declaring the pseudo-queue itself answers and creates nothing.
        await using var declare = await connection.CreateChannelAsync();
        Assert.Equal(ReplyTo, (await declare.QueueDeclarePassiveAsync(ReplyTo)).QueueName);
    }

    private const string PikaRequester = """
        import sys, pika
        port, queue = int(sys.argv[1]), sys.argv[2]
        connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest")))
        channel = connection.channel()
        got = []
        def on_reply(ch, method, properties, body):
            got.append(properties.correlation_id + "=" + body.decode())
        channel.basic_consume("amq.rabbitmq.reply-to", on_reply, auto_ack=True)
        for i in range(3):
            channel.basic_publish("", queue, ("p%d" % i).encode(), pika.BasicProperties(reply_to="amq.rabbitmq.reply-to", correlation_id="k%d" % i))
        while len(got) < 3:
            connection.process_data_events(time_limit=1)
        print(",".join(got))
        connection.close()
        """;

    [Fact]
    public async Task Pika_RequesterGetsRepliesFromRabbitMqClientResponder()
    {
        const string Python = "/usr/bin/python3";
        if (!File.Exists(Python)) Assert.Skip("python3-pika is not installed (.ci/apt-packages lists it).");
        string requests = Name("pika-rpc");
        var (responderConnection, _, _) = await StartResponderAsync(requests, 3);
        await using var _1 = responderConnection;

        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(PikaRequester);
        info.ArgumentList.Add(Server.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add(requests);
        using var pika = Process.Start(info)!;
        var output = pika.StandardOutput.ReadToEndAsync();
        var error = pika.StandardError.ReadToEndAsync();
        await pika.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        string stderr = await error;
        if (stderr.Contains("No module named 'pika'", StringComparison.Ordinal)) Assert.Skip("python3-pika is not installed (.ci/apt-packages lists it).");
        Assert.True(pika.ExitCode == 0, stderr);
        Assert.Equal("k0=re:p0,k1=re:p1,k2=re:p2", (await output).Trim());
    }
}
