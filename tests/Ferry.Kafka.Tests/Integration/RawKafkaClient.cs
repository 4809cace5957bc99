using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Kafka.Tests.Integration;

/// <summary>
/// A bare Kafka client over the generated codecs: one request at a time, any API and version. For what
/// Confluent.Kafka cannot show (commit metadata, exact error codes) or cannot do (a member that stops
/// heartbeating while its process lives on).
/// </summary>
internal sealed class RawKafkaClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly Stream _stream;
    private int _correlationId;

    private RawKafkaClient(TcpClient tcp, Stream? stream = null)
    {
        _tcp = tcp;
        _stream = stream ?? tcp.GetStream();
    }

    public static async Task<RawKafkaClient> ConnectAsync(int port)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        return new RawKafkaClient(tcp);
    }

    /// <summary>Over TLS (SSL and SASL_SSL listeners), accepting the server certificates <paramref name="trusts"/> accepts (a test's own authority).</summary>
    public static async Task<RawKafkaClient> ConnectTlsAsync(int port, Func<System.Security.Cryptography.X509Certificates.X509Certificate?, bool> trusts)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        var tls = new System.Net.Security.SslStream(tcp.GetStream(), leaveInnerStreamOpen: false, (_, certificate, _, _) => trusts(certificate));
        await tls.AuthenticateAsClientAsync("localhost");
        return new RawKafkaClient(tcp, tls);
    }

    public async Task<TResponse> SendAsync<TResponse>(short apiKey, short version, IKafkaMessage request, TimeSpan? timeout = null)
        where TResponse : IKafkaMessage, new()
    {
        int correlationId = ++_correlationId;
        var body = new ArrayBufferWriter<byte>();
        var writer = new KafkaWriter(body);
        var header = new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = "raw-test" };
        header.Write(writer, ApiKeys.RequestHeaderVersion(apiKey, version));
        request.Write(writer, version);
        var frame = new byte[4 + body.WrittenCount];
        BinaryPrimitives.WriteInt32BigEndian(frame, body.WrittenCount);
        body.WrittenSpan.CopyTo(frame.AsSpan(4));

        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _stream.WriteAsync(frame, cts.Token);
        var sizeBytes = new byte[4];
        await _stream.ReadExactlyAsync(sizeBytes, cts.Token);
        var payload = new byte[BinaryPrimitives.ReadInt32BigEndian(sizeBytes)];
        await _stream.ReadExactlyAsync(payload, cts.Token);

        var reader = new KafkaReader(payload);
        var responseHeader = new ResponseHeader();
        responseHeader.Read(ref reader, ApiKeys.ResponseHeaderVersion(apiKey, version));
        Assert.Equal(correlationId, responseHeader.CorrelationId);
        var response = new TResponse();
        response.Read(ref reader, version);
        return response;
    }

    /// <summary>ConsumerProtocolSubscription v0: version | topics [string] | user_data (null).</summary>
    /// <summary>True once the broker has closed the connection (a read returns nothing), within <paramref name="timeout"/>.</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1024];
        try
        {
            while (await _stream.ReadAsync(buffer, cts.Token) > 0) { }
            return true;
        }
        catch (IOException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Writes raw bytes: a frame header with no body behind it, say.</summary>
    public Task WriteRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public static byte[] Subscription(params string[] topics)
    {
        var buffer = new List<byte>();
        buffer.AddRange([0, 0]);
        AddInt32(buffer, topics.Length);
        foreach (var topic in topics)
        {
            var name = Encoding.UTF8.GetBytes(topic);
            buffer.AddRange([(byte)(name.Length >> 8), (byte)name.Length]);
            buffer.AddRange(name);
        }
        AddInt32(buffer, -1);
        return [.. buffer];
    }

    private static void AddInt32(List<byte> buffer, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        buffer.AddRange(bytes.ToArray());
    }

    public void Dispose()
    {
        _stream.Dispose();
        _tcp.Dispose();
    }
}
