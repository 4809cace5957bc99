using System.Buffers.Binary;
using System.Text;
using Ferry.Amqp.Methods;

namespace Ferry.Amqp.Framing;

/// <summary>
/// Reads AMQP 0-9-1 argument types (spec section 4.2.5) from one contiguous frame payload. Every read is
/// checked against the bytes that remain; running short throws <see cref="AmqpFrameException"/> with 502
/// syntax-error, so a length read off the wire is never allocated before it is known to be present.
/// </summary>
/// <remarks>
/// Consecutive <c>bit</c> arguments share an octet, least significant bit first (spec 4.2.5.2); any other
/// read closes the current bit octet.
/// </remarks>
public ref struct AmqpReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;
    private int _bitMask;
    private byte _bits;

    public AmqpReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
    }

    public readonly int Position => _position;

    public readonly int Remaining => _buffer.Length - _position;

    public readonly ReadOnlySpan<byte> UnreadSpan => _buffer[_position..];

    public byte ReadOctet()
    {
        _bitMask = 0;
        if (_position >= _buffer.Length)
        {
            AmqpFrameException.ThrowTruncated(1, 0);
        }

        return _buffer[_position++];
    }

    public ushort ReadShort() => BinaryPrimitives.ReadUInt16BigEndian(ReadBytes(2));

    public uint ReadLong() => BinaryPrimitives.ReadUInt32BigEndian(ReadBytes(4));

    public ulong ReadLongLong() => BinaryPrimitives.ReadUInt64BigEndian(ReadBytes(8));

    public bool ReadBit()
    {
        if (_bitMask is 0 or 0x100)
        {
            _bits = ReadOctet();
            _bitMask = 1;
        }

        bool value = (_bits & _bitMask) != 0;
        _bitMask <<= 1;
        return value;
    }

    public AmqpTimestamp ReadTimestamp() => new((long)ReadLongLong());

    /// <summary>Class id and method id at the start of a method frame's payload.</summary>
    public AmqpMethodId ReadMethodId()
    {
        ushort classId = ReadShort();
        ushort methodId = ReadShort();
        return AmqpMethods.GetId(classId, methodId);
    }

    public ReadOnlySpan<byte> ReadShortStrBytes()
    {
        int length = ReadOctet();
        return ReadBytes(length);
    }

    public string ReadShortStr()
    {
        ReadOnlySpan<byte> bytes = ReadShortStrBytes();
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>A long string's bytes, a slice of the payload (no copy).</summary>
    public ReadOnlySpan<byte> ReadLongStrBytes()
    {
        uint length = ReadLong();
        if (length > (uint)Remaining)
        {
            AmqpFrameException.ThrowTruncated((int)Math.Min(length, int.MaxValue), Remaining);
        }

        return ReadBytes((int)length);
    }

    public string ReadLongStr()
    {
        ReadOnlySpan<byte> bytes = ReadLongStrBytes();
        return bytes.IsEmpty ? string.Empty : Encoding.UTF8.GetString(bytes);
    }

    /// <summary>
    /// A field table. An empty table reads as <c>null</c> (no allocation); it is written back as an empty
    /// table, so the wire form is the same.
    /// </summary>
    public Dictionary<string, object?>? ReadTable()
    {
        ReadOnlySpan<byte> content = ReadLongStrBytes();
        return content.IsEmpty ? null : FieldTableCodec.ReadTable(content, depth: 1);
    }

    /// <summary>A field table that is present: an empty table reads as an empty dictionary.</summary>
    public Dictionary<string, object?> ReadTableOrEmpty() =>
        FieldTableCodec.ReadTable(ReadLongStrBytes(), depth: 1);

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        _bitMask = 0;
        if ((uint)count > (uint)Remaining)
        {
            AmqpFrameException.ThrowTruncated(count, Remaining);
        }

        ReadOnlySpan<byte> slice = _buffer.Slice(_position, count);
        _position += count;
        return slice;
    }
}
