using System.Diagnostics;
using System.Globalization;
using System.Text;
using RabbitMQ.Client;
using static Ferry.Amqp.Tests.Integration.Helpers;

namespace Ferry.Amqp.Tests.Integration;

public sealed class PersistenceTests
{
    [Fact]
    public async Task CleanRestart_KeepsPersistentMessagesOnDurableQueues_DropsTransient()
    {
        string data = FerryServer.NewDataDirectory();
        string durable = Name("durable"), transientQueue = Name("transient");
        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync(Confirms);
            await channel.ExchangeDeclareAsync("persist-x", ExchangeType.Direct, durable: true);
            await channel.QueueDeclareAsync(durable, durable: true, exclusive: false, autoDelete: false);
            await channel.QueueBindAsync(durable, "persist-x", "k");
            await channel.QueueDeclareAsync(transientQueue, durable: false, exclusive: false, autoDelete: false);
            for (int i = 0; i < 5; i++)
            {
                await channel.BasicPublishAsync("persist-x", "k", true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("p" + i));
            }

            await channel.BasicPublishAsync("persist-x", "k", true, new BasicProperties { Persistent = false }, Encoding.UTF8.GetBytes("not persistent"));
            await channel.BasicPublishAsync("", transientQueue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("t"));
            // Ack two: they must not come back.
            for (int i = 0; i < 2; i++)
            {
                var got = await GetAsync(channel, durable, autoAck: false);
                await channel.BasicAckAsync(got.DeliveryTag, false);
            }
        }

