using System.Buffers;
using System.Net.Sockets;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;
using Ferry.Tests;
using RabbitMQ.Client;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// Clients that try to make the real ferry process hold memory on their behalf, on the raw wire (no client library
/// sends these): content headers that declare huge bodies never sent, and a consumer that never reads its socket.
/// The broker's memory stays bounded and a well-behaved client is served meanwhile.
/// </summary>
public sealed class MemoryExhaustionTests
{
    [Fact]
    public async Task ContentHeaders_DeclaringHugeBodies_DoNotReserveTheirSize()
    {
        // In process, because what a declared size reserves is allocated but never written: resident memory does not
        // show it, the GC's count of allocated bytes (every thread) does, and so would the memory alarm.
        await using var server = await FerryServer.StartAsync();
        await using (var setup = await server.ConnectAsync())
        await using (var channel = await setup.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync("sink", durable: false, exclusive: false, autoDelete: false);
        }
        long before = GC.GetTotalAllocatedBytes(precise: true);

        // 8 channels, each a publish whose header declares 100 MiB (under Amqp:MaxMessageBytes) and one body frame.
        const int channels = 8;
        using var socket = await OpenAsync(server.AmqpPort, output =>
        {
            for (ushort c = 1; c <= channels; c++)
            {
                AmqpFrameWriter.WriteMethod(output, c, new ChannelOpen());
                AmqpFrameWriter.WriteMethod(output, c, new BasicPublish { Exchange = "", RoutingKey = "sink" });
                AmqpFrameWriter.WriteContentHeader(output, c, 100UL << 20, null);
                AmqpFrameWriter.WriteBody(output, c, new byte[1000], 131072);
            }
            AmqpFrameWriter.WriteMethod(output, channels + 1, new ChannelOpen());
        });
        // The channel opened after the headers answers once they have all been handled.
        await ReadUntilAsync(socket, channel: channels + 1);
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.True(allocated < 64L << 20, $"{allocated >> 20} MiB allocated for {channels} headers declaring 100 MiB each");
    }

    [Fact]
    public async Task Consumer_NeverReadingItsSocket_BoundedMemory_OthersServed()
    {
        var data = Path.Combine(Path.GetTempPath(), "ferry-slow-" + Guid.NewGuid().ToString("N"));
        await using var ferry = await FerryProcess.StartAsync(data);
        await using (var setup = await Connect(ferry))
        await using (var channel = await setup.CreateChannelAsync())
        {
            await channel.QueueDeclareAsync("backlog", durable: false, exclusive: false, autoDelete: false);
            var body = new byte[32 * 1024];
            for (int i = 0; i < 1000; i++) await channel.BasicPublishAsync("", "backlog", body);
        }
        long before = ferry.ResidentBytes;

        // Consumes 32 MiB with no prefetch limit and no-ack, and never reads a byte of it.
        using var socket = await OpenAsync(ferry.AmqpPort, output =>
        {
            AmqpFrameWriter.WriteMethod(output, 1, new ChannelOpen());
            AmqpFrameWriter.WriteMethod(output, 1, new BasicConsume { Queue = "backlog", ConsumerTag = "slow", NoAck = true });
        });
        await Task.Delay(3000);
        long during = ferry.ResidentBytes;

        await AssertServedAsync(ferry);
        Assert.True(during - before < 64L << 20, $"RSS grew from {before >> 20} MiB to {during >> 20} MiB behind a consumer that never reads");
    }

    /// <summary>Reads frames until a channel.open-ok on <paramref name="channel"/> (after start, tune, open-ok...).</summary>
    private static async Task ReadUntilAsync(Socket socket, int channel)
    {
        var received = new ArrayBufferWriter<byte>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            int n = await socket.ReceiveAsync(received.GetMemory(4096), timeout.Token);
            if (n == 0) throw new EndOfStreamException("the broker closed the connection");
            received.Advance(n);
            var buffer = new ReadOnlySequence<byte>(received.WrittenMemory);
            while (AmqpFrame.TryReadFrame(ref buffer, 131072, out var type, out ushort number, out var payload))
            {
                if (type == FrameType.Method && number == channel && AmqpMethods.GetId(
                        System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(payload.FirstSpan),
                        System.Buffers.Binary.BinaryPrimitives.ReadUInt16BigEndian(payload.FirstSpan[2..])) == AmqpMethodId.ChannelOpenOk) return;
            }
        }
    }

    private static Task<IConnection> Connect(FerryProcess ferry) =>
        new ConnectionFactory { HostName = "127.0.0.1", Port = ferry.AmqpPort }.CreateConnectionAsync();

    /// <summary>A well-behaved client meanwhile: declare, publish with a confirm, get it back.</summary>
    private static async Task AssertServedAsync(FerryProcess ferry)
    {
        await using var connection = await Connect(ferry);
        await using var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await channel.QueueDeclareAsync("others", durable: true, exclusive: false, autoDelete: false);
        await channel.BasicPublishAsync("", "others", true, new RabbitMQ.Client.BasicProperties { Persistent = true }, "served"u8.ToArray())
            .AsTask().WaitAsync(TimeSpan.FromSeconds(20));
        var got = await channel.BasicGetAsync("others", autoAck: true);
        Assert.NotNull(got);
        Assert.False(ferry.Process.HasExited, ferry.Output);
    }

    /// <summary>
    /// A raw connection with a small receive buffer: the handshake as guest, then <paramref name="frames"/>, all sent
    /// at once; nothing the broker sends back is ever read.
    /// </summary>
    private static async Task<Socket> OpenAsync(int port, Action<ArrayBufferWriter<byte>> frames)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
        await socket.ConnectAsync("127.0.0.1", port);
        var output = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteProtocolHeader(output);
        AmqpFrameWriter.WriteMethod(output, 0, new ConnectionStartOk { Mechanism = "PLAIN", Response = "\0guest\0guest" });
        AmqpFrameWriter.WriteMethod(output, 0, new ConnectionTuneOk { ChannelMax = 2047, FrameMax = 131072, Heartbeat = 0 });
        AmqpFrameWriter.WriteMethod(output, 0, new ConnectionOpen { VirtualHost = "/" });
        frames(output);
        await socket.SendAsync(output.WrittenMemory);
        return socket;
    }

}
