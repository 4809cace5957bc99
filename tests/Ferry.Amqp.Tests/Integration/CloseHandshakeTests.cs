using System.Buffers;
using System.Net.Sockets;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>
/// The close handshake as RabbitMQ runs it: after connection.close-ok the broker discards what still arrives
/// and leaves closing the socket to the client (bounded), so that frames the client had already queued behind
/// its connection.close do not hit a closed socket (EPIPE, or a reset that drops the close-ok unread).
/// </summary>
/// <remarks>Raw wire: RabbitMQ.Client and pika stop writing once they have sent connection.close, so no
/// library client sends frames after it on demand; clients with several writers (or buffered publishes) do.</remarks>
public sealed class CloseHandshakeTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    [Fact]
    public async Task ClientClose_WithFramesQueuedBehindIt_GetsCloseOk_WritesKeepSucceeding_ServerWaitsForClientToClose()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", Server.AmqpPort);
        var stream = tcp.GetStream();
        var handshake = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteProtocolHeader(handshake);
        AmqpFrameWriter.WriteMethod(handshake, 0, new ConnectionStartOk { Mechanism = "PLAIN", Response = "\0guest\0guest", Locale = "en_US" });
        AmqpFrameWriter.WriteMethod(handshake, 0, new ConnectionTuneOk { ChannelMax = 10, FrameMax = 131072, Heartbeat = 0 });
        AmqpFrameWriter.WriteMethod(handshake, 0, new ConnectionOpen { VirtualHost = "/" });
        AmqpFrameWriter.WriteMethod(handshake, 1, new ChannelOpen());
        await stream.WriteAsync(handshake.WrittenMemory);

        // connection.close, then publishes that were still in the client's write buffer.
        byte[] publishes = Publishes(200);
        var closeThenMore = new ArrayBufferWriter<byte>();
        AmqpFrameWriter.WriteMethod(closeThenMore, 0, new ConnectionClose { ReplyCode = 200, ReplyText = "Goodbye" });
        closeThenMore.Write(publishes);
        await stream.WriteAsync(closeThenMore.WrittenMemory);

        await ReadUntilCloseOkAsync(stream);

        // The client's remaining writes (5 MB) go through: the broker reads and discards them.
        for (int i = 0; i < 25; i++) await stream.WriteAsync(publishes);

        // The broker leaves the socket to the client: no EOF from its side meanwhile (it waits up to 30 s).
        var rest = new byte[4096];
        var read = stream.ReadAsync(rest).AsTask();
        Assert.NotSame(read, await Task.WhenAny(read, Task.Delay(TimeSpan.FromMilliseconds(500))));

        // The client closes its side; then the broker closes (a clean EOF, no reset).
        tcp.Client.Shutdown(SocketShutdown.Send);
        Assert.Equal(0, await read.WaitAsync(Helpers.WaitLimit));
    }

    private static byte[] Publishes(int count)
    {
        var body = new byte[1000];
        var frames = new ArrayBufferWriter<byte>();
        for (int i = 0; i < count; i++)
        {
            AmqpFrameWriter.WriteMethod(frames, 1, new BasicPublish { Exchange = "", RoutingKey = "nowhere" });
            AmqpFrameWriter.WriteContentHeader(frames, 1, (ulong)body.Length, null);
            AmqpFrameWriter.WriteBody(frames, 1, body, 131072);
        }

        return frames.WrittenSpan.ToArray();
    }

    private static async Task ReadUntilCloseOkAsync(NetworkStream stream)
    {
        using var timeout = new CancellationTokenSource(Helpers.WaitLimit);
        var received = new List<byte>();
        var chunk = new byte[65536];
        while (true)
        {
            int n = await stream.ReadAsync(chunk, timeout.Token);
            Assert.True(n > 0, "the broker closed the socket before connection.close-ok");
            received.AddRange(chunk.AsSpan(0, n));
            var frames = new ReadOnlySequence<byte>(received.ToArray());
            while (AmqpFrame.TryReadFrame(ref frames, 1 << 20, out var type, out ushort channel, out var payload))
            {
                if (type != FrameType.Method || channel != 0) continue;
                var reader = new AmqpReader(payload.ToArray());
                if (reader.ReadMethodId() == AmqpMethodId.ConnectionCloseOk) return;
            }
        }
    }
}
