using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;
using Ferry.Kafka.Protocol;
using Ferry.Kafka.Protocol.Messages;

namespace Ferry.Peers;

/// <summary>
/// One connection from this node to a peer's Kafka listener, one request at a time on it (replica fetches, transaction
/// markers). Connects on first use; any failure closes it, and the next request connects again.
/// </summary>
internal sealed class KafkaPeerConnection(string clientId) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private TcpClient? _tcp;
    private NetworkStream? _stream;
    private int _correlationId;

    public async Task<TResponse> SendAsync<TResponse>(string host, int port, short apiKey, short version, IKafkaMessage request,
        TimeSpan timeout, CancellationToken cancellationToken) where TResponse : IKafkaMessage, new()
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        await _gate.WaitAsync(deadline.Token).ConfigureAwait(false);
        try
        {
            if (_stream is null)
            {
                _tcp = new TcpClient { NoDelay = true };
                await _tcp.ConnectAsync(host, port, deadline.Token).ConfigureAwait(false);
                _stream = _tcp.GetStream();
            }
            int correlationId = ++_correlationId;
            var body = new ArrayBufferWriter<byte>(256);
            body.GetSpan(4);
            body.Advance(4); // the size, written below
            var writer = new KafkaWriter(body);
            new RequestHeader { RequestApiKey = apiKey, RequestApiVersion = version, CorrelationId = correlationId, ClientId = clientId }
                .Write(writer, ApiKeys.RequestHeaderVersion(apiKey, version));
            request.Write(writer, version);
            var frame = body.WrittenMemory;
            BinaryPrimitives.WriteInt32BigEndian(System.Runtime.InteropServices.MemoryMarshal.AsMemory(frame).Span, frame.Length - 4);
            await _stream.WriteAsync(frame, deadline.Token).ConfigureAwait(false);

            var sizeBytes = new byte[4];
            await _stream.ReadExactlyAsync(sizeBytes, deadline.Token).ConfigureAwait(false);
            int size = BinaryPrimitives.ReadInt32BigEndian(sizeBytes);
            if (size is < 4 or > 256 << 20) throw new IOException($"Replica response of {size} bytes.");
            var payload = new byte[size];
            await _stream.ReadExactlyAsync(payload, deadline.Token).ConfigureAwait(false);
            var reader = new KafkaReader(payload);
            var header = new ResponseHeader();
            header.Read(ref reader, ApiKeys.ResponseHeaderVersion(apiKey, version));
            if (header.CorrelationId != correlationId) throw new IOException("Replica response out of order.");
            var response = new TResponse();
            response.Read(ref reader, version);
            return response;
        }
        catch
        {
            Close();
            throw;
        }
        finally
        {
            _gate.Release();
        }
    }

    private void Close()
    {
        _stream?.Dispose();
        _tcp?.Dispose();
        _stream = null;
        _tcp = null;
    }

    public void Dispose() => Close();
}
