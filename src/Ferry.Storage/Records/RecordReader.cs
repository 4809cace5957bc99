namespace Ferry.Storage.Records;

/// <summary>One record of an uncompressed batch, its spans pointing into the batch's bytes.</summary>
public readonly ref struct Record
{
    public required long Offset { get; init; }
    public required long Timestamp { get; init; }
    public required ReadOnlySpan<byte> Key { get; init; }
    public required bool KeyIsNull { get; init; }
    public required ReadOnlySpan<byte> Value { get; init; }
    public required bool ValueIsNull { get; init; }
    public required ReadOnlySpan<byte> Headers { get; init; }
    public required int HeaderCount { get; init; }
}

/// <summary>
/// Walks the records of an uncompressed RecordBatch v2 without allocating. Compressed batches are served
/// as stored and never opened by the broker, except where a protocol must (AMQP delivery, which
/// only ever reads batches Ferry wrote itself, uncompressed).
/// </summary>
public ref struct RecordReader
{
    private readonly ReadOnlySpan<byte> _batch;
    private readonly long _baseOffset;
    private readonly long _baseTimestamp;
    private int _position;
    private int _remaining;

    public RecordReader(ReadOnlySpan<byte> batch)
    {
        if (RecordBatch.CompressionCodec(batch) != 0)
            throw new NotSupportedException("Compressed batches are not opened by the broker.");
        _batch = batch[..RecordBatch.TotalSize(batch)];
        _baseOffset = RecordBatch.BaseOffset(batch);
        _baseTimestamp = RecordBatch.BaseTimestamp(batch);
        _position = RecordBatch.HeaderSize;
        _remaining = RecordBatch.RecordCount(batch);
    }

    /// <summary>Reads the next record; false at the end. Throws <see cref="InvalidDataException"/> on bad framing.</summary>
    public bool TryRead(out Record record)
    {
        record = default;
        if (_remaining == 0) return false;
        var span = _batch[_position..];
        int length = ReadInt(ref span);
        // At least the attributes byte: a zero-length record (a CRC covers whatever a producer wrote) has none.
        if (length < 1 || length > span.Length) throw Malformed();
        var body = span[..length];
        _position = _batch.Length - span.Length + length;
        _remaining--;

        body = body[1..]; // attributes, unused in v2
        long timestampDelta = ReadLong(ref body);
        int offsetDelta = ReadInt(ref body);
        var key = ReadBytes(ref body, out bool keyIsNull);
        var value = ReadBytes(ref body, out bool valueIsNull);
        int headerCount = ReadInt(ref body);
        if (headerCount < 0) throw Malformed();
        record = new Record
        {
            Offset = _baseOffset + offsetDelta,
            Timestamp = _baseTimestamp + timestampDelta,
            Key = key,
            KeyIsNull = keyIsNull,
            Value = value,
            ValueIsNull = valueIsNull,
            Headers = body,
            HeaderCount = headerCount,
        };
        return true;
    }

    /// <summary>Reads the next header from a record's <see cref="Record.Headers"/> span.</summary>
    public static void ReadHeader(ref ReadOnlySpan<byte> headers, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value)
    {
        key = ReadBytes(ref headers, out _);
        value = ReadBytes(ref headers, out _);
    }

    private static ReadOnlySpan<byte> ReadBytes(scoped ref ReadOnlySpan<byte> span, out bool isNull)
    {
        int length = ReadInt(ref span);
        isNull = length < 0;
        if (isNull) return default;
        if (length > span.Length) throw Malformed();
        var bytes = span[..length];
        span = span[length..];
        return bytes;
    }

    private static int ReadInt(scoped ref ReadOnlySpan<byte> span)
    {
        if (!Varint.TryReadInt(span, out int value, out int read)) throw Malformed();
        span = span[read..];
        return value;
    }

    private static long ReadLong(scoped ref ReadOnlySpan<byte> span)
    {
        if (!Varint.TryReadLong(span, out long value, out int read)) throw Malformed();
        span = span[read..];
        return value;
    }

    private static InvalidDataException Malformed() => new("Malformed record inside a batch.");
}
