using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Writes AMQP 0-9-1 argument types into a span sized beforehand (<c>GetSize</c> of the method or
/// properties, or the <c>GetXxxSize</c> helpers here), so that a frame is written with one
/// <c>GetSpan</c>/<c>Advance</c> and its size is known before its payload.
/// </summary>
/// <remarks>
/// Consecutive <c>bit</c> arguments share an octet, least significant bit first (spec 4.2.5.2); any other
/// write closes the current bit octet.
/// </remarks>
public ref struct AmqpWriter
{
    private readonly Span<byte> _buffer;
    private int _position;
    private int _bitMask;
    private int _bitIndex;

    public AmqpWriter(Span<byte> buffer)
    {
        _buffer = buffer;
    }

    public readonly int Position => _position;

    public readonly Span<byte> WrittenSpan => _buffer[.._position];

    public void WriteOctet(byte value) => Take(1)[0] = value;

    public void WriteShort(ushort value) => BinaryPrimitives.WriteUInt16BigEndian(Take(2), value);

    public void WriteLong(uint value) => BinaryPrimitives.WriteUInt32BigEndian(Take(4), value);

    public void WriteLongLong(ulong value) => BinaryPrimitives.WriteUInt64BigEndian(Take(8), value);

    public void WriteBit(bool value)
    {
        if (_bitMask is 0 or 0x100)
        {
            _bitIndex = _position;
            WriteOctet(0);
            _bitMask = 1;
        }

        if (value)
        {
            _buffer[_bitIndex] |= (byte)_bitMask;
        }

        _bitMask <<= 1;
    }

    public void WriteTimestamp(AmqpTimestamp value) => WriteLongLong((ulong)value.UnixSeconds);

    public void WriteShortStr(string? value)
    {
        value ??= string.Empty;
        int length = Encoding.UTF8.GetByteCount(value);
        if (length > byte.MaxValue)
        {
            ThrowShortStrTooLong(length);
        }

        WriteOctet((byte)length);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    public void WriteShortStr(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > byte.MaxValue)
        {
            ThrowShortStrTooLong(utf8.Length);
        }

        WriteOctet((byte)utf8.Length);
        WriteBytes(utf8);
    }

    public void WriteLongStr(string? value)
    {
        value ??= string.Empty;
        int length = Encoding.UTF8.GetByteCount(value);
        WriteLong((uint)length);
        Encoding.UTF8.GetBytes(value, Take(length));
    }

    public void WriteLongStr(ReadOnlySpan<byte> bytes)
    {
        WriteLong((uint)bytes.Length);
        WriteBytes(bytes);
    }

    /// <summary>A field table; <c>null</c> is written as an empty table.</summary>
    public void WriteTable(IDictionary<string, object?>? table)
    {
        int lengthAt = BeginLongLength();
        if (table is not null)
        {
            FieldTableCodec.WriteEntries(ref this, table);
        }

        EndLongLength(lengthAt);
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes) => bytes.CopyTo(Take(bytes.Length));

    internal int BeginLongLength()
    {
        int at = _position;
        WriteLong(0);
        return at;
    }

    internal readonly void EndLongLength(int at) =>
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.Slice(at, 4), (uint)(_position - at - 4));

    public static int GetShortStrSize(string? value)
    {
        int length = Encoding.UTF8.GetByteCount(value ?? string.Empty);
        if (length > byte.MaxValue)
        {
            ThrowShortStrTooLong(length);
        }

        return 1 + length;
    }

    public static int GetLongStrSize(string? value) => 4 + Encoding.UTF8.GetByteCount(value ?? string.Empty);

    public static int GetTableSize(IDictionary<string, object?>? table) =>
        4 + (table is null ? 0 : FieldTableCodec.GetEntriesSize(table));

    private Span<byte> Take(int count)
    {
        _bitMask = 0;
        if ((uint)count > (uint)(_buffer.Length - _position))
        {
            ThrowTooSmall(count, _buffer.Length - _position);
        }

        Span<byte> slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }

    [DoesNotReturn]
    private static void ThrowShortStrTooLong(int length) =>
        throw new ArgumentException($"A short string holds at most 255 bytes of UTF-8, not {length}.");

    [DoesNotReturn]
    private static void ThrowTooSmall(int needed, int remaining) =>
        throw new InvalidOperationException(
            $"AmqpWriter buffer too small: {needed} bytes needed, {remaining} left; the size computed beforehand was wrong.");
}
