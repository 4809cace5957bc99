using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;
using Ferry.Load.Common;
using Ferry.Storage.Records;

namespace Ferry.Load.Kafka;

/// <summary>
/// A producer that speaks Produce v3 on one connection with as little work per message as the protocol
/// allows: one request of one ~1 MiB batch at a time (librdkafka's batch.size in the other producer), up to
/// five unanswered (its max.in.flight), each record's stamp written in place and the batch CRC recomputed.
/// It exists to measure how much the broker takes when the client is not the bottleneck: librdkafka, called
/// once per message through Confluent.Kafka, needs more than a core for what it sends on this machine.
/// Conformance is never judged with it; what it sends is read back with Confluent.Kafka.
/// </summary>
internal sealed class WireProducer : IDisposable
{
    private const int MaxInFlight = 5;
    private const int TargetBatchBytes = 1 << 20;

    private readonly Socket _socket;
    private readonly byte[] _request;
    private readonly int _batchStart;
    private readonly int[] _valueOffsets;
    private readonly SemaphoreSlim _window = new(MaxInFlight);
    private readonly Delivery _delivery;
    private readonly Thread _reader;
    private int _correlationId;

    public WireProducer((string Host, int Port) target, string topic, int partition, int size, short acks, Delivery delivery)
    {
        _delivery = delivery;
        int records = Math.Max(1, TargetBatchBytes / (size + 16));
        var builder = new RecordBatchBuilder();
        var value = new byte[size];
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (int i = 0; i < records; i++) builder.Add([], value, now, nullKey: true);
        RecordsPerBatch = records;

        byte[] topicName = Encoding.UTF8.GetBytes(topic);
        byte[] clientId = "ferry-load-wire"u8.ToArray();
        int prefix = 4 + 2 + 2 + 4 + 2 + clientId.Length // size, api key, version, correlation id, client id
            + 2 + 2 + 4                                  // transactional id (null), acks, timeout
            + 4 + 2 + topicName.Length + 4               // one topic, its partitions
            + 4 + 4;                                     // partition index, records length
        _request = new byte[prefix + builder.Size];
        var w = _request.AsSpan();
        int p = 0;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], _request.Length - 4); p += 4;
        BinaryPrimitives.WriteInt16BigEndian(w[p..], 0); p += 2;   // Produce
        BinaryPrimitives.WriteInt16BigEndian(w[p..], 3); p += 2;   // v3: RecordBatch v2, no tagged fields
        p += 4;                                                     // correlation id, per send
        BinaryPrimitives.WriteInt16BigEndian(w[p..], (short)clientId.Length); p += 2;
        clientId.CopyTo(w[p..]); p += clientId.Length;
        BinaryPrimitives.WriteInt16BigEndian(w[p..], -1); p += 2;
        BinaryPrimitives.WriteInt16BigEndian(w[p..], acks); p += 2;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], 30_000); p += 4;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], 1); p += 4;
        BinaryPrimitives.WriteInt16BigEndian(w[p..], (short)topicName.Length); p += 2;
        topicName.CopyTo(w[p..]); p += topicName.Length;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], 1); p += 4;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], partition); p += 4;
        BinaryPrimitives.WriteInt32BigEndian(w[p..], builder.Size); p += 4;
        _batchStart = p;
        builder.WriteTo(w[p..]);
        _valueOffsets = ValueOffsets(w[_batchStart..], records, _batchStart);

        _socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket.Connect(target.Host, target.Port);
        _reader = new Thread(ReadResponses) { IsBackground = true, Name = $"wire-reader-{partition}" };
        _reader.Start();
    }

    public int RecordsPerBatch { get; }

    /// <summary>Sends one batch whose records carry sequence numbers <paramref name="firstSequence"/> onward.</summary>
    public void Send(long firstSequence)
    {
        _window.Wait();
        var request = _request.AsSpan();
        BinaryPrimitives.WriteInt32BigEndian(request[8..], ++_correlationId);
        long now = LatencyRecorder.Now;
        for (int i = 0; i < _valueOffsets.Length; i++) new Stamp(firstSequence + i, now).Write(request[_valueOffsets[i]..]);
        RecordBatch.WriteCrc(request[_batchStart..]);
        // A blocking send returns once the kernel holds the bytes, so the one buffer can be reused at once.
        for (int sent = 0; sent < _request.Length;) sent += _socket.Send(request[sent..]);
    }

    /// <summary>Waits for every request sent to be answered.</summary>
    public void Drain()
    {
        for (int i = 0; i < MaxInFlight; i++) _window.Wait();
        _window.Release(MaxInFlight);
    }

    private void ReadResponses()
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                ReadExactly(buffer.AsSpan(0, 4));
                int length = BinaryPrimitives.ReadInt32BigEndian(buffer);
                if (length > buffer.Length) throw new InvalidDataException($"response of {length} bytes");
                ReadExactly(buffer.AsSpan(0, length));
                // correlation id | [topic name | [index | error | base offset | log append time]] | throttle
                int p = 4 + 4;
                p += 2 + BinaryPrimitives.ReadInt16BigEndian(buffer.AsSpan(p));
                p += 4 + 4;
                short error = BinaryPrimitives.ReadInt16BigEndian(buffer.AsSpan(p));
                if (error == 0) _delivery.OnAcked(RecordsPerBatch);
                else _delivery.OnFailed(RecordsPerBatch);
                _window.Release();
            }
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or EndOfStreamException)
        {
            // Closed.
        }
    }

    private void ReadExactly(Span<byte> destination)
    {
        while (!destination.IsEmpty)
        {
            int read = _socket.Receive(destination);
            if (read == 0) throw new EndOfStreamException();
            destination = destination[read..];
        }
    }

    /// <summary>Where each record's value starts in the request: the stamp goes there.</summary>
    private static int[] ValueOffsets(ReadOnlySpan<byte> batch, int count, int batchStart)
    {
        var offsets = new int[count];
        int p = RecordBatch.HeaderSize;
        for (int i = 0; i < count; i++)
        {
            Varint.TryReadInt(batch[p..], out int length, out int n);
            int next = p + n + length;
            p += n + 1;                                                   // attributes
            Varint.TryReadLong(batch[p..], out _, out n); p += n;        // timestamp delta
            Varint.TryReadInt(batch[p..], out _, out n); p += n;         // offset delta
            Varint.TryReadInt(batch[p..], out _, out n); p += n;         // key length (-1)
            Varint.TryReadInt(batch[p..], out _, out n); p += n;         // value length
            offsets[i] = batchStart + p;
            p = next;
        }
        return offsets;
    }

    public void Dispose()
    {
        _socket.Dispose();
        _reader.Join(TimeSpan.FromSeconds(5));
        _window.Dispose();
    }
}