        await using (var server = await FerryServer.StartAsync(data))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.ExchangeDeclarePassiveAsync("persist-x");
            Assert.Equal(3u, (await channel.QueueDeclarePassiveAsync(durable)).MessageCount);
            for (int i = 2; i < 5; i++) Assert.Equal("p" + i, Encoding.UTF8.GetString((await GetAsync(channel, durable)).Body.Span));
            // The binding survived too.
            await channel.BasicPublishAsync("persist-x", "k", Encoding.UTF8.GetBytes("bound"));
            Assert.Equal("bound", Encoding.UTF8.GetString((await GetAsync(channel, durable)).Body.Span));
            var ex = await Assert.ThrowsAsync<RabbitMQ.Client.Exceptions.OperationInterruptedException>(() => channel.QueueDeclarePassiveAsync(transientQueue));
            Assert.Equal(404, ex.ShutdownReason!.ReplyCode);
        }
    }

    /// <summary>
    /// Recovery starts at the first unsettled message, found through the queue log's sparse index (one entry per
    /// MiB): in a later segment after whole segments were reclaimed, and deep inside one large segment.
    /// </summary>
    [Theory]
    [InlineData(64 * 1024, 600, 400)]
    [InlineData(16 << 20, 3000, 2500)]
    public async Task CleanRestart_ResumesAtTheFirstUnsettledMessage(int segmentBytes, int published, int acked)
    {
        string data = FerryServer.NewDataDirectory();
        string q = Name("resume");
        var settings = new Dictionary<string, string?> { ["Amqp:QueueSegmentBytes"] = segmentBytes.ToString(CultureInfo.InvariantCulture) };
        byte[] padding = new byte[1000];
        await using (var server = await FerryServer.StartAsync(data, settings))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
            var props = new BasicProperties { Persistent = true };
            for (int i = 0; i < published; i++)
            {
                byte[] body = [.. Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture) + ";"), .. padding];
                await channel.BasicPublishAsync("", q, false, props, body);
            }

            await WaitForCountAsync(channel, q, (uint)published);
            ulong last = 0;
            for (int i = 0; i < acked; i++) last = (await GetAsync(channel, q, autoAck: false)).DeliveryTag;
            await channel.BasicAckAsync(last, multiple: true);
            await WaitForCountAsync(channel, q, (uint)(published - acked));
        }

        await using (var server = await FerryServer.StartAsync(data, settings))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            Assert.Equal((uint)(published - acked), (await channel.QueueDeclarePassiveAsync(q)).MessageCount);
            for (int i = acked; i < published; i++)
            {
                string body = Encoding.UTF8.GetString((await GetAsync(channel, q)).Body.Span);
                Assert.Equal(i.ToString(CultureInfo.InvariantCulture), body[..body.IndexOf(';', StringComparison.Ordinal)]);
            }
        }
    }

    /// <summary>
    /// The queue's checkpoint (everything below it settled) damaged while the broker is down: a flipped bit that
    /// raised it would hide unsettled messages. It is ignored instead; settled ones may come back, none is lost.
    /// </summary>
    [Fact]
    public async Task DamagedQueueCheckpoint_Ignored_NoUnsettledMessageLost()
    {
        const int published = 600, acked = 400;
        string pristine = FerryServer.NewDataDirectory();
        string q = Name("checkpointed");
        var settings = new Dictionary<string, string?> { ["Amqp:QueueSegmentBytes"] = (64 * 1024).ToString(CultureInfo.InvariantCulture) };
        byte[] padding = new byte[1000];
        await using (var server = await FerryServer.StartAsync(pristine, settings))
        {
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            await channel.QueueDeclareAsync(q, durable: true, exclusive: false, autoDelete: false);
            for (int i = 0; i < published; i++)
            {
                byte[] body = [.. Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture) + ";"), .. padding];
                await channel.BasicPublishAsync("", q, false, new BasicProperties { Persistent = true }, body);
            }
            await WaitForCountAsync(channel, q, published);
            ulong last = 0;
            for (int i = 0; i < acked; i++) last = (await GetAsync(channel, q, autoAck: false)).DeliveryTag;
            await channel.BasicAckAsync(last, multiple: true);
            await WaitForCountAsync(channel, q, published - acked);
        }
        string checkpointName = Path.GetRelativePath(pristine, Assert.Single(Directory.GetFiles(Path.Combine(pristine, "amqp", "queues"), "checkpoint", SearchOption.AllDirectories)));
        byte[] content = File.ReadAllBytes(Path.Combine(pristine, checkpointName));
        // A high bit of the offset (raises it past every message), a bit of the checksum, a truncation, zeros.
        var damages = new (string What, Func<byte[], byte[]> Damage)[]
        {
            ("offset bit 40 flipped", c => { var d = (byte[])c.Clone(); d[2] ^= 0x80; return d; }),
            ("offset bit 9 flipped", c => { var d = (byte[])c.Clone(); d[6] ^= 0x02; return d; }),
            ("checksum bit flipped", c => { var d = (byte[])c.Clone(); d[^1] ^= 0x01; return d; }),
            ("truncated to 5", c => c[..5]),
            ("zeroed", c => new byte[c.Length]),
        };
        foreach (var (what, damage) in damages)
        {
            string data = FerryServer.NewDataDirectory();
            CopyDirectory(pristine, data);
            File.WriteAllBytes(Path.Combine(data, checkpointName), damage(content));
            await using var server = await FerryServer.StartAsync(data, settings);
            await using var connection = await server.ConnectAsync();
            await using var channel = await connection.CreateChannelAsync();
            var seen = new HashSet<int>();
            while (await channel.BasicGetAsync(q, autoAck: true) is { } message)
            {
                string body = Encoding.UTF8.GetString(message.Body.Span);
                seen.Add(int.Parse(body[..body.IndexOf(';', StringComparison.Ordinal)], CultureInfo.InvariantCulture));
            }
            var lost = Enumerable.Range(acked, published - acked).Where(i => !seen.Contains(i)).ToList();
            Assert.True(lost.Count == 0, $"{what}: {lost.Count} unsettled messages lost, first {lost.FirstOrDefault()}");
        }
    }

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (string directory in Directory.GetDirectories(from, "*", SearchOption.AllDirectories))
            Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, directory)));
        foreach (string file in Directory.GetFiles(from, "*", SearchOption.AllDirectories))
        {
            if (Path.GetFileName(file) == ".lock") continue;
            File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        }
    }

    [Fact]
    public async Task Sigkill_ConfirmedMessagesSurvive()
    {
        string data = FerryServer.NewDataDirectory();
        string queue = Name("killed");
        const int count = 200;
        int amqp = FerryServer.FreePort();
        using (var process = StartFerry(data, amqp, out int _))
        {
            try
            {
                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = amqp, AutomaticRecoveryEnabled = false };
                await using var connection = await ConnectWithRetryAsync(factory, process);
                await using var channel = await connection.CreateChannelAsync(Confirms);
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
                var props = new BasicProperties { Persistent = true };
                var publishes = new List<Task>();
                for (int i = 0; i < count; i++) publishes.Add(channel.BasicPublishAsync("", queue, true, props, Encoding.UTF8.GetBytes(i.ToString(CultureInfo.InvariantCulture))).AsTask());
                await Task.WhenAll(publishes); // every one confirmed
            }
            finally
            {
                using var kill = Process.Start("kill", ["-KILL", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                await process.WaitForExitAsync();
            }
        }

        amqp = FerryServer.FreePort();
        using (var process = StartFerry(data, amqp, out _))
        {
            try
            {
                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = amqp, AutomaticRecoveryEnabled = false };
                await using var connection = await ConnectWithRetryAsync(factory, process);
                await using var channel = await connection.CreateChannelAsync();
                Assert.Equal((uint)count, (await channel.QueueDeclarePassiveAsync(queue)).MessageCount);
                for (int i = 0; i < count; i++)
                {
                    Assert.Equal(i.ToString(CultureInfo.InvariantCulture), Encoding.UTF8.GetString((await GetAsync(channel, queue)).Body.Span));
                }
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    [Fact]
    public async Task Sigkill_MessagesDeliveredBeforeIt_ComeBackRedelivered_OthersNot()
    {
        string data = FerryServer.NewDataDirectory();
        string queue = Name("redelivered");
        int amqp = FerryServer.FreePort();
        using (var process = StartFerry(data, amqp, out int _))
        {
            try
            {
                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = amqp, AutomaticRecoveryEnabled = false };
                await using var connection = await ConnectWithRetryAsync(factory, process);
                await using var channel = await connection.CreateChannelAsync(Confirms);
                await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false);
                for (int i = 0; i < 6; i++)
                    await channel.BasicPublishAsync("", queue, true, new BasicProperties { Persistent = true }, Encoding.UTF8.GetBytes("m" + i));

                // m0 acked; m1 fetched with basic.get and m2 pushed to a consumer, both left unacked.
                await channel.BasicAckAsync((await GetAsync(channel, queue, autoAck: false)).DeliveryTag, false);
                Assert.Equal("m1", Encoding.UTF8.GetString((await GetAsync(channel, queue, autoAck: false)).Body.Span));
                await using var consuming = await connection.CreateChannelAsync();
                await consuming.BasicQosAsync(0, 1, false);
                var consumer = new Recorder(consuming);
                await consuming.BasicConsumeAsync(queue, autoAck: false, consumer.Consumer);
                var pushed = await consumer.NextAsync();
                Assert.Equal("m2", Encoding.UTF8.GetString(pushed.Body.Span));
                Assert.False(pushed.Redelivered);
            }
            finally
            {
                using var kill = Process.Start("kill", ["-KILL", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync();
                await process.WaitForExitAsync();
            }
        }

        amqp = FerryServer.FreePort();
        using (var process = StartFerry(data, amqp, out _))
        {
            try
            {
                var factory = new ConnectionFactory { HostName = "127.0.0.1", Port = amqp, AutomaticRecoveryEnabled = false };
                await using var connection = await ConnectWithRetryAsync(factory, process);
                await using var channel = await connection.CreateChannelAsync();
                var seen = new List<(string, bool)>();
                for (int i = 1; i < 6; i++)
                {
                    var got = await GetAsync(channel, queue);
                    seen.Add((Encoding.UTF8.GetString(got.Body.Span), got.Redelivered));
                }

                Assert.Equal([("m1", true), ("m2", true), ("m3", false), ("m4", false), ("m5", false)], seen);
            }
            finally
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    private static Process StartFerry(string data, int amqp, out int http)
    {
        http = FerryServer.FreePort();
        var info = Ferry.Tests.FerryProcess.StartInfo(
            "serve", "--data", data, "--amqp", $"127.0.0.1:{amqp}", "--kafka", $"127.0.0.1:{FerryServer.FreePort()}", "--http", $"127.0.0.1:{http}");

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>The AMQP port accepts only once the broker is ready; retry until it does.</summary>
    private static async Task<IConnection> ConnectWithRetryAsync(ConnectionFactory factory, Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return await factory.CreateConnectionAsync();
            }
            catch (RabbitMQ.Client.Exceptions.BrokerUnreachableException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
        }
    }
}
