using System.Diagnostics;
using System.Text;
using RabbitMQ.Client;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>A second real client, pika (Debian's python3-pika), crossing with RabbitMQ.Client on the same queue.</summary>
public sealed class PikaTests
{
    private const string Python = "/usr/bin/python3";

    private const string Script = """
        import sys, pika
        port, queue = int(sys.argv[1]), sys.argv[2]
        connection = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest")))
        channel = connection.channel()
        channel.confirm_delivery()
        channel.queue_declare(queue=queue, durable=True)
        for i in range(50):
            channel.basic_publish("", queue, ("pika-%d" % i).encode(), pika.BasicProperties(delivery_mode=2, headers={"n": i}), mandatory=True)
        got = []
        for method, properties, body in channel.consume("from-dotnet", inactivity_timeout=5):
            if method is None:
                break
            got.append(body.decode())
            channel.basic_ack(method.delivery_tag)
            if len(got) == 20:
                break
        channel.cancel()
        print(",".join(got))
        connection.close()
        """;

    [Fact]
    public async Task Pika_AndRabbitMqClient_ExchangeMessagesBothWays()
    {
        if (!File.Exists(Python) || !await HasPikaAsync()) Assert.Skip("python3-pika is not installed (.ci/apt-packages lists it).");
        await using var server = await FerryServer.StartAsync();
        await using var connection = await server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("from-dotnet", durable: true, exclusive: false, autoDelete: false);
        for (int i = 0; i < 20; i++)
            await channel.BasicPublishAsync("", "from-dotnet", true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes($"dotnet-{i}"));

        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(Script);
        info.ArgumentList.Add(server.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("from-pika");
        using var pika = Process.Start(info)!;
        var output = pika.StandardOutput.ReadToEndAsync();
        var error = pika.StandardError.ReadToEndAsync();
        await pika.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        Assert.True(pika.ExitCode == 0, await error);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"dotnet-{i}"), (await output).Trim().Split(','));

        for (int i = 0; i < 50; i++)
        {
            var message = await channel.BasicGetAsync("from-pika", autoAck: true);
            Assert.NotNull(message);
            Assert.Equal($"pika-{i}", Encoding.UTF8.GetString(message.Body.Span));
            Assert.Equal(2, (byte)message.BasicProperties.DeliveryMode);
            Assert.Equal(i, Convert.ToInt32(message.BasicProperties.Headers!["n"], System.Globalization.CultureInfo.InvariantCulture));
        }
        Assert.Null(await channel.BasicGetAsync("from-pika", autoAck: true));
    }

    private static async Task<bool> HasPikaAsync()
    {
        using var check = Process.Start(new ProcessStartInfo(Python, ["-c", "import pika"]) { RedirectStandardError = true })!;
        await check.WaitForExitAsync();
        return check.ExitCode == 0;
    }
}
