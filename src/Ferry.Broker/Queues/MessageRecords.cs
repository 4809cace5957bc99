using System.Buffers.Binary;
using System.Text;
using Ferry.Storage.Records;

namespace Ferry.Broker.Queues;

/// <summary>
/// How a queue's log holds messages, one record per message (classic and quorum queues alike):
/// <code>
/// key null | value body | headers "x-exchange", "x-routing-key", "x-properties" (raw flags+list) | timestamp = enqueue time
/// </code>
/// A quorum queue's log also holds its settlements, as records with a one-byte key (<see cref="QuorumOp"/>) and a
/// value of int64 big-endian offsets, and its declaration (key <see cref="QuorumOp.Declare"/>, value the definition).
/// An instance holds the scratch buffers of one writer (used under the queue's lock): building a record allocates nothing.
/// </summary>
internal sealed class MessageRecords
{
    private static readonly byte[] ExchangeKey = "x-exchange"u8.ToArray();
    private static readonly byte[] RoutingKeyKey = "x-routing-key"u8.ToArray();
    private static readonly byte[] PropertiesKey = "x-properties"u8.ToArray();

    private readonly RecordBatchBuilder _builder = new();
    private byte[] _scratch = new byte[512];
    private byte[] _batch = new byte[1024];

    /// <summary>The kinds of a quorum queue's records besides publishes (whose key is null).</summary>
    public enum QuorumOp : byte
    {
        /// <summary>The queue's definition (JSON); the first record of its log.</summary>
        Declare = (byte)'q',
        /// <summary>These messages left the queue for good.</summary>
        Settle = (byte)'s',
        /// <summary>These deliveries came back: each one's delivery count goes up.</summary>
        Return = (byte)'r',
    }

    /// <summary>One batch holding one message; valid until the next call.</summary>
    public Span<byte> Build(AmqpMessage message, long timestamp)
    {
        int exchangeLength = Encoding.UTF8.GetByteCount(message.Exchange);
        int keyLength = Encoding.UTF8.GetByteCount(message.RoutingKey);
        if (_scratch.Length < exchangeLength + keyLength) _scratch = new byte[(exchangeLength + keyLength) * 2];
        Encoding.UTF8.GetBytes(message.Exchange, _scratch);
        Encoding.UTF8.GetBytes(message.RoutingKey, _scratch.AsSpan(exchangeLength));

        _builder.Clear();
        ReadOnlySpan<RecordHeader> headers =
        [
            new(ExchangeKey, _scratch.AsMemory(0, exchangeLength)),
            new(RoutingKeyKey, _scratch.AsMemory(exchangeLength, keyLength)),
            new(PropertiesKey, message.RawPropertiesMemory),
        ];
        _builder.Add(default, message.Body.Span, timestamp, headers, nullKey: true);
        return Finish();
    }

    /// <summary>One batch holding one quorum-queue operation on <paramref name="offsets"/>; valid until the next call.</summary>
    public Span<byte> Build(QuorumOp op, ReadOnlySpan<long> offsets, long timestamp)
    {
        int size = offsets.Length * 8;
        if (_scratch.Length < size) _scratch = new byte[size * 2];
        for (int i = 0; i < offsets.Length; i++) BinaryPrimitives.WriteInt64BigEndian(_scratch.AsSpan(i * 8), offsets[i]);
        _builder.Clear();
        _builder.Add([(byte)op], _scratch.AsSpan(0, size), timestamp);
        return Finish();
    }

    /// <summary>One batch holding a quorum queue's declaration; valid until the next call.</summary>
    public Span<byte> BuildDeclare(ReadOnlySpan<byte> definition, long timestamp)
    {
        _builder.Clear();
        _builder.Add([(byte)QuorumOp.Declare], definition, timestamp);
        return Finish();
    }

    private Span<byte> Finish()
    {
        int size = _builder.Size;
        if (_batch.Length < size) _batch = new byte[Math.Max(size, _batch.Length * 2)];
        _builder.WriteTo(_batch);
        return _batch.AsSpan(0, size);
    }

    /// <summary>The operation a record holds, or null for a message.</summary>
    public static QuorumOp? OpOf(in Record record) => record.KeyIsNull || record.Key.Length != 1 ? null : (QuorumOp)record.Key[0];

    public static AmqpMessage Decode(in Record record, IMessageContentCodec codec, MessagePool pool)
    {
        string exchange = "", routingKey = "";
        scoped ReadOnlySpan<byte> properties = default;
        var headers = record.Headers;
        for (int i = 0; i < record.HeaderCount; i++)
        {
            RecordReader.ReadHeader(ref headers, out var key, out var value);
            if (key.SequenceEqual(ExchangeKey)) exchange = Encoding.UTF8.GetString(value);
            else if (key.SequenceEqual(RoutingKeyKey)) routingKey = Encoding.UTF8.GetString(value);
            else if (key.SequenceEqual(PropertiesKey)) properties = value;
        }

        var message = pool.Rent(exchange, routingKey, properties.Length, record.Value.Length, codec.ReadInfo(properties));
        properties.CopyTo(message.WritableContent);
        record.Value.CopyTo(message.WritableContent[properties.Length..]);
        return message;
    }
}
