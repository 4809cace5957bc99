using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Ferry.Amqp.Framing;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Tests.Integration;

/// <summary>Bad input over a raw socket: the right close code, and the server keeps serving others.</summary>
public sealed class RawSocketTests(FerryServerFixture fixture) : IClassFixture<FerryServerFixture>
{
    private FerryServer Server => fixture.Server;

    private sealed class RawClient : IAsyncDisposable
    {
        private readonly TcpClient _tcp = new();
        private readonly List<byte> _received = [];
        private NetworkStream _stream = null!;

        public static async Task<RawClient> ConnectAsync(int port)
        {
            var client = new RawClient();
            await client._tcp.ConnectAsync("127.0.0.1", port);
            client._stream = client._tcp.GetStream();
            return client;
        }

        public async Task SendAsync(byte[] bytes) => await _stream.WriteAsync(bytes);

        public Task SendMethodAsync<T>(ushort channel, T method)
            where T : struct, IAmqpMethod<T>
        {
            var buffer = new ArrayBufferWriter<byte>();
            AmqpFrameWriter.WriteMethod(buffer, channel, method);
            return SendAsync(buffer.WrittenSpan.ToArray());
        }

        /// <summary>Reads everything until the server closes the socket (bounded by a timeout).</summary>
        public async Task<byte[]> ReadToEndAsync()
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            var chunk = new byte[65536];
            while (true)
            {
                int n;
                try
                {
                    n = await _stream.ReadAsync(chunk, cts.Token);
                }
                catch (IOException)
                {
                    break;
                }

                if (n == 0) break;
                _received.AddRange(chunk.AsSpan(0, n));
                if (FindClose(_received.ToArray()) is not null)
                {
                    // Answer close-ok as a well-behaved client would; the server then closes.
                    await SendMethodAsync(0, new ConnectionCloseOk());
                }
            }

            return [.. _received];
        }

        public static ushort? FindClose(byte[] bytes)
        {
            var sequence = new ReadOnlySequence<byte>(bytes);
            if (bytes.Length >= 8 && bytes.AsSpan(0, 4).SequenceEqual("AMQP"u8)) return null;
            while (AmqpFrame.TryReadFrame(ref sequence, 1 << 20, out var type, out ushort _, out var payload))
            {
                if (type != FrameType.Method) continue;
                var span = payload.ToArray();
                var reader = new AmqpReader(span);
                if (reader.ReadMethodId() == AmqpMethodId.ConnectionClose) return ConnectionClose.Read(ref reader).ReplyCode;
            }

            return null;
        }

        public async ValueTask DisposeAsync()
        {
            await _stream.DisposeAsync();
            _tcp.Dispose();
        }
    }

    private async Task AssertServerStillServesAsync()
    {
        await using var connection = await Server.ConnectAsync();
        await using var channel = await connection.CreateChannelAsync();
        await channel.QueueDeclareAsync("", false, true, true);
    }

    [Fact]
    public async Task WrongProtocolHeader_AnsweredWithSupportedOneThenClosed()
    {
        await using var client = await RawClient.ConnectAsync(Server.AmqpPort);
        await client.SendAsync("AMQP\0\0\u0009\u0002"u8.ToArray());
        var received = await client.ReadToEndAsync();
        Assert.Equal(AmqpFrame.ProtocolHeader.ToArray(), received);
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task OversizedFrame_501()
    {
        await using var client = await RawClient.ConnectAsync(Server.AmqpPort);
        await client.SendAsync(AmqpFrame.ProtocolHeader.ToArray());
        var header = new byte[7];
        header[0] = 1;
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(3), 10_000_000);
        await client.SendAsync(header);
        Assert.Equal(AmqpConstants.FrameError, RawClient.FindClose(await client.ReadToEndAsync()));
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task UnknownClass_540_UnknownMethod_503()
    {
        foreach (var (classId, expected) in new[] { ((ushort)99, AmqpConstants.NotImplemented), ((ushort)10, AmqpConstants.CommandInvalid) })
        {
            await using var client = await RawClient.ConnectAsync(Server.AmqpPort);
            await client.SendAsync(AmqpFrame.ProtocolHeader.ToArray());
            byte[] frame = [1, 0, 0, 0, 0, 0, 4, (byte)(classId >> 8), (byte)classId, 0, 99, 0xCE];
            await client.SendAsync(frame);
            Assert.Equal(expected, RawClient.FindClose(await client.ReadToEndAsync()));
        }

        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task BodyBeforeHeader_505_AfterRealHandshake()
    {
        await using var client = await RawClient.ConnectAsync(Server.AmqpPort);
        await client.SendAsync(AmqpFrame.ProtocolHeader.ToArray());
        await client.SendMethodAsync(0, new ConnectionStartOk { Mechanism = "PLAIN", Response = "\0guest\0guest", Locale = "en_US" });
        await client.SendMethodAsync(0, new ConnectionTuneOk { ChannelMax = 10, FrameMax = 131072, Heartbeat = 0 });
        await client.SendMethodAsync(0, new ConnectionOpen { VirtualHost = "/" });
        await client.SendMethodAsync(1, new ChannelOpen());
        await client.SendAsync([3, 0, 1, 0, 0, 0, 1, 42, 0xCE]);
        Assert.Equal(AmqpConstants.UnexpectedFrame, RawClient.FindClose(await client.ReadToEndAsync()));
        await AssertServerStillServesAsync();
    }

    [Fact]
    public async Task MethodOnUnopenedChannel_504()
    {
        await using var client = await RawClient.ConnectAsync(Server.AmqpPort);
        await client.SendAsync(AmqpFrame.ProtocolHeader.ToArray());
        await client.SendMethodAsync(0, new ConnectionStartOk { Mechanism = "PLAIN", Response = "\0guest\0guest", Locale = "en_US" });
        await client.SendMethodAsync(0, new ConnectionTuneOk { ChannelMax = 10, FrameMax = 131072, Heartbeat = 0 });
        await client.SendMethodAsync(0, new ConnectionOpen { VirtualHost = "/" });
        await client.SendMethodAsync(3, new QueueDeclare { Queue = "x" });
        Assert.Equal(AmqpConstants.ChannelError, RawClient.FindClose(await client.ReadToEndAsync()));
    }
}
